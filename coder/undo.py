"""The undo ledger: what the agent changed, file by file, and an undo that takes back only that.

A session's `Ledger` watches its workspace (`Workspace.observer`). A tool's write is recorded
with the file's content before and after; a command is bracketed by two snapshots of the
tree (`GitStore.snapshot`), and by stat checks of the files a snapshot leaves out — ignored
files (except regenerable ones: virtualenvs, caches, build output) and secret files, whose
copies are kept privately outside the repository. Only what changed *during* an agent
action is the agent's; whatever the user does between actions is never recorded.

`undo` then goes file by file: a file still as the agent left it is restored, with its exact
mode (or removed, if the agent created it); a file the user changed since is merged when
git can do it cleanly and otherwise left alone and reported; files the user created are
never touched. What undo replaced is kept, so `redo` brings it back. Ledgers are JSON in
`.git/coder/sessions/`, rewritten atomically after every change.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coder.checkpoints import Checkpoint, Entry, GitStore
from coder.errors import UsageError, WorkspaceError
from coder.journal import Change, state_dir
from coder.secrets import private_dir, secret_pathspecs
from coder.workspace import Workspace

State = dict[str, Any]
"""A file as it was: {"kind": "file", "blob": "git:SHA" | "private:SHA256", "mode": int} or
{"kind": "link", "target": str}; None stands for "absent"."""
REGENERABLE = frozenset(
    {"node_modules", ".venv", "venv", "__pycache__", ".pytest_cache", ".mypy_cache",
     ".ruff_cache", ".tox", ".nox", "build", "dist", "target", ".gradle", ".next", ".nuxt",
     ".cache", "htmlcov", ".eggs", "bower_components", ".parcel-cache", ".turbo", ".terraform"}
)  # fmt: skip
"""Ignored directories that tools rebuild: never copied, never restored."""
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".o", ".so", ".a", ".class", ".dylib", ".dll", ".egg-info")
MAX_WATCHED_FILE = 1 << 20
MAX_WATCHED_TOTAL = 64 << 20
MAX_WATCHED_COUNT = 2000
MAX_LINKED_COUNT = 200
"""Ignored files over MAX_WATCHED_FILE kept by hard links (beside the ledger), at most."""


@dataclass
class Report:
    """What undo or redo did, file by file."""

    restored: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    """Files changed since the run (or since the undo), left exactly as they are."""

    def summary(self, verb: str = "restored") -> str:
        """One line per kind of outcome, for people."""
        if not (self.restored or self.merged or self.left):
            return f"nothing to {'redo' if verb == 'redone' else 'undo'}: no file differs"
        lines = []
        if self.restored:
            lines.append(f"{verb} {len(self.restored)} file(s): {_names(self.restored)}")
        if self.merged:
            lines.append(
                f"merged {len(self.merged)} file(s) you changed since: {_names(self.merged)}"
            )
        if self.left:
            lines.append(
                f"left {len(self.left)} file(s) you changed since, as they are: {_names(self.left)}"
            )
        return "\n".join(lines)


def _names(paths: list[str]) -> str:
    shown = ", ".join(paths[:8])
    return shown + (f" and {len(paths) - 8} more" if len(paths) > 8 else "")


def _git_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Ledger:
    """One session's record of the agent's changes; a ChangeObserver of its workspace."""

    def __init__(self, ws: Workspace, path: Path, data: dict[str, Any]) -> None:
        self.ws, self.path, self.data = ws, path, data
        self.store = GitStore(ws)
        self._trees: dict[int, str] = {}
        """Per thread, the tree before its command: the baseline check runs beside the
        model's first command, each bracketed by its own snapshots."""
        self._lock = threading.RLock()
        """One snapshot, record or save at a time (they share the ledger's index file)."""

    # ---- creation and lookup -----------------------------------------------------------

    @classmethod
    def start(cls, ws: Workspace) -> Ledger:
        """A new ledger, with a checkpoint of the tree as it is now."""
        store = GitStore(ws)
        checkpoint = store.checkpoint()
        folder = state_dir(ws.root) / "sessions"
        folder.mkdir(parents=True, exist_ok=True)
        ident = checkpoint.ref.rsplit("/", 1)[-1]
        data = {
            "version": 1,
            "id": ident,
            "created": time.time(),
            "checkpoint": [checkpoint.ref, checkpoint.commit, checkpoint.tree],
            "status": "active",
            "entries": {},
            "watched": {},
            "index_before": store.index_of(checkpoint),
            "index_after": None,
            "redo": {},
            "modes": _unusual_modes(ws, ws.list_files()),
        }
        ledger = cls(ws, folder / f"{ident}.json", data)
        ledger._refresh_watched()
        ledger.save()
        return ledger

    @classmethod
    def load(cls, ws: Workspace, ident: str) -> Ledger:
        """The ledger `ident` (a resumed session carries on with it)."""
        path = state_dir(ws.root) / "sessions" / f"{ident}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the undo ledger of session {ident}: {exc}") from None
        if not isinstance(data, dict) or "checkpoint" not in data:
            raise UsageError(f"the undo ledger of session {ident} is not one coder wrote")
        ledger = cls(ws, path, data)
        ledger.recover()
        return ledger

    @classmethod
    def latest(cls, ws: Workspace, status: str) -> Ledger | None:
        """The newest ledger of the repository with `status` (active or undone)."""
        folder = state_dir(ws.root) / "sessions"
        found = []
        for path in folder.glob("*.json") if folder.is_dir() else []:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict) or data.get("status") != status:
                continue
            if data.get("entries") or data.get("redo") or data.get("pending"):
                found.append((float(data.get("created", 0)), path, data))
        if not found:
            return None
        _, path, data = max(found, key=lambda item: item[0])
        ledger = cls(ws, path, data)
        ledger.recover()
        return ledger

    def recover(self) -> None:
        """Record the commands coder was killed during (kill -9, a crash): whatever changed
        since such a command began is taken as its change."""
        with self._lock:
            pending = self.data.pop("pending", None) or {}
            for before_tree in dict.fromkeys(pending.values()):
                self._after_command(str(before_tree))
            if pending:
                self.save()

    @property
    def checkpoint(self) -> Checkpoint:
        """The tree as it was when the session began."""
        ref, commit, tree = self.data["checkpoint"]
        return Checkpoint(ref, commit, tree)

    def save(self, durable: bool = False) -> None:
        """Write the ledger atomically; `durable`: on the disk before this returns."""
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(self.data))
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    # ---- observing the agent -----------------------------------------------------------

    def before_command(self) -> None:
        """Note the user's latest changes (never the agent's) and snapshot the tree."""
        with self._lock:
            self._refresh_watched()
            tree = self.store.snapshot(self.path.with_suffix(".index"))
            self._trees[threading.get_ident()] = tree
            # On the disk before the command starts: a coder killed during it leaves this
            # behind, and the next `coder undo` (or start) records the command (`recover`).
            self.data.setdefault("pending", {})[str(threading.get_ident())] = tree
            self.save(durable=True)

    def after_command(self) -> None:
        """Record what the command changed: tree paths, watched files, the index."""
        with self._lock:
            before_tree = self._trees.pop(threading.get_ident(), None)
            self.data.get("pending", {}).pop(str(threading.get_ident()), None)
            if not self.data.get("pending"):
                self.data.pop("pending", None)
            if before_tree is not None:
                self._after_command(before_tree)

    def _after_command(self, before_tree: str) -> None:
        after_tree = self.store.snapshot(self.path.with_suffix(".index"))
        modes = self.data["modes"]
        for path, (old, new) in self.store.changes(before_tree, after_tree).items():
            before = self._from_entry(old, modes.get(path))
            after = self._from_entry(new, self._exact_mode(path))
            self._record(path, before, after)
            _remember_mode(modes, self.ws, path)
        watched = self.data["watched"]
        current = self._watch_list()
        for path in sorted(set(watched) | set(current)):
            old_state = watched[path]["state"] if path in watched else None
            if path not in current:
                if old_state is not None:
                    self._record(path, old_state, None)
                    del watched[path]
            elif path not in watched or watched[path]["stat"] != current[path]:
                new_state = self._store_file(path)
                self._record(path, old_state, new_state)
                watched[path] = {"stat": current[path], "state": new_state}
        if self.ws.sandbox.mode == "off":  # sandboxed, .git is read-only: the index is yours
            index = self.store.index_tree()
            if index != (self.data["index_after"] or self.data["index_before"]):
                self.data["index_after"] = index
        if before_tree != after_tree:
            self.ws.generation += 1
        self.save()

    def before_write(self, changes: list[Change]) -> None:
        """Keep each file's content before a tool writes it (ignored files included)."""
        with self._lock:
            self._pending = {c.path: self._disk_state(c.path) for c in changes}

    def after_write(self, changes: list[Change]) -> None:
        """Record each written file's new state."""
        with self._lock:
            pending = getattr(self, "_pending", {})
            for change in changes:
                after = self._disk_state(change.path)
                self._record(change.path, pending.get(change.path), after)
                _remember_mode(self.data["modes"], self.ws, change.path)
            self._pending = {}
            self.save()

    def _record(self, path: str, before: State | None, after: State | None) -> None:
        entries = self.data["entries"]
        if path in entries:
            entries[path]["after"] = after
        else:
            entries[path] = {"before": before, "after": after}
        if _same(entries[path]["before"], entries[path]["after"], self._keys):
            del entries[path]

    # ---- file states -------------------------------------------------------------------

    def _disk_state(self, path: str) -> State | None:
        """The file as it is now, stored so it can be put back."""
        kind, _ = self.ws.inspect(path)
        if kind is None:
            return None
        if kind == "symlink":
            return {"kind": "link", "target": self.ws.guard.readlink(path)}
        return self._store_file(path)

    def _store_file(self, path: str) -> State | None:
        try:
            kind, mode = self.ws.inspect(path)
            if kind == "symlink":
                return {"kind": "link", "target": self.ws.guard.readlink(path)}
            if kind != "file":
                return None
            if (self.ws.root / path).stat().st_size > MAX_WATCHED_FILE:
                return self._keep(path, mode)
            data = self.ws.guard.read(path)
        except (OSError, WorkspaceError):
            return None
        if self.ws.is_secret(path):
            return {"kind": "file", "blob": "private:" + _put_private(data), "mode": mode}
        return {"kind": "file", "blob": "git:" + self.store.put(data), "mode": mode}

    def _from_entry(self, entry: Entry | None, exact_mode: int | None) -> State | None:
        """A snapshot's entry as a state; git keeps only 644 or 755, so `exact_mode` wins."""
        if entry is None:
            return None
        sha, git_mode = entry
        if git_mode == 0o120000:
            return {"kind": "link", "target": os.fsdecode(self.store.get(sha))}
        mode = exact_mode if exact_mode is not None else git_mode & 0o777
        return {"kind": "file", "blob": "git:" + sha, "mode": mode}

    def _exact_mode(self, path: str) -> int | None:
        try:
            kind, mode = self.ws.inspect(path)
        except WorkspaceError:
            return None
        return mode if kind == "file" else None

    # ---- files outside the snapshots ---------------------------------------------------

    def _refresh_watched(self) -> None:
        """Copy ignored and secret files that are new or changed since last seen."""
        watched = self.data["watched"]
        current = self._watch_list()
        for path, key in current.items():
            if path not in watched or watched[path]["stat"] != key:
                state = self._store_file(path)
                if state is not None:
                    watched[path] = {"stat": key, "state": state}
        for path in [p for p in watched if p not in current]:
            del watched[path]

    def _watch_list(self) -> dict[str, list[int]]:
        """Ignored (not regenerable) and secret files, each with its stat key."""
        specs = secret_pathspecs(self.ws.secret_files)
        code, listed = self.ws.git_bytes(
            "ls-files", "-z", "-co", "--exclude-standard", "--", *specs
        )
        names = {n for n in listed.decode("utf-8", "surrogateescape").split("\0") if n}
        code, out = self.ws.git_bytes(
            "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"
        )
        for entry in out.decode("utf-8", "surrogateescape").split("\0") if code == 0 else []:
            if not entry or regenerable(entry):
                continue
            if entry.endswith("/"):
                names.update(_walk_ignored(self.ws.root, entry.rstrip("/")))
            else:
                names.add(entry)
        found: dict[str, list[int]] = {}
        total = large = 0
        for name in sorted(names):
            try:
                st = os.lstat(self.ws.root / name)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if st.st_size > MAX_WATCHED_FILE:  # kept by a hard link, not a copy
                large += 1
                if large > MAX_LINKED_COUNT:
                    continue
            else:
                total += st.st_size
            if total > MAX_WATCHED_TOTAL or len(found) >= MAX_WATCHED_COUNT:
                break
            # ctime too: a rewrite of the same size with its times put back is still seen.
            found[name] = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode, st.st_ctime_ns]
        return found

    def originals(self, wanted: Callable[[str], bool]) -> dict[str, bytes | None]:
        """The files the agent changed that `wanted` picks, as they were before (None: the
        agent created them; a link counts as absent)."""
        found: dict[str, bytes | None] = {}
        for path, entry in self.data["entries"].items():
            if wanted(path):
                before = entry["before"]
                kind = before["kind"] if before else None
                found[path] = self._content(before) if kind == "file" else None
        return found

    def changed(self) -> dict[str, tuple[State | None, State | None]]:
        """Each file the agent changed: (as it was before, as the agent left it)."""
        return {p: (e["before"], e["after"]) for p, e in self.data["entries"].items()}

    def content(self, state: State | None) -> bytes | None:
        """A recorded state's bytes (None: absent, or a link)."""
        if state is None or state.get("kind") != "file":
            return None
        return self._content(state)

    def size(self, state: State | None) -> int | None:
        """A recorded file's size in bytes, without reading it (None: absent, or a link)."""
        if state is None or state.get("kind") != "file":
            return None
        where, _, key = str(state["blob"]).partition(":")
        if where == "git":
            return self.store.size(key)
        folder = self.path.parent / "keep" if where == "keep" else private_dir()
        try:
            return (folder / key).stat().st_size
        except OSError:
            return None

    # ---- undo and redo -----------------------------------------------------------------

    def undo(self) -> Report:
        """Take back the agent's changes that nobody changed since; keep everything else."""
        report, redo = Report(), {}
        writer = Workspace(self.ws.root, deny_secrets=False, allow_protected=True)
        changes: list[Change] = []
        links: list[tuple[str, str]] = []
        removed: list[str] = []
        for path, entry in sorted(self.data["entries"].items()):
            before, after = entry["before"], entry["after"]
            now = self._current(writer, path)
            if _same(now, before, self._keys):
                continue
            target: State | None
            if _same(now, after, self._keys):
                target, outcome = before, report.restored
            else:
                merged = self._merge(writer, path, now, after, before)
                if merged is None:
                    report.left.append(path)
                    continue
                target, outcome = merged, report.merged
            self._plan(writer, path, target, changes, links, removed)
            redo[path] = {"undone": self._disk_state_of(writer, path), "restored": target}
            outcome.append(path)
        _apply(writer, changes, links, removed)
        index_after = self.data["index_after"]
        if index_after and self.store.index_tree() == index_after:
            self.store.set_index(self.data["index_before"])
        self.data.update(status="undone", redo=redo)
        self.save()
        return report

    def redo(self) -> Report:
        """Bring back what the last undo replaced, where nobody changed it since."""
        report = Report()
        writer = Workspace(self.ws.root, deny_secrets=False, allow_protected=True)
        changes: list[Change] = []
        links: list[tuple[str, str]] = []
        removed: list[str] = []
        for path, entry in sorted(self.data["redo"].items()):
            now = self._current(writer, path)
            if _same(now, entry["undone"], self._keys):
                continue
            if not _same(now, entry["restored"], self._keys):
                report.left.append(path)
                continue
            self._plan(writer, path, entry["undone"], changes, links, removed)
            report.restored.append(path)
        _apply(writer, changes, links, removed)
        self.data.update(status="active", redo={})
        self.save()
        return report

    def _current(self, writer: Workspace, path: str) -> State | None:
        """The file now, as a state comparable with recorded ones (nothing stored)."""
        try:
            kind, mode = writer.inspect(path)
        except WorkspaceError:
            return None
        if kind == "symlink":
            return {"kind": "link", "target": writer.guard.readlink(path)}
        if kind != "file":
            return None
        data = writer.guard.read(path)
        digest = hashlib.sha256(data).hexdigest()
        return {"kind": "file", "git": _git_sha(data), "private": digest, "mode": mode}

    def _disk_state_of(self, writer: Workspace, path: str) -> State | None:
        saved_ws, self.ws = self.ws, writer
        try:
            return self._disk_state(path)
        finally:
            self.ws = saved_ws

    def _keys(self, state: State) -> set[str]:
        return _content_keys(self, state)

    def _keep(self, path: str, mode: int) -> State | None:
        """A large ignored file kept by a hard link beside the ledger (no copy): a command
        that deletes or replaces it leaves its old content there. (One that rewrites it in
        place changes the kept content too: that is not undone.)"""
        st = os.lstat(self.ws.root / path)
        name = f"{st.st_dev}-{st.st_ino}-{st.st_ctime_ns}"
        target = self.path.parent / "keep" / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(self.ws.root / path, target)
            except OSError:
                return None  # another filesystem: left unprotected, as a copy would cost
        return {"kind": "file", "blob": f"keep:{name}", "mode": mode}

    def _content(self, state: State) -> bytes:
        where, _, key = str(state["blob"]).partition(":")
        if where == "keep":
            return (self.path.parent / "keep" / key).read_bytes()
        return self.store.get(key) if where == "git" else _get_private(key)

    def _merge(
        self, writer: Workspace, path: str, now: State | None, after: State | None,
        before: State | None,
    ) -> State | None:  # fmt: skip
        """The user's version with the agent's change taken out, if git merges it cleanly."""
        if not (now and after and before) or "link" in (now["kind"], after["kind"], before["kind"]):
            return None
        merged = self.store.merge(
            writer.guard.read(path), self._content(after), self._content(before)
        )
        if merged is None:
            return None
        blob = "git:" + self.store.put(merged)
        return {"kind": "file", "blob": blob, "mode": now["mode"]}

    def _plan(
        self,
        writer: Workspace,
        path: str,
        target: State | None,
        changes: list[Change],
        links: list[tuple[str, str]],
        removed: list[str],
    ) -> None:
        if target is None:
            changes.append(Change(path, None))
            removed.append(path)
        elif target["kind"] == "link":
            links.append((path, str(target["target"])))
        else:
            if writer.inspect(path)[0] == "symlink":
                links.append((path, ""))  # a link where the file was: removed first
            changes.append(Change(path, self._content(target), int(target["mode"])))


