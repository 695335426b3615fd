"""The seams of the agent: Provider, Approver and EventSink.

These are what contributors read first. The agent receives one of each through its
constructor and never builds them itself; it never knows who is watching (headless JSONL,
stderr progress, or the TUI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from coder.conversation import AssistantTurn, Conversation, ToolSpec
from coder.events import Event


class Provider(Protocol):
    """A model behind some wire format (Chat Completions, Responses, embedded llama.cpp)."""

    model: str
    """The model name shown to the user and in events."""

    def complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
        on_notice: Callable[[str], None] = lambda message: None,
    ) -> AssistantTurn:
        """Send the whole conversation and return the model's next turn.

        Streams text fragments to `on_delta` as they arrive, and says what the user should
        know while waiting (a retry after HTTP 429, its wait) to `on_notice`. Tool calls
        come back parsed, whether the model made them natively or wrote them as text.
        Never changes `conversation`. Raises `ContextOverflow` when the endpoint says the
        conversation is too long, and `ProviderError` when the model cannot be reached or
        keeps failing.
        """
        ...


@dataclass(frozen=True)
class DiffDecision:
    """The user's answer to a proposed diff."""

    approved_hunks: frozenset[int] | None
    """Indices (in diff order, 0-based across files) of hunks to apply; None means all."""
    edited_diff: str | None = None
    """When the user edited the diff, the text to apply instead (all of it is applied)."""
    comment: str = ""
    """Feedback for the model (why hunks were rejected, what to do instead)."""
    edited_hunks: frozenset[int] = field(default_factory=frozenset)
    """Indices of hunks the user changed before approving."""


@dataclass(frozen=True)
class CommandDecision:
    """The user's answer to a proposed shell command."""

    approved: bool
    comment: str = ""
    always: tuple[str, ...] = ()
    """Allow-list entries the user chose to remember for this repository ("always allow")."""


class Approver(Protocol):
    """Decides whether a diff or a command may run; the approval mode lives behind this."""

    def review_diff(self, diff: str) -> DiffDecision:
        """Review a unified diff the model wants to apply; return which hunks to apply."""
        ...

    def confirm_command(self, command: str) -> CommandDecision:
        """Confirm a shell command the model wants to run in the working tree."""
        ...


class EventSink(Protocol):
    """Receives every event the agent emits (JSONL writer, progress printer, TUI bridge)."""

    def emit(self, event: Event) -> None:
        """Handle one event; must not block the agent for long."""
        ...


class FanOutSink:
    """An EventSink that forwards each event to several sinks, in order."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = list(sinks)

    def emit(self, event: Event) -> None:
        """Forward `event` to every sink."""
        for sink in self.sinks:
            sink.emit(event)
