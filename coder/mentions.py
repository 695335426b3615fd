"""`@path` in a task: the named repository files go into the model's context with it.

Paths go through the workspace's guard and secret deny-list like any file tool; a mention
that names no readable file is left as text.
"""

from __future__ import annotations

import re

from coder.errors import CoderError
from coder.workspace import Workspace

MAX_FILE_CHARS = 24_000
MAX_TOTAL_CHARS = 48_000
_MENTION = re.compile(r"(?<![\w@])@([\w./-]*[\w/-])")


def mentioned_paths(task: str, ws: Workspace) -> list[str]:
    """The files `task` mentions as `@path`, in order, each once."""
    found: list[str] = []
    for match in _MENTION.finditer(task):
        path = match.group(1).removeprefix("./")
        if path in found or ws.is_secret(path):
            continue
        try:  # resolved through the guard: a link is followed only while it stays inside
            if ws.resolve(path, must_exist=True).is_file():
                found.append(path)
        except CoderError:
            continue
    return found


def with_mentioned_files(task: str, ws: Workspace) -> tuple[str, list[str]]:
    """`task` followed by the content of the files it mentions (within a size limit), and
    the paths added."""
    added: list[str] = []
    blocks: list[str] = []
    total = 0
    for path in mentioned_paths(task, ws):
        try:
            text = ws.read_text(path)
        except CoderError:
            continue
        if len(text) > MAX_FILE_CHARS:
            text = text[:MAX_FILE_CHARS] + f"\n[… cut at {MAX_FILE_CHARS} characters]"
        if total + len(text) > MAX_TOTAL_CHARS:
            break
        total += len(text)
        fence = "`" * max(3, _longest_backticks(text) + 1)
        blocks.append(f"{path}:\n{fence}\n{text.rstrip()}\n{fence}")
        added.append(path)
    if not blocks:
        return task, []
    return task + "\n\nFiles mentioned in the task:\n\n" + "\n\n".join(blocks), added


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
