"""The conversation: item types and an append-only list with named sections.

Order is fixed (system → repo map → task → turns…) and items are only appended, so each
request's prompt extends the previous one: that is what makes prefix caching and local KV
reuse work. Compaction is the one operation that rewrites history, and it lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Section = Literal["system", "repo_map", "task", "turns"]


@dataclass(frozen=True)
class ToolCall:
    """A tool call requested by the model."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one model response."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens served from a cache (provider prompt cache or local KV reuse)."""


@dataclass(frozen=True)
class SystemText:
    """The system prompt."""

    text: str
    role: Literal["system"] = "system"


@dataclass(frozen=True)
class UserText:
    """Text from the user side: the repo map, the task, check feedback, steering."""

    text: str
    role: Literal["user"] = "user"


@dataclass(frozen=True)
class AssistantTurn:
    """One model response, whatever the wire format: text plus tool calls plus usage."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: TokenUsage = field(default_factory=TokenUsage)
    calls_in_text: bool = False
    """True when the tool calls were parsed from `text` (no native tool calling): the
    provider then sends this turn back as plain text and its results as user messages."""
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True)
class ToolResultItem:
    """What a tool returned, answering the call with `call_id`."""

    call_id: str
    name: str
    output: str
    role: Literal["tool"] = "tool"


Item = SystemText | UserText | AssistantTurn | ToolResultItem


@dataclass
class Conversation:
    """Append-only conversation with named leading sections.

    `system`, `repo_map` and `task` are set once, in that order, before any turn; later
    items go to the turns list. `items()` is what providers send.
    """

    system: SystemText | None = None
    repo_map: UserText | None = None
    task: UserText | None = None
    turns: list[Item] = field(default_factory=list)
    compactions: int = 0
    clean: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    """Applied to every text that enters (never to the model's own turns): secrets are
    redacted and undecodable bytes escaped before anything can be sent to a model."""

    def set_section(self, section: Section, item: SystemText | UserText) -> None:
        """Set a leading section; refused once turns exist, since it would break the prefix."""
        if section == "turns":
            raise ValueError("use append() for turns")
        if self.turns:
            raise ValueError(f"cannot set {section} after turns have started")
        setattr(self, section, self._clean(item))

    def append(self, item: Item) -> None:
        """Append one item to the turns."""
        self.turns.append(self._clean(item))

    def _clean(self, item: Any) -> Any:
        if self.clean is None or isinstance(item, AssistantTurn):
            return item
        if isinstance(item, ToolResultItem):
            cleaned = self.clean(item.output)
            return item if cleaned == item.output else replace(item, output=cleaned)
        cleaned = self.clean(item.text)
        return item if cleaned == item.text else replace(item, text=cleaned)

    def items(self) -> list[Item]:
        """All items in the order sent to the model."""
        head = [x for x in (self.system, self.repo_map, self.task) if x is not None]
        return [*head, *self.turns]

    def last_assistant(self) -> AssistantTurn | None:
        """The most recent model turn, if any."""
        for item in reversed(self.turns):
            if isinstance(item, AssistantTurn):
                return item
        return None

    def compact(self, keep_last: int = 6, max_chars: int = 300) -> int:
        """Shorten old tool outputs, keeping the last `keep_last` turns whole.

        Returns how many characters were removed. This rewrites history, so it breaks the
        cached prefix once; callers do it only when the context would otherwise overflow.
        """
        removed = 0
        cutoff = max(0, len(self.turns) - keep_last)
        for index, item in enumerate(self.turns[:cutoff]):
            if isinstance(item, ToolResultItem) and len(item.output) > max_chars:
                short = item.output[:max_chars] + "\n[… output elided to save context]"
                removed += len(item.output) - len(short)
                self.turns[index] = replace(item, output=short)
        if removed:
            self.compactions += 1
        return removed

    def char_count(self) -> int:
        """Rough size of the conversation in characters (for budget estimates)."""
        total = 0
        for item in self.items():
            if isinstance(item, ToolResultItem):
                total += len(item.output)
            elif isinstance(item, AssistantTurn):
                total += len(item.text) + sum(len(str(c.arguments)) for c in item.tool_calls)
            else:
                total += len(item.text)
        return total


@dataclass(frozen=True)
class ToolSpec:
    """A tool as offered to the model: name, one-line description, JSON schema of arguments."""

    name: str
    description: str
    parameters: dict[str, Any]
