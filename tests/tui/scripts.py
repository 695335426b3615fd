"""Scripted model turns for the TUI tests; the diffs (against fixtures/tasks/stats_fix) are
files in tests/tui/data/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
FIX_MEAN = (DATA / "fix_mean.diff").read_text()
FIX_MEDIAN = (DATA / "fix_median.diff").read_text()
FIX_BOTH = (DATA / "fix_both.diff").read_text()
"""Both fixes in one file section: two hunks of stats/center.py."""
BREAK_REPORT = (DATA / "break_report.diff").read_text()
"""A bad hunk whose text is Textual markup: it must show literally and never run."""

Turn = dict[str, Any]


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """One native tool call."""
    return {"name": name, "arguments": arguments}


def turn(text: str, *calls: dict[str, Any]) -> Turn:
    """A model turn: text and tool calls."""
    return {"text": text, "tool_calls": list(calls)}


FINISH = turn("Done.", call("finish", summary="fixed mean and median"))


def two_hunk_fix() -> list[Turn]:
    """Turn 1 proposes a good hunk and a bad one; turn 2 fixes median; turn 3 finishes."""
    return [
        turn(
            "Two changes: the mean, and the report.",
            call("apply_diff", diff=FIX_MEAN + BREAK_REPORT),
        ),
        turn("Now the median.", call("apply_diff", diff=FIX_MEDIAN)),
        FINISH,
    ]


def whole_fix() -> list[Turn]:
    """One diff that fixes both functions (two hunks), then finish."""
    return [turn("Fixing both.", call("apply_diff", diff=FIX_BOTH)), FINISH]
