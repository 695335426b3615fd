"""The one path guard: repository-relative names resolved from a directory handle.

Every component is opened relative to the directory before it with `O_NOFOLLOW`, so a
symlink is never followed by the kernel behind our back: a link is read, checked to stay
inside the repository (no absolute target, no `..` past the root) and resolved again from
the root. Swapping a directory for a symlink between the check and the open makes the open
fail instead of escaping. Protected names (`.git`, `.coder`, `.coder.toml`) are refused
before and after symlinks are resolved.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from coder.errors import WorkspaceError

MAX_HOPS = 40
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4000
PROTECTED_DIRS = frozenset({".git", ".coder"})
"""Refused as any component: git's data and coder's own files."""
PROTECTED_FILES = frozenset({".coder.toml"})
"""Refused as the last component: coder's repository configuration."""
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Location:
    """A resolved name: an open handle on its directory, its last component and its stat."""

    dir_fd: int
    name: str
    """The last component ("" for the repository root itself)."""
    path: str
    """The repository-relative path after symlinks were resolved."""
    st: os.stat_result | None
    """lstat of the last component; None when it does not exist."""

    @property
    def kind(self) -> str | None:
        """file, dir, symlink, other, or None when missing."""
        if self.st is None:
            return None
        mode = self.st.st_mode
        if stat.S_ISREG(mode):
            return "file"
        if stat.S_ISDIR(mode):
            return "dir"
        if stat.S_ISLNK(mode):
            return "symlink"
        return "other"


