"""Executable files made or changed in the tree since a moment: what the run report names.

The ledger leaves regenerable folders (`.venv`, `node_modules`) out of undo, but a program
planted there is what a later shell, or a careless tool, runs; so the report lists every
executable file whose inode changed (ctime, which no command can set back) since the run
began, wherever it is. One walk at the end of a run, not one per command.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_ENTRIES = 500_000
"""Directory entries looked at, at most: a tree larger than that is reported as cut."""
CLOCK_SLACK_NS = 1_000_000_000
"""Inode times come from a coarse kernel clock that can lag `time.time_ns()`."""


def changed_executables(root: Path, since_ns: int) -> tuple[list[str], bool]:
    """Files under `root` (not `.git`) with an execute bit, or symlinks to such files, whose
    inode changed at or after `since_ns`; and whether the walk was cut short."""
    threshold = since_ns - CLOCK_SLACK_NS
    found: list[str] = []
    pending = [root]
    seen = 0
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                return sorted(found), True
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if not (folder == root and entry.name == ".git"):
                    pending.append(Path(entry.path))
                continue
            if info.st_ctime_ns < threshold or not _executable(entry, info):
                continue
            found.append(Path(entry.path).relative_to(root).as_posix())
    return sorted(found), False


def _executable(entry: os.DirEntry[str], info: os.stat_result) -> bool:
    if stat.S_ISLNK(info.st_mode):
        try:
            info = os.stat(entry.path)
        except OSError:
            return False
    return stat.S_ISREG(info.st_mode) and bool(info.st_mode & 0o111)
