"""The conversation: item types and an append-only list with named sections.

Order is fixed (system → repo map → task → turns…) and items are only appended, so each
request's prompt extends the previous one: that is what makes prefix caching and local KV
reuse work. Compaction is the one operation that rewrites history, and it lives here. All
state a provider or a profile keeps rides in the items (`UserText.data`,
`AssistantTurn.provider_items`), so a conversation written to disk (`to_dict`) and read back
(`from_dict`) carries on exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Section = Literal["system", "instructions", "repo_map", "task", "turns"]
TextKind = Literal["text", "hint", "steer", "retry", "state"]


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
    reasoning_tokens: int = 0
    """Completion tokens a reasoning model spent thinking (counted in completion_tokens)."""


@dataclass(frozen=True)
class SystemText:
    """The system prompt."""

    text: str
    role: Literal["system"] = "system"


@dataclass(frozen=True)
class UserText:
    """Text from the user side: the repo map, the task, check feedback, steering."""

    text: str
    kind: TextKind = "text"
    """What it is: text (the task, the map, a follow-up), hint (after an answer without a
    call), steer (the user's guidance), retry (a profile's message that stands for failed
    attempts), state (where the work stands, left by compaction)."""
    data: dict[str, Any] | None = None
    """A profile's record that travels with the item (e.g. the files a retry was built on)."""
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
    provider_items: tuple[dict[str, Any], ...] = ()
    """What the provider must send back with this turn (Responses reasoning items)."""
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True)
class ToolResultItem:
    """What a tool returned, answering the call with `call_id`."""

    call_id: str
    name: str
    output: str
    status: str = "ok"
    """ok, error, finish_refused or finished (coder.results.ToolStatus)."""
    failing: int | None = None
    """Failing tests, when the call ran the checks and their output says."""
    role: Literal["tool"] = "tool"


Item = SystemText | UserText | AssistantTurn | ToolResultItem


@dataclass(frozen=True)
class Compaction:
    """What one compaction removed."""

    items: int
    """Whole items dropped (old turns)."""
    characters: int
    """Characters removed in all."""


@dataclass
class Conversation:
    """Append-only conversation with named leading sections.

    `system`, `instructions` (the project's AGENTS.md and kin), `repo_map` and `task` are set
    once, in that order, before any turn; later
    items go to the turns list. `items()` is what providers send.
    """

    system: SystemText | None = None
    instructions: UserText | None = None
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
        return [*self.head(), *self.turns]

    def head(self) -> list[Item]:
        """The stable prefix: system prompt, project instructions, repo map and task."""
        head = (self.system, self.instructions, self.repo_map, self.task)
        return [x for x in head if x is not None]

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

    def drop_old_turns(self, keep_last: int, state: str) -> Compaction:
        """Drop every turn but the last `keep_last` model turns (with their results) and put
        `state` — where the work stands — in their place. The stable prefix is kept."""
        starts = [i for i, item in enumerate(self.turns) if isinstance(item, AssistantTurn)]
        if len(starts) <= keep_last:
            return Compaction(0, 0)
        cut = starts[len(starts) - keep_last] if keep_last else len(self.turns)
        old = self.turns[:cut]
        kept = [item for item in old if isinstance(item, UserText) and item.kind == "retry"][-1:]
        removed = sum(_size(item) for item in old) - sum(_size(item) for item in kept)
        note = UserText(state, kind="state")
        self.turns = [*kept, note, *self.turns[cut:]]
        self.compactions += 1
        return Compaction(len(old) - len(kept), max(removed - len(state), 0))

    def char_count(self) -> int:
        """Rough size of the conversation in characters (for budget estimates)."""
        return sum(_size(item) for item in self.items())

    # ---- on disk -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The conversation as plain JSON-able data."""
        return {
            "system": _item_dict(self.system),
            "instructions": _item_dict(self.instructions),
            "repo_map": _item_dict(self.repo_map),
            "task": _item_dict(self.task),
            "turns": [_item_dict(item) for item in self.turns],
            "compactions": self.compactions,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        """A conversation read back from `to_dict`'s data."""
        names = ("system", "instructions", "repo_map", "task")
        system, instructions, repo_map, task = (_item(data.get(k)) for k in names)
        return cls(
            system=system if isinstance(system, SystemText) else None,
            instructions=instructions if isinstance(instructions, UserText) else None,
            repo_map=repo_map if isinstance(repo_map, UserText) else None,
            task=task if isinstance(task, UserText) else None,
            turns=[item for item in map(_item, data.get("turns", [])) if item is not None],
            compactions=int(data.get("compactions", 0)),
        )


def _size(item: Item) -> int:
    if isinstance(item, ToolResultItem):
        return len(item.output)
    if isinstance(item, AssistantTurn):
        return len(item.text) + sum(len(str(c.arguments)) for c in item.tool_calls)
    return len(item.text)


def _item_dict(item: Item | None) -> dict[str, Any] | None:
    return None if item is None else asdict(item)


def _item(data: dict[str, Any] | None) -> Item | None:
    if not data:
        return None
    role = data.get("role")
    fields = {k: v for k, v in data.items() if k != "role"}
    if role == "system":
        return SystemText(**fields)
    if role == "user":
        return UserText(**fields)
    if role == "tool":
        return ToolResultItem(**fields)
    if role == "assistant":
        calls = tuple(ToolCall(**call) for call in fields.pop("tool_calls", []))
        usage = TokenUsage(**fields.pop("usage", {}))
        items = tuple(fields.pop("provider_items", ()))
        return AssistantTurn(tool_calls=calls, usage=usage, provider_items=items, **fields)
    return None


@dataclass(frozen=True)
class ToolSpec:
    """A tool as offered to the model: name, one-line description, JSON schema of arguments."""

    name: str
    description: str
    parameters: dict[str, Any]