class MissingParent(WorkspaceError):
    """A directory on the way does not exist (so neither does the path)."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path
        """The repository-relative path the name would have, symlinks resolved so far."""


def split(path: str, allow_protected: bool = False) -> list[str]:
    """The components of a repository-relative path, refusing what can never be valid."""
    if not path or not path.strip():
        raise WorkspaceError("empty path")
    if "\x00" in path:
        raise WorkspaceError(f"invalid path: {path!r}")
    pure = PurePosixPath(path)
    if pure.is_absolute() or path.startswith("~"):
        raise WorkspaceError(f"absolute paths are refused: {_short(path)}")
    parts = [p for p in pure.parts if p not in ("", ".")]
    if ".." in parts:
        raise WorkspaceError(f"paths with '..' are refused: {_short(path)}")
    if len(os.fsencode(path)) > MAX_PATH_BYTES or any(
        len(os.fsencode(p)) > MAX_NAME_BYTES for p in parts
    ):
        raise WorkspaceError(f"path too long: {_short(path)}")
    protected(parts, path, allow_protected)
    return parts


def protected(parts: list[str], shown: str, coder_files: bool = False) -> None:
    """Refuse `.git/`, `.coder/` and `.coder.toml` (case-insensitively); with
    `coder_files`, only `.git/`."""
    folded = [p.casefold() for p in parts]
    if coder_files:
        if ".git" in folded:
            raise WorkspaceError(f"paths inside .git/ are refused: {_short(shown)}")
        return
    if any(p in PROTECTED_DIRS for p in folded):
        which = ".git/" if ".git" in folded else ".coder/"
        raise WorkspaceError(f"paths inside {which} are refused: {_short(shown)}")
    if folded and folded[-1] in PROTECTED_FILES:
        raise WorkspaceError(f"{parts[-1]} is coder's configuration; it is refused: {shown}")


def _short(path: str, limit: int = 120) -> str:
    return path if len(path) <= limit else path[: limit - 1] + "…"


class PathGuard:
    """Resolves and opens repository-relative names under one root, never leaving it."""

    def __init__(self, root: Path, allow_protected: bool = False) -> None:
        self.root = root
        self.allow_protected = allow_protected
        """Let `.coder.toml` and `.coder/` through (only undo, putting back what was there;
        `.git/` stays refused)."""

    @contextmanager
    def locate(
        self, path: str, *, follow: bool = True, create_dirs: bool = False
    ) -> Iterator[Location]:
        """Resolve `path`; the Location's directory handle is closed on exit.

        `follow`: resolve a symlink in the last component too (else report it as a link).
        `create_dirs`: create missing parent directories (inside the repository).
        """
        location = self._walk(split(path, self.allow_protected), path, follow, create_dirs)
        try:
            yield location
        finally:
            os.close(location.dir_fd)

    def _walk(self, parts: list[str], shown: str, follow: bool, create: bool) -> Location:
        pending, hops = list(parts), 0
        walked: list[str] = []
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            while True:
                if not pending:
                    return Location(fd, "", "/".join(walked), os.fstat(fd))
                name = pending.pop(0)
                last = not pending
                st = _lstat(name, fd, shown)
                if st is not None and stat.S_ISLNK(st.st_mode) and (follow or not last):
                    hops += 1
                    if hops > MAX_HOPS:
                        raise WorkspaceError(f"too many symbolic links: {_short(shown)}")
                    target = os.readlink(name, dir_fd=fd)
                    pending = _join_link(walked, target, pending, shown)
                    protected(pending, shown, self.allow_protected)
                    os.close(fd)
                    fd = os.open(self.root, _DIR_FLAGS)
                    walked = []
                    continue
                if last:
                    return Location(fd, name, "/".join([*walked, name]), st)
                if st is None:
                    if not create:
                        rest = "/".join([*walked, name, *pending])
                        raise MissingParent(f"no such file: {_short(shown)}", rest)
                    os.mkdir(name, 0o777, dir_fd=fd)
                elif not stat.S_ISDIR(st.st_mode):
                    raise WorkspaceError(f"not a directory: {'/'.join([*walked, name])}")
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:  # swapped for a link or removed since the lstat
                    raise WorkspaceError(f"path changed while it was opened: {shown}") from exc
                os.close(fd)
                fd = child
                walked.append(name)
        except BaseException:
            os.close(fd)
            raise

    # ---- operations --------------------------------------------------------------------

    def read(self, path: str, limit: int | None = None) -> bytes:
        """The bytes of a regular file; WorkspaceError when it is over `limit` bytes."""
        with self.locate(path) as loc:
            if loc.kind is None:
                raise WorkspaceError(f"no such file: {_short(path)}")
            if loc.kind == "dir":
                raise WorkspaceError(f"is a directory: {_short(path)}")
            if loc.kind != "file":
                raise WorkspaceError(f"not a regular file: {_short(path)}")
            try:
                fd = os.open(
                    loc.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=loc.dir_fd
                )
            except OSError as exc:
                raise WorkspaceError(f"cannot read {_short(path)}: {exc.strerror}") from None
            with os.fdopen(fd, "rb") as handle:
                if limit is None:
                    return handle.read()
                data = handle.read(limit + 1)  # the size may change after any stat
            if len(data) > limit:
                raise WorkspaceError(f"{_short(path)} is larger than {limit:,} bytes")
            return data

    def stage(self, path: str, tmp: str, data: bytes, mode: int | None = None) -> None:
        """Write `data` to the temporary file `tmp` beside `path` (fsynced, mode set).

        `mode` None keeps the file's mode, or gives a new file 0o666 under the umask.
        """
        with self.locate(path, create_dirs=True) as loc:
            if loc.kind == "dir" or not loc.name:
                raise WorkspaceError(f"is a directory: {_short(path)}")
            if loc.kind not in (None, "file"):
                raise WorkspaceError(f"not a regular file: {_short(path)}")
            if mode is None:
                mode = stat.S_IMODE(loc.st.st_mode) if loc.st is not None else new_file_mode()
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(tmp, flags, 0o600, dir_fd=loc.dir_fd)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fchmod(handle.fileno(), mode)
                os.fsync(handle.fileno())

    def commit(self, path: str, tmp: str) -> None:
        """Rename the staged `tmp` over `path` (atomic)."""
        with self.locate(path) as loc:
            if loc.kind == "dir" or not loc.name:
                raise WorkspaceError(f"is a directory: {_short(path)}")
            os.replace(tmp, loc.name, src_dir_fd=loc.dir_fd, dst_dir_fd=loc.dir_fd)

    def discard(self, path: str, tmp: str) -> None:
        """Remove the temporary `tmp` beside `path`, if it is there."""
        try:
            with self.locate(path, follow=False) as loc:
                os.unlink(tmp, dir_fd=loc.dir_fd)
        except (FileNotFoundError, MissingParent):
            pass

    def readlink(self, path: str) -> str:
        """The target of the symlink `path`."""
        with self.locate(path, follow=False) as loc:
            if loc.kind != "symlink":
                raise WorkspaceError(f"not a symbolic link: {_short(path)}")
            return os.readlink(loc.name, dir_fd=loc.dir_fd)

    def unlink(self, path: str) -> None:
        """Delete a file or a symlink (never what a symlink points to)."""
        with self.locate(path, follow=False) as loc:
            if loc.kind is None:
                raise WorkspaceError(f"no such file: {_short(path)}")
            if loc.kind == "dir":
                raise WorkspaceError(f"is a directory: {_short(path)}")
            os.unlink(loc.name, dir_fd=loc.dir_fd)

    def symlink(self, path: str, target: str) -> None:
        """Make `path` a symlink to `target` (replacing a file or link there)."""
        with self.locate(path, follow=False, create_dirs=True) as loc:
            if loc.kind == "dir" or not loc.name:
                raise WorkspaceError(f"is a directory: {_short(path)}")
            if loc.kind is not None:
                os.unlink(loc.name, dir_fd=loc.dir_fd)
            os.symlink(target, loc.name, dir_fd=loc.dir_fd)

    def inspect(self, path: str, *, follow: bool = True) -> tuple[str, str | None, int]:
        """(resolved path, kind or None, permission bits) without opening the file."""
        try:
            with self.locate(path, follow=follow) as loc:
                mode = stat.S_IMODE(loc.st.st_mode) if loc.st is not None else 0
                return loc.path, loc.kind, mode
        except MissingParent as missing:
            return missing.path, None, 0


def _lstat(name: str, dir_fd: int, shown: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WorkspaceError(f"cannot open {_short(shown)}: {exc.strerror}") from None


def _join_link(walked: list[str], target: str, rest: list[str], shown: str) -> list[str]:
    """The path a symlink leads to, as components from the root; refuses a way out."""
    if not target or target.startswith("/"):
        raise WorkspaceError(f"symbolic link leads outside the repository: {_short(shown)}")
    out = list(walked)
    for part in [*target.split("/"), *rest]:
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                raise WorkspaceError(f"symbolic link leads outside the repository: {_short(shown)}")
            out.pop()
        else:
            out.append(part)
    return out


def new_file_mode() -> int:
    """0o666 under the process umask (read from /proc: os.umask would race other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644
