"""File tools: read_file, list_files, search (read-only, confined to the workspace).

`search` uses the `regex` module, whose matching takes a timeout: a pattern that backtracks
without end (`(a|aa)+$`) stops the search with a note instead of hanging coder, and the
search checks for an interrupt between files.
"""

from __future__ import annotations

import fnmatch
import time

import regex as re

from coder.errors import Interrupted, WorkspaceError
from coder.tools import ToolContext, tool

MAX_READ_LINES = 500
MAX_LINE_CHARS = 2000
MAX_SEARCHED_BYTES = 2_000_000
MAX_LIST = 300
MAX_MATCHES = 80
LINE_TIMEOUT_S = 0.5
"""Longest one line may take to match; longer means the pattern backtracks without end."""
SEARCH_BUDGET_S = 10.0
"""Longest a whole search may take."""


@tool
def read_file(
    ctx: ToolContext, path: str, start_line: int | None = None, end_line: int | None = None
) -> str:
    """Read a file; returns numbered lines.
    path: file path relative to the repository root
    start_line: first line to show (1-based, optional)
    end_line: last line to show (inclusive, optional)
    """
    data = ctx.ws.read_bytes(path)
    if b"\0" in data[:8000]:
        raise WorkspaceError(f"{path}: binary, {len(data):,} bytes")
    ctx.saw(ctx.ws.relative(ctx.ws.resolve(path)), data)
    lines = [_cut(line) for line in data.decode("utf-8", errors="replace").splitlines()]
    total = len(lines)
    first = max(1, start_line or 1)
    last = min(total, end_line or total)
    if first > max(total, 1):
        return f"{path} has only {total} lines"
    shown_last = min(last, first + MAX_READ_LINES - 1)
    width = len(str(shown_last))
    body = "\n".join(f"{n:>{width}}| {lines[n - 1]}" for n in range(first, shown_last + 1))
    header = f"{path} (lines {first}-{shown_last} of {total})"
    more = ""
    if shown_last < last:
        more = f"\n[… more lines: call read_file with start_line={shown_last + 1}]"
    return f"{header}\n{body}{more}" if total else f"{path} is empty"


def _cut(line: str) -> str:
    """A line as read_file shows it: at most MAX_LINE_CHARS characters."""
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]}[… {len(line) - MAX_LINE_CHARS:,} more characters on this line]"


@tool
def list_files(ctx: ToolContext, path: str | None = None, pattern: str | None = None) -> str:
    """List files (tracked, and untracked but not ignored).
    path: directory to list, relative to the repository root (optional)
    pattern: glob such as '*.py' matched against file names or paths (optional)
    """
    prefix = ""
    if path and path.strip() not in {"", "."}:
        resolved = ctx.ws.resolve(path.strip())
        prefix = ctx.ws.relative(resolved).rstrip("/") + "/"
    names = [n for n in ctx.ws.list_files() if n.startswith(prefix)]
    if pattern:
        names = [
            n
            for n in names
            if fnmatch.fnmatch(n, pattern) or fnmatch.fnmatch(n.rsplit("/", 1)[-1], pattern)
        ]
    if not names:
        return "no files match"
    shown = names[:MAX_LIST]
    more = (
        f"\n[… {len(names) - MAX_LIST} more; narrow with path or pattern]"
        if len(names) > MAX_LIST
        else ""
    )
    return "\n".join(shown) + more


@tool
def search(ctx: ToolContext, query: str, path: str | None = None, regex: bool = False) -> str:
    """Search file contents; returns matching lines as file:line: text.
    query: text to find (case-insensitive), or a regular expression when regex is true
    path: directory or file to search in (optional)
    regex: treat query as a Python regular expression
    """
    try:
        pattern = re.compile(query if regex else re.escape(query), re.IGNORECASE)
    except re.error as exc:
        raise WorkspaceError(f"invalid regular expression {query!r}: {exc}") from None
    prefix = ""
    if path and path.strip() not in {"", "."}:
        prefix = ctx.ws.relative(ctx.ws.resolve(path.strip()))
    matches: list[str] = []
    total = 0
    skipped = 0
    stopped = ""
    deadline = time.monotonic() + SEARCH_BUDGET_S
    for name in ctx.ws.list_files():
        if ctx.cancel.is_set():
            raise Interrupted("search interrupted by the user")
        if time.monotonic() > deadline:
            stopped = f"\n[search stopped after {SEARCH_BUDGET_S:.0f} s; narrow it with path]"
            break
        if prefix and not (name == prefix or name.startswith(prefix.rstrip("/") + "/")):
            continue
        if ctx.ws.is_secret(name):
            skipped += 1
            continue
        try:
            data = ctx.ws.read_bytes(name, limit=MAX_SEARCHED_BYTES)
        except WorkspaceError:
            skipped += 1  # too large, a symlink out of the repository, a vanished file
            continue
        if b"\0" in data[:8000]:
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            try:
                found = pattern.search(line, timeout=LINE_TIMEOUT_S)
            except TimeoutError:
                stopped = (
                    f"\n[search stopped at {name}:{number}: the pattern took over "
                    f"{LINE_TIMEOUT_S} s on one line (it backtracks without end); simplify it]"
                )
                break
            if found:
                total += 1
                if len(matches) < MAX_MATCHES:
                    matches.append(f"{name}:{number}: {line.strip()[:200]}")
        if stopped:
            break
    note = f"\n[{skipped} secret, large or unreadable file(s) not searched]" if skipped else ""
    note += stopped
    if not matches:
        return f"no matches for {query!r}{note}"
    more = f"\n[… {total - MAX_MATCHES} more matches]" if total > MAX_MATCHES else ""
    return "\n".join(matches) + more + note
