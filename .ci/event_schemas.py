"""Generate coder/schemas/<type>.json, the JSON Schema of every JSON Lines event, from the
event dataclasses; `--check` fails when the shipped files drift from the code."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from coder import events
from coder.report import REPORT_SCHEMA

OUT = Path(__file__).resolve().parent.parent / "coder" / "schemas"
BASE = "https://coder.invalid/schemas"


def of(hint: Any) -> dict[str, Any]:
    """The JSON Schema of one type hint."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return {}
    if origin is typing.Literal:
        return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [of(a) for a in args]}
    if hint is type(None):
        return {"type": "null"}
    if origin is list:
        return {"type": "array", "items": of(args[0]) if args else {}}
    if origin is dict:
        return {"type": "object", "additionalProperties": of(args[1]) if args else {}}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object"}
    if hint in simple:
        return {"type": simple[hint]}
    raise SystemExit(f"no JSON Schema for {hint!r}")


def schemas() -> dict[str, dict[str, Any]]:
    """Event type → its JSON Schema."""
    out = {}
    for cls in vars(events).values():
        if not (
            isinstance(cls, type) and issubclass(cls, events.Event) and cls is not events.Event
        ):
            continue
        hints = typing.get_type_hints(cls)
        fields = {f.name: of(hints[f.name]) for f in dataclasses.fields(cls)}
        if hints.get("ts") is float:
            fields["ts"] = {"type": "number"}
        if cls is events.Report:
            fields["report"] = REPORT_SCHEMA
        kind = typing.get_args(hints["type"])[0]
        out[kind] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{BASE}/v{events.SCHEMA_VERSION}/{kind}.json",
            "title": kind,
            "description": " ".join((cls.__doc__ or "").split()),
            "type": "object",
            "properties": fields,
            "required": sorted(fields),
            "additionalProperties": False,
        }
    return out


def main() -> int:
    wanted = {f"{kind}.json": json.dumps(s, indent=2) + "\n" for kind, s in schemas().items()}
    if "--check" in sys.argv:
        have = {p.name: p.read_text() for p in OUT.glob("*.json")}
        if have != wanted:
            print("coder/schemas/ is stale: run python .ci/event_schemas.py", file=sys.stderr)
            return 1
        return 0
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for name, text in wanted.items():
        (OUT / name).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
