"""The only module that knows both worlds: agent-thread callbacks in, Textual messages out.

`TuiEventSink.emit` and `TuiApprover.review_diff` / `confirm_command` are called from the
agent's worker thread. Events cross into the app with `post_message` (thread-safe); streamed
fragments are buffered and announced by one `StreamReady` at a time, so a fast model never
floods the message queue. Approvals push a modal screen and block the worker on a
`concurrent.futures.Future` that the screen's dismiss callback resolves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from textual.message import Message

from coder import trust
from coder.approval import CommandDecision, DiffDecision
from coder.diff import Patch
from coder.events import AssistantDelta, Event, ToolOutput
from coder.policy import entries_to_remember, needs_asking
from coder.sinks import redact_event
from coder.textsafe import printable

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

APPROVAL_MODES = ("suggest", "auto-edit", "full-auto")
T = TypeVar("T")


class AgentEvent(Message):
    """An agent event was emitted: draw everything buffered up to and including it."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class StreamReady(Message):
    """Streamed fragments are waiting in the sink's buffer; drain them with `take_stream()`."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StreamReady)


@dataclass(frozen=True)
class Waiting:
    """The agent waits for the user's answer (True) or goes on (False); `ask` puts the
    question on screen once everything emitted before it has been drawn."""

    waiting: bool
    ask: Callable[[], None] | None = None


@dataclass(frozen=True)
class DiffApplied:
    """The review changed what is applied (hunks edited or left out): `diff` is that."""

    diff: str


Drawable = Event | Waiting | DiffApplied
"""What the sink's buffer holds, in the order it happened."""


class DrainStream(Message):
    """Time to draw the buffered fragments (posted by the batching timer)."""


class TuiEventSink:
    """EventSink that hands events to the app in one ordered buffer; deltas and live output
    are coalesced and drawn in batches, any other event is drawn at once (after everything
    emitted before it, never before it)."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._buffer: list[Drawable] = []
        self._announced = False
        self.fragments = 0
        """Model text fragments streamed so far (about one token each)."""

    def emit(self, event: Event) -> None:
        """Called from the agent thread; never blocks on the UI."""
        event = redact_event(event, printable)  # untrusted text is shown, never obeyed
        streamed = isinstance(event, (AssistantDelta, ToolOutput))
        if isinstance(event, AssistantDelta):
            self.fragments += 1
        with self._lock:
            self._buffer.append(event)
            announce = not self._announced
            self._announced = True
        if not streamed:
            self.app.post_message(AgentEvent(event))
        elif announce:
            self.app.post_message(StreamReady())

    def note(self, item: Waiting | DiffApplied) -> None:
        """Something the approver did, drawn in its place among the events (thread-safe)."""
        with self._lock:
            self._buffer.append(item)
            self._announced = True
        self.app.post_message(DrainStream())

    def take_stream(self) -> list[Drawable]:
        """Every event since the last call, in emission order, adjacent fragments of the
        same kind merged."""
        with self._lock:
            items, self._buffer, self._announced = self._buffer, [], False
        merged: list[Drawable] = []
        for item in items:
            last = merged[-1] if merged else None
            if isinstance(item, AssistantDelta) and isinstance(last, AssistantDelta):
                merged[-1] = AssistantDelta(last.text + item.text)
            elif (
                isinstance(item, ToolOutput)
                and isinstance(last, ToolOutput)
                and last.call_id == item.call_id
            ):
                merged[-1] = ToolOutput(item.call_id, last.text + item.text)
            else:
                merged.append(item)
        return merged


class TuiApprover:
    """Approver whose answer depends on the approval mode; asks through modal screens.

    suggest: every diff asks, and every command not on the allow-list. auto-edit: diffs
    apply, commands ask unless allow-listed. full-auto: nothing asks (the sandbox confines).
    The allow-list is the configured `allowed-commands` plus what the user chose to always
    allow in this repository (remembered under ~/.config/coder/).
    """

    def __init__(
        self,
        app: App[Any],
        mode: str,
        allowed_commands: tuple[str, ...] = (),
        repo: Any = None,
        sink: TuiEventSink | None = None,
    ) -> None:
        if mode not in APPROVAL_MODES:
            raise ValueError(f"unknown approval mode {mode!r}")
        self.app = app
        self.mode = mode
        self.repo = repo
        self.sink = sink
        remembered = trust.remembered_commands(repo) if repo is not None else ()
        self.allowed_commands = (*allowed_commands, *remembered)
        self._waiting: dict[Future[Any], Any] = {}
        self._lock = threading.Lock()

    def cycle(self) -> str:
        """Switch to the next approval mode and return it."""
        self.mode = APPROVAL_MODES[(APPROVAL_MODES.index(self.mode) + 1) % len(APPROVAL_MODES)]
        return self.mode

    def review_diff(self, patch: Patch) -> DiffDecision:
        """Approve everything unless in suggest mode; otherwise ask hunk by hunk."""
        if self.mode != "suggest":
            return DiffDecision(approved_hunks=None)
        from coder.tui.screens.review import ReviewScreen

        cancelled = DiffDecision(frozenset(), comment="The user stopped the review.")
        decision = self._ask(lambda: ReviewScreen(patch, self.repo), cancelled)
        applied = applied_diff(patch, decision)
        if applied is not None and self.sink is not None:
            self.sink.note(DiffApplied(applied))
        return decision

    def confirm_command(self, command: str) -> CommandDecision:
        """Run without asking in full-auto or when allow-listed; else ask."""
        if not needs_asking(self.mode, command, self.allowed_commands):
            return CommandDecision(True)
        from coder.tui.screens.confirm import CommandScreen

        cancelled = CommandDecision(False, "The user stopped the run.")
        remember = entries_to_remember(command, self.allowed_commands) if self.repo else []
        decision = self._ask(lambda: CommandScreen(command, remember), cancelled)
        if decision.approved and decision.always:
            trust.remember_commands(self.repo, list(decision.always))
            self.allowed_commands = (*self.allowed_commands, *decision.always)
        return decision

    def cancel_pending(self) -> None:
        """Answer every open question with its 'cancelled' decision (on quit or interrupt)."""
        with self._lock:
            waiting = list(self._waiting.items())
        for future, cancelled in waiting:
            if not future.done():
                future.set_result(cancelled)

    def _ask(self, make_screen: Callable[[], Screen[T]], cancelled: T) -> T:
        future: Future[T] = Future()
        with self._lock:
            self._waiting[future] = cancelled
        try:

            def push() -> None:
                def resolve(result: T | None) -> None:
                    if not future.done():
                        future.set_result(cancelled if result is None else result)

                self.app.push_screen(make_screen(), callback=resolve)

            if self.sink is not None:  # the question opens after what came before it
                self.sink.note(Waiting(True, push))
            else:
                self.app.call_from_thread(push)
            return future.result()
        finally:
            if self.sink is not None:
                self.sink.note(Waiting(False))
            with self._lock:
                self._waiting.pop(future, None)


def applied_diff(patch: Patch, decision: DiffDecision) -> str | None:
    """What a review leaves to apply when it is not the whole proposal; None when it is
    (or when nothing is applied)."""
    if decision.edited_diff is not None:
        return decision.edited_diff
    chosen = decision.approved_hunks
    if chosen is None or not chosen:
        return None
    from coder.tui.screens.review import file_header

    parts: list[str] = []
    index = 0
    for fp in patch.files:
        texts = [h.text() for i, h in enumerate(fp.hunks, index) if i in chosen]
        index += len(fp.hunks)
        if texts:
            parts.append(file_header(fp) + "".join(texts))
    return "".join(parts)