def _apply(
    writer: Workspace, changes: list[Change], links: list[tuple[str, str]], removed: list[str]
) -> None:
    """Links removed first, then every file as one journaled change, then links made."""
    for path, target in links:
        if not target:
            writer.guard.unlink(path)
    writer.apply_changes(changes)
    for path, target in links:
        if target:
            writer.guard.symlink(path, target)
    _prune(writer.root, removed)


def _remember_mode(modes: dict[str, int], ws: Workspace, path: str) -> None:
    modes.pop(path, None)
    modes.update(_unusual_modes(ws, [path]))


def _unusual_modes(ws: Workspace, paths: list[str]) -> dict[str, int]:
    """Permission bits git would not keep (anything but 644 and 755), by path."""
    found = {}
    for path in paths:
        try:
            st = os.lstat(ws.root / path)
        except OSError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISREG(st.st_mode) and mode not in (0o644, 0o755):
            found[path] = mode
    return found


def _same(
    a: State | None, b: State | None, keys: Callable[[State], set[str]] = lambda s: _keys(s)
) -> bool:
    """Whether two states hold the same thing (a current state compares by its hashes;
    `keys` may read a kept large file's content for its hashes)."""
    if a is None or b is None:
        return a is b
    if a["kind"] != b["kind"]:
        return False
    if a["kind"] == "link":
        return bool(a["target"] == b["target"])
    if a.get("mode") != b.get("mode"):
        return False
    return _key(a) == _key(b) or bool(keys(a) & keys(b))


