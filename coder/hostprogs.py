"""Programs coder itself starts on the host (git, bwrap, an editor), found where no sandboxed
command can write.

A sandboxed command can write the repository, so a PATH entry inside it (an activated
`.venv/bin`, `node_modules/.bin`, `./bin`, a direnv folder) could hold a planted `git` or
`bwrap`. Each host program is resolved once, to an absolute path outside the repository,
from a PATH with every such entry removed; coder's own git also runs with that PATH.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def in_repository(path: str, root: Path) -> bool:
    """Whether `path` is, or may become, something the repository decides.

    Relative paths count (they follow the working directory); an absolute one counts when
    it, or what its symlinks lead to, lies inside the repository.
    """
    if not path or not os.path.isabs(path):
        return True
    real_root = os.path.realpath(root)
    return _inside(os.path.normpath(path), str(root)) or _inside(os.path.realpath(path), real_root)


def in_own_installation(path: str) -> bool:
    """Whether `path` (with its symlinks resolved) lies inside coder's own installation."""
    real = os.path.realpath(path)
    return any(_inside(real, own) for own in own_installation())


def safe_path(root: Path, search_path: str | None = None) -> str:
    """PATH (by default coder's own) without any entry inside the repository."""
    entries = (os.environ.get("PATH", os.defpath) if search_path is None else search_path).split(
        os.pathsep
    )
    kept: list[str] = []
    for entry in entries:
        if entry not in kept and not in_repository(entry, root):
            kept.append(entry)
    return os.pathsep.join(kept)


def host_program(name: str, root: Path) -> str | None:
    """The absolute path of `name` as coder runs it on the host, None when there is none.

    Resolved once per repository and PATH: later plants on PATH are never seen.
    """
    return _resolve(name, str(root), os.environ.get("PATH", os.defpath))


@lru_cache(maxsize=64)
def _resolve(name: str, root: str, search_path: str) -> str | None:
    found = shutil.which(name, path=safe_path(Path(root), search_path))
    if found is None:
        return None
    found = os.path.abspath(found)
    if in_repository(found, Path(root)):
        return None
    return found


@lru_cache(maxsize=1)
def own_installation() -> tuple[str, ...]:
    """Where coder itself lives (its package, interpreter, site-packages): real paths.

    The sandbox mounts each of them read-only wherever they are, a virtualenv inside the
    repository too, so a command can never change what coder runs next.
    """
    import site
    import sys

    candidates: list[str | Path] = [
        Path(__file__).resolve().parent,
        sys.prefix,
        sys.exec_prefix,
        os.path.dirname(sys.executable),
        *site.getsitepackages(),
    ]
    found: list[str] = []
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if os.path.isdir(real) and real not in found:
            found.append(real)
    return tuple(found)
