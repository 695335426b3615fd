"""Where a work tree's git directory is: `.git` itself, or what a `.git` file points to.

A worktree or submodule (or `git init --separate-git-dir`) has a `.git` file holding
`gitdir: PATH`; that directory may name its common directory in `commondir`.
"""

from __future__ import annotations

from pathlib import Path

MAX_POINTER = 4096
"""A `.git` file or `commondir` longer than this is not one git wrote."""


def pointed_git_dirs(dot_git: Path) -> list[Path]:
    """For a `.git` file: the git directory it names, then that one's common directory
    (when it has one); empty for a `.git` folder or anything else."""
    git_dir = _pointer(dot_git, "gitdir:")
    if git_dir is None:
        return []
    found = [dot_git.parent / git_dir]
    common = _pointer(found[0] / "commondir", "")
    if common is not None:
        found.append(found[0] / common)
    return found


def common_git_dir(root: Path) -> Path | None:
    """The git directory holding the repository's config and objects (None: not a work tree)."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git
    pointed = pointed_git_dirs(dot_git)
    return pointed[-1] if pointed else None


def _pointer(path: Path, prefix: str) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_POINTER:
            return None
        text = path.read_text("utf-8", "replace").strip()
    except OSError:
        return None
    if not text.startswith(prefix):
        return None
    return text[len(prefix) :].strip() or None
