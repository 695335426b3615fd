"""run_checks and finish: the project's checks decide when the work is done."""

from __future__ import annotations

from coder.errors import FinishRequested
from coder.tools import ToolContext, tool


@tool
def run_checks(ctx: ToolContext) -> str:
    """Run the project's checks (tests, linters); returns pass/fail and the failure output."""
    if ctx.run_check_commands is None:
        return "no checks are configured"
    return ctx.run_check_commands()


@tool
def finish(ctx: ToolContext, summary: str) -> str:
    """Declare the work done; coder then runs the checks and stops only if they pass.
    summary: what you changed and why
    """
    raise FinishRequested(summary)
