"""run_checks and finish: the project's checks decide when the work is done."""

from __future__ import annotations

from coder.checks import describe_runs, failing_count
from coder.errors import FinishRequested
from coder.results import ToolOutcome
from coder.tools import ToolContext, tool


@tool
def run_checks(ctx: ToolContext) -> ToolOutcome:
    """Run the project's checks (tests, linters); returns pass/fail and the failure output."""
    runs = ctx.run_checks()
    return ToolOutcome("ok", describe_runs(runs), failing_count(runs))


@tool
def finish(ctx: ToolContext, summary: str) -> str:
    """Declare the work done; coder then runs the checks and stops only if they pass.
    summary: what you changed and why
    """
    raise FinishRequested(summary)
