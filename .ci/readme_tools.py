"""Generate README's tool tables from the tool registry; `--check` fails when they drift."""

from __future__ import annotations

import sys
from pathlib import Path

from coder.profiles.default import DefaultProfile
from coder.profiles.small import SmallProfile
from coder.tools import registry

README = Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = {"tools": DefaultProfile.tools, "small-tools": SmallProfile.tools}


def table(names: tuple[str, ...]) -> str:
    """The markdown table of the named tools."""
    rows = ["| tool | parameters | what it does |", "| --- | --- | --- |"]
    for spec in registry(names).specs():
        props = spec.parameters["properties"]
        required = set(spec.parameters["required"])
        params = ", ".join(
            f"`{name}`" + ("" if name in required else "?") + f" ({p['type']})"
            for name, p in props.items()
        )
        rows.append(f"| `{spec.name}` | {params or '—'} | {spec.description} |")
    return "\n".join(rows)


def render(text: str) -> str:
    """README text with every generated section brought up to date."""
    for name, tools in SECTIONS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, found, rest = text.partition(start)
        if not found:
            raise SystemExit(f"README.md lacks the marker {start}")
        _, _, tail = rest.partition(end)
        text = f"{head}{start}\n{table(tools)}\n{end}{tail}"
    return text


def main() -> int:
    text = README.read_text(encoding="utf-8")
    updated = render(text)
    if "--check" in sys.argv:
        if updated != text:
            print("README.md tool table is stale: run python .ci/readme_tools.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