def _key(state: State) -> str:
    return str(state.get("blob", ""))


def _keys(state: State) -> set[str]:
    if "blob" in state:
        return {str(state["blob"])}
    return {f"git:{state['git']}", f"private:{state['private']}"}


def _content_keys(ledger: Ledger, state: State) -> set[str]:
    """A state's keys, a kept large file's content hashes included (read only when asked)."""
    keys = _keys(state)
    if str(state.get("blob", "")).startswith("keep:"):
        data = ledger._content(state)
        keys |= {f"git:{_git_sha(data)}", f"private:{hashlib.sha256(data).hexdigest()}"}
    return keys


def _put_private(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    folder = private_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / digest
    if not target.exists():
        tmp = folder / f".{digest}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    return digest


def _get_private(digest: str) -> bytes:
    return (private_dir() / digest).read_bytes()


def regenerable(entry: str) -> bool:
    """A cache or build output, made again by the next build (never the user's work)."""
    parts = entry.rstrip("/").split("/")
    return any(p in REGENERABLE or p.endswith(SKIPPED_SUFFIXES) for p in parts)


def _walk_ignored(root: Path, folder: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root / folder):
        dirnames[:] = [d for d in dirnames if d not in REGENERABLE and d != ".git"]
        rel = Path(dirpath).relative_to(root).as_posix()
        found += [f"{rel}/{n}" for n in filenames if not n.endswith(SKIPPED_SUFFIXES)]
        if len(found) > MAX_WATCHED_COUNT:
            break
    return found


def _prune(root: Path, removed: list[str]) -> None:
    for path in removed:
        folder = (root / path).parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def undo(ws: Workspace) -> Report:
    """`coder undo`: take back the newest active session's changes."""
    ledger = Ledger.latest(ws, "active")
    if ledger is None:
        raise UsageError("nothing to undo: no coder run recorded in this repository")
    return ledger.undo()


def redo(ws: Workspace) -> Report:
    """`coder redo`: bring back what the newest undo took back."""
    ledger = Ledger.latest(ws, "undone")
    if ledger is None:
        raise UsageError("nothing to redo: no undo recorded in this repository")
    return ledger.redo()
