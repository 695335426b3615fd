"""Model-size profiles, and how `--profile auto` picks one.

`auto` picks `small` for the embedded model, and for an endpoint whose model has at most
`SMALL_MAX_B` billion parameters: as the server reports it (llama.cpp's `/v1/models` meta)
or, failing that, as the model's name says (`qwen2.5-coder-1.5b-instruct`, `llama3:8b`,
`mixtral-8x7b`). A model whose size nobody states gets `default`. The choice and its
reason are said in `session_started` and on stderr.
"""

from __future__ import annotations

import re

from coder.protocols import Profile
from coder.results import ModelInfo
from coder.tools import ToolContext

SMALL_MAX_B = 8.0
"""Largest model (billions of parameters) that gets the small profile under `auto`."""
NAMES = ("auto", "default", "small")
_SIZE = re.compile(r"(?<![\w.])(?:(\d+)x)?(\d+(?:\.\d+)?)\s*b(?![a-z])", re.IGNORECASE)


def parameters_from_name(name: str) -> float | None:
    """Billions of parameters a model's name states (`8x7b` counts 56), or None."""
    found = [
        float(match.group(2)) * (int(match.group(1)) if match.group(1) else 1)
        for match in _SIZE.finditer(name.replace("_", "-"))
    ]
    return max(found) if found else None


def choose(requested: str, local: bool, info: ModelInfo | None) -> tuple[str, str]:
    """The profile to use and why, in words."""
    if requested != "auto":
        return requested, f"profile {requested} was asked for"
    if local:
        return "small", "the embedded 1.5B model"
    if info is None:
        return "default", "the model's size is not known"
    size = info.parameters_b
    source = info.source or "its server"
    if size is None:
        size = parameters_from_name(info.name)
        source = "its name"
    if size is None:
        return "default", f"{info.name}: no size in its name or from its server"
    kind = "small" if size <= SMALL_MAX_B else "default"
    compare = "≤" if kind == "small" else ">"
    return kind, f"{info.name}: {size:g}B parameters ({source}) {compare} {SMALL_MAX_B:g}B"


def build(name: str, ctx: ToolContext, repo_map_tokens: int | None = None) -> Profile:
    """The profile called `name`, for the session's tool context."""
    if name == "small":
        from coder.profiles.small import SmallProfile

        return SmallProfile(ctx, repo_map_tokens)
    from coder.profiles.default import DefaultProfile

    return DefaultProfile(repo_map_tokens)
