"""The typed event vocabulary shared by the agent, the JSON Lines output and the TUI.

The agent emits these through an `EventSink`; faces only render them. `to_json()` is the
JSON Lines form: every line has `type` and `ts` (Unix seconds, float).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = 1
"""The JSON Lines schema version; every event's JSON Schema ships in coder/schemas/."""


def _now() -> float:
    return round(time.time(), 3)


@dataclass(frozen=True)
class Event:
    """Base of all events; subclasses set a `type` literal."""

    def to_dict(self) -> dict[str, Any]:
        """The event as a plain dict, `type` first."""
        data = asdict(self)
        return {"type": data.pop("type"), **data}

    def to_json(self) -> str:
        """One JSON Lines line (no trailing newline)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass(frozen=True)
class SessionStarted(Event):
    """A run began: what is being worked on, with which model and checks."""

    task: str
    repo: str
    model: str
    provider: str
    checks: list[str]
    checks_source: str
    """Where the check commands came from: "flag", "config" or "detected: <why>"."""
    checkpoint: str | None = None
    schema_version: int = SCHEMA_VERSION
    """Version of the event schema (coder/schemas/*.json); bumped on incompatible changes."""
    sandbox: dict[str, Any] | None = None
    """What confines commands: {"mode", "backend", "network", "program"} (bwrap's path)."""
    profile: str = "default"
    """The model-size profile: default or small."""
    profile_reason: str = ""
    """Why that profile (a flag, the embedded model, the model's size)."""
    instructions: list[str] = field(default_factory=list)
    """The project instructions read into the prompt (AGENTS.md, …), in precedence order."""
    type: Literal["session_started"] = "session_started"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class AssistantDelta(Event):
    """A streamed fragment of the model's text."""

    text: str
    type: Literal["assistant_delta"] = "assistant_delta"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class AssistantMessage(Event):
    """The model's complete text for one turn (may be empty when it only calls tools)."""

    text: str
    turn: int
    type: Literal["assistant_message"] = "assistant_message"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class ToolCalled(Event):
    """The model called a tool."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    type: Literal["tool_called"] = "tool_called"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class ToolOutput(Event):
    """Live output from a running tool (a command's stdout/stderr chunk)."""

    call_id: str
    text: str
    type: Literal["tool_output"] = "tool_output"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class ToolResult(Event):
    """What a tool returned to the model."""

    call_id: str
    name: str
    ok: bool
    output: str
    sandbox: dict[str, Any] | None = None
    """Set when the call ran a command: what confined it."""
    status: str = "ok"
    """ok, error, finish_refused or finished."""
    failing: int | None = None
    """Failing tests, when the call ran the checks and their output says."""
    type: Literal["tool_result"] = "tool_result"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class CheckResult(Event):
    """One check command ran."""

    command: str
    passed: bool
    exit_code: int
    output: str
    """Trimmed output (the failing part), as sent to the model."""
    seconds: float
    sandbox: dict[str, Any] | None = None
    """What confined the check command."""
    phase: str = "check"
    """baseline (before any edit), check, or restored (the agent's test edits taken out)."""
    tests: dict[str, int] | None = None
    """Per-test counts (passed, failed, error, skipped) when the runner reports them."""
    type: Literal["check_result"] = "check_result"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class Usage(Event):
    """Token use of one model turn and the session so far."""

    turn: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    total_prompt_tokens: int
    total_completion_tokens: int
    cost_usd: float | None
    """The session's cost so far (None: a model's price is unknown)."""
    reasoning_tokens: int = 0
    turn_cost_usd: float | None = None
    """What this turn cost (None: its model's price is unknown)."""
    model: str = ""
    """The model that answered this turn."""
    type: Literal["usage"] = "usage"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class Plan(Event):
    """The model's plan, as it last updated it."""

    steps: list[dict[str, str]]
    """Each {"step": text, "status": pending | in_progress | done}, in order."""
    type: Literal["plan"] = "plan"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class Compacted(Event):
    """Old turns gave way to a note of where the work stands, to fit the context window."""

    dropped_items: int
    removed_characters: int
    context_window: int | None
    type: Literal["compacted"] = "compacted"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should know that is not part of the conversation."""

    message: str
    level: Literal["info", "warning"] = "info"
    type: Literal["notice"] = "notice"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class Report(Event):
    """The run report (coder.report.RunReport.to_dict): changes, proof, tokens, cost."""

    report: dict[str, Any]
    line: str = ""
    """The short summary, for a terminal."""
    type: Literal["report"] = "report"
    ts: float = field(default_factory=_now)


@dataclass(frozen=True)
class Finished(Event):
    """The run ended. `outcome` is one of: passed, failed, budget_exhausted, interrupted, error."""

    outcome: str
    exit_code: int
    summary: str
    turns: int
    type: Literal["finished"] = "finished"
    ts: float = field(default_factory=_now)
