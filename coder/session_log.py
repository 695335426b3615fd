"""The session record: every step of a session appended to `.git/coder/sessions/ID.log`.

One line per record, `DIGEST JSON`: the digest (16 hex of the JSON's sha256) tells a whole
line from one cut short by a kill -9, so a record is read up to its first bad line and is
always usable. Records: `start` (the task, the model, the checkpoint), `event` (every event
but streamed fragments, already redacted), `conversation` (a whole snapshot, when a section
changed or compaction rewrote old turns) and `turns` (the items appended since). The id is
the undo ledger's (`ID.json` beside it), so a resumed session undoes to the same checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coder.conversation import Conversation
from coder.errors import UsageError
from coder.events import AssistantDelta, Event, ToolOutput
from coder.journal import state_dir
from coder.textsafe import map_strings

SUFFIX = ".log"
_QUIET = (AssistantDelta, ToolOutput)
"""Streamed fragments: their whole text is in the message and result events that follow."""


def sessions_dir(root: Path) -> Path:
    """Where a repository's session records (and undo ledgers) live."""
    return state_dir(root) / "sessions"


def _line(kind: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps({"kind": kind, "data": data}, ensure_ascii=False)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
    return f"{digest} {payload}\n".encode()


class SessionLog:
    """An append-only session record; a writer only ever adds whole lines."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, root: Path, ident: str, start: dict[str, Any]) -> SessionLog:
        """A new record `ident` opened with its `start` record."""
        folder = sessions_dir(root)
        folder.mkdir(parents=True, exist_ok=True)
        log = cls(folder / f"{ident}{SUFFIX}")
        log.append("start", {"id": ident, "created": time.time(), **start})
        return log

    def append(self, kind: str, data: dict[str, Any]) -> None:
        """Add one record (one write of one whole line)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, _line(kind, data))
        finally:
            os.close(fd)


class Recorder:
    """An EventSink that appends each event, and the conversation as it grows, to a log;
    every string of the conversation's records passes `clean` (the session's redactor: a
    profile's records in an item's data are not part of what the model was sent)."""

    def __init__(
        self, conversation: Conversation, clean: Callable[[str], str] = lambda text: text
    ) -> None:
        self.conversation = conversation
        self.clean = clean
        self.log: SessionLog | None = None
        self._turns = 0
        self._shape: tuple[int, ...] = ()

    def attach(self, log: SessionLog, conversation: Conversation) -> None:
        """Record into `log` from now on, starting with a snapshot of `conversation`."""
        self.log, self.conversation = log, conversation
        self._shape = ()
        self.sync()

    def emit(self, event: Event) -> None:
        """Append the event (not streamed fragments), after the conversation's new items."""
        if self.log is None or isinstance(event, _QUIET):
            return
        self.sync()
        self.log.append("event", event.to_dict())

    def sync(self) -> None:
        """Append what the conversation gained since the last record (a snapshot when its
        sections changed or compaction rewrote it)."""
        if self.log is None:
            return
        conversation = self.conversation
        sections = (conversation.system, conversation.instructions, conversation.repo_map)
        shape = (*map(id, sections), id(conversation.task), conversation.compactions)
        if shape != self._shape or len(conversation.turns) < self._turns:
            self.log.append("conversation", map_strings(conversation.to_dict(), self.clean))
        elif len(conversation.turns) > self._turns:
            new = Conversation(turns=list(conversation.turns[self._turns :])).to_dict()["turns"]
            self.log.append("turns", {"items": map_strings(new, self.clean)})
        self._shape, self._turns = shape, len(conversation.turns)


@dataclass
class Recorded:
    """A session record read back (up to its first damaged line)."""

    ident: str
    path: Path
    start: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    conversation: dict[str, Any] | None = None
    damaged: bool = False
    """A line was cut short or altered: what follows it is not read."""

    @property
    def outcome(self) -> str:
        """The last run's outcome; `stopped` when the process ended without one."""
        finished = [e for e in self.events if e.get("type") == "finished"]
        return str(finished[-1]["outcome"]) if finished else "stopped"

    @property
    def cost_usd(self) -> float | None:
        """The cost of every run of the session (None: unknown)."""
        costs = [e.get("turn_cost_usd") for e in self.events if e.get("type") == "usage"]
        known = [c for c in costs if isinstance(c, int | float)]
        return sum(known) if known and len(known) == len(costs) else None

    @property
    def task(self) -> str:
        return str(self.start.get("task", ""))


def read(path: Path) -> Recorded:
    """A record read up to its first damaged line; UsageError when it has no start."""
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    whole, tail = lines[:-1], lines[-1]
    recorded: Recorded | None = None
    damaged = bool(tail)
    turns: list[dict[str, Any]] = []
    snapshot: dict[str, Any] | None = None
    for line in whole:
        entry = _parse(line)
        if entry is None:
            damaged = True
            break
        kind, data = entry
        if kind == "start" and recorded is None:
            recorded = Recorded(str(data.get("id", path.stem)), path, data)
        elif recorded is None:
            continue
        elif kind == "event":
            recorded.events.append(data)
        elif kind == "conversation":
            snapshot, turns = data, []
        elif kind == "turns":
            turns += list(data.get("items", []))
    if recorded is None:
        raise UsageError(f"{path}: not a readable session record")
    if snapshot is not None:
        recorded.conversation = {**snapshot, "turns": [*snapshot.get("turns", []), *turns]}
    recorded.damaged = damaged
    return recorded


def _parse(line: bytes) -> tuple[str, dict[str, Any]] | None:
    digest, _, payload = line.partition(b" ")
    if hashlib.sha256(payload).hexdigest()[:16].encode() != digest:
        return None
    try:
        entry = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
        return None
    return str(entry.get("kind")), entry["data"]


def all_sessions(root: Path) -> list[Recorded]:
    """Every readable session record of the repository, oldest first."""
    folder = sessions_dir(root)
    found = []
    for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        try:
            found.append(read(path))
        except (UsageError, OSError):
            continue
    return sorted(found, key=lambda r: float(r.start.get("created", 0)))


def find(root: Path, ident: str | None) -> Recorded:
    """The session `ident` (a unique prefix will do), or the latest; UsageError if none."""
    found = all_sessions(root)
    if ident is not None:
        found = [r for r in found if r.ident.startswith(ident)]
        if len(found) > 1:
            raise UsageError(f"session id {ident!r} is ambiguous: {len(found)} sessions match")
    if not found:
        what = f"no session {ident!r}" if ident else "no session"
        raise UsageError(f"{what} in this repository (see `coder sessions`)")
    return found[-1]
