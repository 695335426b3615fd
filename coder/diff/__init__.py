"""The diff engine's public face: parse, apply (tolerantly, transactionally) and render diffs.

Used by the `apply_diff` tool, the TUI's review screen and `coder apply`.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

from coder.diff.apply import HunkResult, PatchResult, apply_parsed
from coder.diff.parse import FilePatch, Hunk, Patch, PatchParseError, parse_patch
from coder.workspace import Workspace

__all__ = [
    "apply_parsed",
    "FilePatch",
    "Hunk",
    "HunkResult",
    "Patch",
    "PatchParseError",
    "PatchResult",
    "apply_patch",
    "parse_patch",
    "unified_diff",
]


def apply_patch(
    text: str, ws: Workspace, select: Collection[int] | None = None, check: bool = False
) -> PatchResult:
    """Apply a unified diff to the workspace, all-or-nothing.

    `select` holds the flat hunk indices (positions in `parse_patch(text).hunks`) to apply;
    None applies all. With `check`, everything is worked out and nothing is written.
    Raises PatchError when `text` holds no diff.
    """
    return apply_parsed(parse_patch(text), ws, select, check)


def _split(text: str) -> list[str]:
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def unified_diff(path: str, old: str | None, new: str | None) -> str:
    """A git-style diff turning `old` into `new` for `path` (None: the file is absent)."""
    if old == new:
        return ""
    head = [f"diff --git a/{path} b/{path}"]
    if old is None:
        head.append("new file mode 100644")
    if new is None:
        head.append("deleted file mode 100644")
    body = list(
        difflib.unified_diff(
            _split(old or ""),
            _split(new or ""),
            fromfile=f"a/{path}" if old is not None else "/dev/null",
            tofile=f"b/{path}" if new is not None else "/dev/null",
            lineterm="\n",
        )
    )
    if not body:
        return "\n".join(head) + "\n"
    out = head + [line.rstrip("\n") for line in body[:2]]
    for line in body[2:]:
        if line.endswith("\n"):
            out.append(line[:-1])
        else:
            out += [line, "\\ No newline at end of file"]
    return "\n".join(out) + "\n"
