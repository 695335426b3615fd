"""Crash-safe writes of one or many files: all of them land, or none does.

Every write goes through a small journal in coder's state directory (`.git/coder/journal/`,
or `.coder/journal/` outside git): first the original of each file is saved, then the
journal names every file and the temporary file its new content goes to, then the
temporaries are written and renamed into place, and only then is the journal removed. A
process killed at any moment (SIGKILL included) leaves a journal behind, and the next
coder start puts every file back as it was and removes the temporaries: a patch is never
half-applied and no `.coder-tmp` file is left in the tree.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets as random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from coder.errors import WorkspaceError
from coder.pathguard import PathGuard

JOURNAL = "journal.json"
LOCK = "journal.lock"
"""Held while writing or recovering: another coder process never rolls back our writes."""


class _Entry(TypedDict):
    path: str
    existed: bool
    kind: str | None
    mode: int | None
    original: str | None
    tmp: str


@dataclass(frozen=True)
class Change:
    """One file's new state: its bytes (None deletes it) and its permission bits."""

    path: str
    data: bytes | None
    mode: int | None = None


def state_dir(root: Path) -> Path:
    """coder's own directory for a repository: inside its git dir, else `.coder/`."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git / "coder"
    if dot_git.is_file():
        text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            git_dir = Path(text[len("gitdir:") :].strip())
            return (git_dir if git_dir.is_absolute() else root / git_dir) / "coder"
    return root / ".coder"


class Journal:
    """Applies groups of changes under one root, recoverably."""

    def __init__(self, root: Path, guard: PathGuard) -> None:
        self.root = root
        self.guard = guard
        self.folder = state_dir(root) / "journal"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder.parent / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def apply(self, changes: list[Change]) -> None:
        """Write every change, or (after a crash, at the next start) none of them."""
        if not changes:
            return
        with self._locked():
            self._recover()
            self._apply(changes)

    def _apply(self, changes: list[Change]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        entries: list[_Entry] = []
        try:
            for index, change in enumerate(changes):
                entries.append(self._save_original(index, change))
            _write_json(self.folder / JOURNAL, {"version": 1, "entries": entries})
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        try:
            for change, entry in zip(changes, entries, strict=True):
                if change.data is not None:
                    mode = change.mode if change.mode is not None else entry["mode"]
                    self.guard.stage(change.path, entry["tmp"], change.data, mode)
            for change, entry in zip(changes, entries, strict=True):
                if change.data is None:
                    if entry["existed"]:
                        self.guard.unlink(change.path)
                else:
                    self.guard.commit(change.path, entry["tmp"])
        except OSError as exc:
            self._recover()  # put back what was already written
            raise WorkspaceError(f"could not write {change.path}: {exc.strerror or exc}") from exc
        except BaseException:
            self._recover()
            raise
        self._finish()

    def _save_original(self, index: int, change: Change) -> _Entry:
        _, kind, mode = self.guard.inspect(change.path, follow=False)
        allowed = (None, "file", "symlink") if change.data is None else (None, "file")
        if kind not in allowed:
            raise WorkspaceError(f"not a regular file: {change.path}")
        original = None
        if kind == "file":
            original = f"o{index}"
            _write_bytes(self.folder / original, self.guard.read(change.path))
        elif kind == "symlink":
            original = f"l{index}"
            target = self.guard.readlink(change.path)
            _write_bytes(self.folder / original, os.fsencode(target))
        return {
            "path": change.path,
            "existed": kind is not None,
            "kind": kind,
            "mode": mode if kind == "file" else None,
            "original": original,
            "tmp": f".{Path(change.path).name[:180]}.{random.token_hex(4)}.coder-tmp",
        }

    def recover(self) -> list[str]:
        """Undo what an interrupted write left: originals back, temporaries gone."""
        if not self.folder.exists():
            return []  # the common case, without taking the lock
        with self._locked():
            return self._recover()

    def _recover(self) -> list[str]:
        journal = self.folder / JOURNAL
        if not journal.is_file():
            if self.folder.exists():
                shutil.rmtree(self.folder, ignore_errors=True)  # originals saved, nothing written
            return []
        try:
            entries = json.loads(journal.read_text(encoding="utf-8"))["entries"]
        except (OSError, ValueError, KeyError):
            entries = []  # a torn journal: its rename never happened, so nothing was written
        restored = []
        for entry in entries:
            path, tmp = str(entry["path"]), str(entry["tmp"])
            try:
                self.guard.discard(path, tmp)
                original = entry.get("original")
                if entry.get("kind") == "symlink" and original:
                    target = os.fsdecode((self.folder / str(original)).read_bytes())
                    self.guard.symlink(path, target)
                elif entry.get("existed") and original:
                    data = (self.folder / str(original)).read_bytes()
                    self.guard.stage(path, tmp, data, int(entry.get("mode") or 0o644))
                    self.guard.commit(path, tmp)
                elif self.guard.inspect(path, follow=False)[1] is not None:
                    self.guard.unlink(path)
            except (OSError, WorkspaceError):
                continue
            restored.append(path)
        self._finish()
        return restored

    def _finish(self) -> None:
        try:
            (self.folder / JOURNAL).unlink()
        except FileNotFoundError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
        parent = self.folder.parent
        if parent.name == ".coder" and parent.is_dir():  # outside git: leave no trace
            (parent / LOCK).unlink(missing_ok=True)
            if not any(parent.iterdir()):
                parent.rmdir()


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _write_json(path: Path, value: object) -> None:
    tmp = path.with_suffix(".tmp")
    _write_bytes(tmp, json.dumps(value).encode("utf-8"))
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
