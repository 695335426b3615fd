"""The run tool: a shell command in the repository root, with approval and a timeout."""

from __future__ import annotations

from coder.errors import Interrupted
from coder.tools import ToolContext, tool
from coder.workspace import head_tail

MAX_OUTPUT_CHARS = 8000


@tool
def run(ctx: ToolContext, command: str, timeout_s: int | None = None) -> str:
    """Run a shell command in the repository root; returns exit code and output.
    command: the shell command line
    timeout_s: seconds before the command is killed (optional; at most the configured limit)
    """
    decision = ctx.approver.confirm_command(command)
    if not decision.approved:
        note = f" The user said: {decision.comment}" if decision.comment else ""
        return f"The user declined to run this command.{note}"
    timeout = ctx.command_timeout_s  # the configured limit; the model may only ask for less
    if timeout_s and 0 < timeout_s < timeout:
        timeout = float(timeout_s)
    timeout = ctx.budget_limit(timeout)
    call_id = ctx.call_id
    result = ctx.ws.run(
        command,
        timeout_s=timeout,
        on_output=lambda text: ctx.on_output(call_id, text),
        cancel=ctx.cancel,
    )
    if result.interrupted:
        raise Interrupted("command interrupted by the user")
    status = (
        f"timed out after {timeout:.0f} s (killed)"
        if result.timed_out
        else f"exit code {result.exit_code}"
    )
    output = head_tail(result.output.strip(), MAX_OUTPUT_CHARS) or "(no output)"
    return f"$ {command}\n{status}\n{output}"
