"""The task a user gives on the command line: text, `@FILE`, or `-` for standard input."""

from __future__ import annotations

import sys
from pathlib import Path

from coder.errors import UsageError

MAX_TASK_CHARS = 1 << 20
"""A task longer than this is refused, not read (an issue is never a megabyte)."""


def read_task(task: str) -> str:
    """The task as given: text, `@FILE` (read from the file) or `-` (standard input).

    Text may mention files as `@path`; only a lone `@word` names a task file."""
    if task == "-":
        if sys.stdin is None:
            raise UsageError("`-` reads the task from standard input, but there is none")
        if sys.stdin.isatty():
            print("coder: reading the task from standard input (Ctrl-D ends it)", file=sys.stderr)
        task = sys.stdin.read(MAX_TASK_CHARS + 1)
        if len(task) > MAX_TASK_CHARS:
            raise UsageError(f"the task on standard input is over {MAX_TASK_CHARS:,} characters")
    elif task.startswith("@") and not any(c.isspace() for c in task):
        path = Path(task[1:])
        if not path.is_file():
            raise UsageError(f"task file not found: {path}")
        try:
            if path.stat().st_size > MAX_TASK_CHARS:
                raise UsageError(f"task file {path} is over {MAX_TASK_CHARS:,} bytes")
            task = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"cannot read task file {path}: {exc.strerror or exc}") from None
    if not task.strip():
        raise UsageError("the task is empty")
    return task.strip()
