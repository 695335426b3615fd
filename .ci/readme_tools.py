"""Generate README's tool table from the tool registry; `--check` fails when it drifts."""

from __future__ import annotations

import sys
from pathlib import Path

from coder.tools import ToolRegistry, default_tools

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- tools:start -->", "<!-- tools:end -->"


def table() -> str:
    """The markdown table of every tool offered to the model."""
    rows = ["| tool | parameters | what it does |", "| --- | --- | --- |"]
    for spec in ToolRegistry(default_tools()).specs():
        props = spec.parameters["properties"]
        required = set(spec.parameters["required"])
        params = ", ".join(
            f"`{name}`" + ("" if name in required else "?") + f" ({p['type']})"
            for name, p in props.items()
        )
        rows.append(f"| `{spec.name}` | {params or '—'} | {spec.description} |")
    return "\n".join(rows)


def main() -> int:
    text = README.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    updated = f"{head}{START}\n{table()}\n{END}{tail}"
    if "--check" in sys.argv:
        if updated != text:
            print("README.md tool table is stale: run python .ci/readme_tools.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
