"""The repository a command works in, found from any directory inside it (as git does)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Located:
    """Where a command runs: the repository root and the directory it was started from."""

    root: Path
    """The nearest directory at or above the start that holds `.git` (else the start)."""
    subdir: str | None
    """The start relative to the root when it is below it (a focus of the repo map)."""
    is_git: bool
    """Whether a `.git` was found at all."""


def locate(start: Path) -> Located:
    """The repository containing `start`; `.git` may be a directory or a worktree's file.

    Only names are looked at: nothing from the repository is run or read here.
    """
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            subdir = here.relative_to(folder).as_posix()
            return Located(folder, None if subdir == "." else subdir, True)
    return Located(here, None, False)
