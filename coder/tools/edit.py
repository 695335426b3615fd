"""Edit tools: apply_diff, and write_file for models that write whole files more reliably.

Either way the approver reviews a unified diff (computed for whole-file writes), and the
diff engine applies only the hunks it approved.
"""

from __future__ import annotations

from coder.diff import Patch, apply_parsed, parse_patch, unified_diff
from coder.errors import CoderError, WorkspaceError
from coder.proof import is_test_path
from coder.tools import ToolContext, content_digest, tool


@tool
def apply_diff(ctx: ToolContext, diff: str) -> str:
    """Apply a unified diff (---/+++ headers, @@ hunks) to files in the repository.
    diff: the unified diff text; paths relative to the repository root
    """
    return review_and_apply(ctx, diff)


@tool
def write_file(ctx: ToolContext, path: str, content: str) -> str:
    """Write the complete new content of a file (creating it if needed).
    path: file path relative to the repository root
    content: every line of the new file
    """
    ctx.ws.refuse_secret(path)
    _refuse_protected_tests(ctx, [path])
    full = ctx.ws.resolve(path)
    if full.is_dir():
        raise WorkspaceError(f"is a directory: {path}")
    old = None
    if full.exists():
        data = ctx.ws.read_bytes(path)
        stale = _stale(ctx, ctx.ws.relative(full), data)
        if stale:
            raise WorkspaceError(stale)
        try:
            old = data.decode("utf-8")
        except UnicodeDecodeError:
            raise WorkspaceError(f"{path} is not UTF-8 text; change it with apply_diff") from None
    if content and not content.endswith("\n"):
        content += "\n"
    if old is not None and old == content:
        return f"{path} already has exactly this content; nothing changed"
    return review_and_apply(ctx, unified_diff(ctx.ws.relative(full), old, content))


def _stale(ctx: ToolContext, path: str, data: bytes) -> str | None:
    """Refuse to overwrite a file that changed since the model last saw it (or that it never
    saw): the user's or a command's change would be lost. Shows the current content."""
    known = ctx.seen.get(path) or ctx.baseline(path)
    if known == content_digest(data):
        return None
    ctx.saw(path, data)
    why = "changed on disk since you last read it" if known else "exists and you have not read it"
    text = data.decode("utf-8", "replace")
    numbered = "\n".join(f"{n:>4}| {line}" for n, line in enumerate(text.splitlines(), 1))
    return (
        f"Not written: {path} {why} (the user or a command changed it). Nothing was "
        f"overwritten. Its current content:\n{numbered}\n"
        "Make your change on top of this content (write_file again, or apply_diff)."
    )


def _refuse_protected_tests(ctx: ToolContext, paths: list[str]) -> None:
    """With --protect-tests, no write touches a test file (a rename away counts)."""
    tests = sorted({path for path in paths if path and is_test_path(path)})
    if ctx.protect_tests and tests:
        raise WorkspaceError(
            f"refused: {', '.join(tests)} is a test file and tests are protected "
            "(--protect-tests); change the code instead"
        )


def review_and_apply(ctx: ToolContext, diff: str) -> str:
    """Parse `diff` once, ask the approver about it, apply what it approved, and describe it
    for the model."""
    patch = parse_patch(diff)
    _refuse_protected_tests(ctx, [p for fp in patch.files for p in (fp.path, fp.source_path)])
    decision = ctx.approver.review_diff(patch)
    if decision.edited_diff is not None:
        applied, select = parse_patch(decision.edited_diff), None
    else:
        applied, select = patch, decision.approved_hunks
    total = len(patch.hunks)
    if select is not None and not select:
        comment = f" The user said: {decision.comment}" if decision.comment else ""
        return f"The user rejected all {total} hunk(s); nothing was applied.{comment}"
    _remember_originals(ctx, applied)
    result = apply_parsed(applied, ctx.ws, select=select)
    for path in result.written:
        if path in ctx.edited_paths:
            ctx.edited_paths.remove(path)
        ctx.edited_paths.append(path)
        if ctx.ws.exists(path):
            ctx.saw(path, ctx.ws.read_bytes(path))
    notes: list[str] = []
    chosen = decision.approved_hunks
    if chosen is not None and len(chosen) < total:
        rejected = sorted(set(range(total)) - set(chosen))
        notes.append(
            f"The user approved hunk(s) {_numbers(sorted(chosen))} and rejected "
            f"hunk(s) {_numbers(rejected)} (numbered 1..{total} in diff order)."
        )
    if decision.edited_hunks or decision.edited_diff is not None:
        edited = _numbers(sorted(decision.edited_hunks)) if decision.edited_hunks else "some"
        notes.append(f"The user edited hunk(s) {edited} before applying; re-read the file.")
    if decision.comment:
        notes.append(f"The user said: {decision.comment}")
    return "\n".join([result.feedback(), *notes])


def _remember_originals(ctx: ToolContext, patch: Patch) -> None:
    """Keep each file's text before its first edit (what a failed attempt is narrowed to)."""
    for path in {name for fp in patch.files for name in (fp.source_path, fp.path)}:
        if path in ctx.originals or path == "/dev/null":
            continue
        try:
            ctx.originals[path] = ctx.ws.read_text(path) if ctx.ws.exists(path) else None
        except CoderError:
            pass  # a refused path: the patch will say so


def _numbers(indices: list[int]) -> str:
    return ", ".join(str(i + 1) for i in indices) or "none"
