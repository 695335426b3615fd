"""The seams of the agent: Provider, Profile and EventSink (and `coder.approval.Approver`).

These are what contributors read first. The agent receives one of each through its
constructor and never builds them itself; it never knows who is watching (headless JSONL,
stderr progress, or the TUI), nor how large the model is: what differs for a small model
lives behind `Profile`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from coder.conversation import AssistantTurn, Conversation, ToolSpec, UserText
from coder.events import Event
from coder.results import CheckRun, ModelInfo, Sampling


class Provider(Protocol):
    """A model behind some wire format (Chat Completions, Responses, embedded llama.cpp)."""

    model: str
    """The model name shown to the user and in events."""
    context_window: int | None
    """Tokens the model takes in one request, when known (the agent compacts before it)."""

    def complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
        on_notice: Callable[[str], None] = lambda message: None,
        sampling: Sampling | None = None,
    ) -> AssistantTurn:
        """Send the whole conversation and return the model's next turn.

        `tools` are declared to the model natively (an empty list declares none). Streams
        text fragments to `on_delta` as they arrive, and says what the user should know
        while waiting (a retry after HTTP 429, its wait) to `on_notice`; follows what it
        supports of `sampling`. Tool calls come back parsed, whether the model made them
        natively or wrote them as `<tool_call>` text. Never changes `conversation`. Raises
        `ContextOverflow` when the conversation is too long for the model, and
        `ProviderError` when the model cannot be reached or keeps failing.
        """
        ...

    def model_info(self) -> ModelInfo:
        """What is known of the model (its size and context), asking its server if needed."""
        ...


@dataclass(frozen=True)
class View:
    """What the provider is sent for the next turn, and how to sample it."""

    conversation: Conversation
    sampling: Sampling | None = None
    native_tools: bool = True
    """Declare the tools natively (False: the system prompt describes them)."""


@dataclass(frozen=True)
class Refusal:
    """A profile's reaction to a `finish` the checks refused."""

    runs: list[CheckRun]
    """The checks' runs after the reaction (all passing: the run is finished after all)."""
    note: str = ""
    """What the reaction did, for the model (e.g. hunks taken back)."""
    follow_up: UserText | None = None
    """An item to append after the refusal (e.g. the small profile's retry message)."""


class Profile(Protocol):
    """Everything that depends on the model's size: the agent loop itself never does."""

    name: str
    """default or small."""
    tools: tuple[str, ...]
    """The registry tools offered to the model, by name."""
    prompt_variant: str | None
    """Prompt file variant (`system.small.md`…), None for the plain prompts."""
    repo_map_tokens: int
    """Budget of the repository map shown before the task."""
    shows_named_files: bool
    """Whether `head` already shows the files the task names (then an `@path` in the first
    task adds no second copy of them)."""

    def head(self, task: str, checks: str, tools: list[ToolSpec]) -> tuple[str, UserText]:
        """The system prompt and the task item that open a conversation."""
        ...

    def view(self, conversation: Conversation) -> View:
        """The conversation the provider sees next (never `conversation` changed in place)."""
        ...

    def interpret(
        self, turn: AssistantTurn, tools: list[ToolSpec], conversation: Conversation | None = None
    ) -> AssistantTurn:
        """The model's answer as tool calls (a small model's code blocks become edits; an
        answer the checks judge no better than the tree may come back with no calls)."""
        ...

    def no_calls(self, turn: AssistantTurn, conversation: Conversation) -> UserText:
        """What the model is told after an answer without a usable tool call."""
        ...

    def finish_refused(self, runs: list[CheckRun], conversation: Conversation) -> Refusal:
        """React to the checks refusing `finish` (narrow the edit, note the attempt, …)."""
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
