"""Scenario: the main screen after a task, a streamed answer, a tool call and a failing check.

Events go through the real `TuiEventSink`, as the agent's thread would send them.
"""

from __future__ import annotations

from pathlib import Path

from coder.config import Settings
from coder.events import (
    AssistantDelta,
    AssistantMessage,
    CheckResult,
    ToolCalled,
    ToolOutput,
    ToolResult,
    Usage,
)
from coder.tui import make_app
from coder.tui.app import CoderApp

DIFF = (Path(__file__).parent.parent / "data" / "fix_mean.diff").read_text()
ANSWER = (
    "The **mean** divides by `len - 1`; the fix:\n\n```python\nsum(values) / len(values)\n```\n"
)

app = make_app(Settings(repo=Path("/home/user/stats"), model="scripted-model", approval="suggest"))


async def play(app: CoderApp) -> None:
    """Feed one turn's worth of events and let the app render them."""
    sink = app.sink
    await app.main_screen.transcript.add_user("fix the statistics [bold]now[/bold]")
    for piece in ANSWER.split(" "):
        sink.emit(AssistantDelta(piece + " "))
    sink.emit(AssistantMessage(ANSWER, 1))
    sink.emit(ToolCalled("c1", "apply_diff", {"diff": DIFF}))
    sink.emit(ToolResult("c1", "apply_diff", True, "Applied 1 hunk to stats/center.py"))
    sink.emit(ToolCalled("c2", "run_checks", {}))
    sink.emit(ToolOutput("c2", "F.\n[/bold] FAILED tests/test_center.py::test_median\n"))
    sink.emit(ToolResult("c2", "run_checks", False, "FAILED (exit code 1)"))
    sink.emit(CheckResult("pytest -q", False, 1, "FAILED tests/test_center.py::test_median", 0.4))
    sink.emit(Usage(1, 1200, 80, 600, 1200, 80, 0.0021))
    app.main_screen.status.spinning = False  # a still frame, like the cursor without blink
    app.main_screen.status.state = "working"


if __name__ == "__main__":
    app.run()
