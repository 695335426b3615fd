"""Prompt files: load `prompts/NAME.md` and render it with `string.Template`.

A missing placeholder raises instead of sending a half-filled prompt. A variant such as
`NAME.small.md` (for the small embedded model) is preferred over `NAME.md` when asked for.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from pathlib import Path

from coder.errors import CoderError

_SOURCE_DIR = Path(__file__).resolve().parent.parent / "prompts"


def _prompt_dir() -> Path:
    """`coder/prompts` inside a wheel, or `prompts/` beside the package in a checkout."""
    packaged = Path(str(resources.files("coder") / "prompts"))
    return packaged if packaged.is_dir() else _SOURCE_DIR


@cache
def load(name: str, variant: str | None = None) -> str:
    """The text of prompt `name`, preferring `name.variant.md` when it exists."""
    folder = _prompt_dir()
    candidates = [f"{name}.{variant}.md"] if variant else []
    for filename in [*candidates, f"{name}.md"]:
        path = folder / filename
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise CoderError(f"prompt file missing: {name}.md in {folder}")


def render(name: str, variant: str | None = None, **values: object) -> str:
    """Render prompt `name` with `$placeholders` filled from `values`; missing ones raise."""
    template = string.Template(load(name, variant))
    try:
        return template.substitute({k: str(v) for k, v in values.items()}).strip() + "\n"
    except KeyError as exc:
        raise CoderError(f"prompt {name} needs a value for {exc.args[0]}") from None
