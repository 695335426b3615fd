"""The apply_diff tool: review by the approver, then the diff engine applies what was approved."""

from __future__ import annotations

from coder.diff import apply_patch, parse_patch
from coder.tools import ToolContext, tool


@tool
def apply_diff(ctx: ToolContext, diff: str) -> str:
    """Apply a unified diff (---/+++ headers, @@ hunks) to files in the repository.
    diff: the unified diff text; paths relative to the repository root
    """
    patch = parse_patch(diff)
    decision = ctx.approver.review_diff(diff)
    text = decision.edited_diff if decision.edited_diff is not None else diff
    select = None if decision.edited_diff is not None else decision.approved_hunks
    total = len(patch.hunks)
    notes: list[str] = []
    if select is not None and not select:
        comment = f" The user said: {decision.comment}" if decision.comment else ""
        return f"The user rejected all {total} hunk(s); nothing was applied.{comment}"
    result = apply_patch(text, ctx.ws, select=select)
    for path in result.written:
        if path in ctx.edited_paths:
            ctx.edited_paths.remove(path)
        ctx.edited_paths.append(path)
    if select is not None:
        rejected = sorted(set(range(total)) - set(select))
        notes.append(
            f"The user approved hunk(s) {_numbers(sorted(select))} and rejected "
            f"hunk(s) {_numbers(rejected)} (numbered 1..{total} in diff order)."
        )
    if decision.edited_hunks or decision.edited_diff is not None:
        edited = _numbers(sorted(decision.edited_hunks)) if decision.edited_hunks else "some"
        notes.append(f"The user edited hunk(s) {edited} before applying; re-read the file.")
    if decision.comment:
        notes.append(f"The user said: {decision.comment}")
    return "\n".join([result.feedback(), *notes])


def _numbers(indices: list[int]) -> str:
    return ", ".join(str(i + 1) for i in indices) or "none"
