"""update_plan: the model's plan as a checklist the user can follow (TUI and `plan` events)."""

from __future__ import annotations

import json
import re

from coder.results import ToolOutcome
from coder.tools import ToolContext, tool

STATUSES = ("pending", "in_progress", "done")
_MARKS = {" ": "pending", "~": "in_progress", "-": "in_progress", "x": "done", "X": "done"}
_LINE = re.compile(r"^\s*(?:[-*]|\d+[.)])?\s*\[(.)\]\s*(.+?)\s*$")
MAX_STEPS = 30


def parse_plan(plan: str) -> list[dict[str, str]] | str:
    """Steps from `[ ] step` / `[~] step` / `[x] step` lines, or from a JSON list of
    {"step", "status"}; an error message when it holds none."""
    text = plan.strip()
    steps: list[dict[str, str]] = []
    if text.startswith("["):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, list):
            for entry in data:
                if isinstance(entry, dict) and str(entry.get("step", "")).strip():
                    status = str(entry.get("status", "pending"))
                    status = status if status in STATUSES else "pending"
                    steps.append({"step": str(entry["step"]).strip(), "status": status})
    if not steps:
        for line in text.splitlines():
            match = _LINE.match(line)
            if match and match.group(1) in _MARKS:
                steps.append({"step": match.group(2), "status": _MARKS[match.group(1)]})
    if not steps:
        return "the plan holds no steps: write one per line as `[ ] step`, `[~] step` or `[x] step`"
    return steps[:MAX_STEPS]


@tool
def update_plan(ctx: ToolContext, plan: str) -> ToolOutcome:
    """Show the user your plan as a checklist; call again as steps progress.
    plan: one step per line: `[ ] step` pending, `[~] step` in progress, `[x] step` done
    """
    steps = parse_plan(plan)
    if isinstance(steps, str):
        return ToolOutcome("error", f"error: {steps}")
    ctx.on_plan(steps)
    done = sum(step["status"] == "done" for step in steps)
    return ToolOutcome("ok", f"plan updated: {done} of {len(steps)} steps done")
