"""Structured results that cross the seams: check runs, tool outcomes, sandbox state, models,
how a run ended.

Plain records, so the agent, the tools and the profiles decide on a status and a count,
never by reading text back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ToolStatus = Literal["ok", "error", "finish_refused", "finished"]


@dataclass(frozen=True)
class SandboxState:
    """What confines commands, as events and the run report show it."""

    mode: str
    backend: str
    """bubblewrap, or none."""
    network: bool
    program: str | None = None
    """The absolute path of the bubblewrap that confines commands (None when off)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form carried by events."""
        return {
            "mode": self.mode,
            "backend": self.backend,
            "network": self.network,
            "program": self.program,
        }

    def describe(self) -> str:
        """One line for people."""
        if self.mode == "off":
            return "off (commands run unconfined)"
        network = "network allowed" if self.network else "no network"
        return f"{self.mode} ({self.backend}, {network})"


@dataclass(frozen=True)
class CheckRun:
    """One check command's outcome."""

    command: str
    passed: bool
    exit_code: int
    output: str
    """Trimmed output, as shown to the model."""
    seconds: float
    sandbox: SandboxState | None = None
    """What confined the command."""
    failing: int | None = None
    """Failing tests the output names (None: it does not say); 0 when it passed."""
    tests: dict[str, str] | None = None
    """Per test: passed, failed, error or skipped (None: the runner does not say)."""
    phase: str = "check"
    """baseline (before any edit), check, or restored (the agent's test edits taken out)."""
    timed_out: bool = False
    """The command ran past its timeout and was killed."""


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call came to: a status, the text for the model, failing tests if known."""

    status: ToolStatus
    text: str
    failing: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the call did what was asked (a refused finish did not)."""
        return self.status in ("ok", "finished")


@dataclass(frozen=True)
class Sampling:
    """How a provider should sample the next answer (what it supports of it)."""

    temperature: float = 0.0
    top_k: int | None = None
    seed: int | None = None
    top_p: float = 1.0
    min_p: float = 0.0
    repeat_penalty: float = 1.0
    """1.0: none. Servers' defaults (llama.cpp 1.1) punish a model for copying the file it
    must rewrite."""
    max_tokens: int | None = None
    """Longest answer, in tokens (None: the provider's own limit)."""
    stop: tuple[str, ...] = ()
    """Texts that end the answer."""
    prefix: str = ""
    """The answer's first words, written for the model, which goes on from them (the
    embedded model; a provider that cannot prefill an answer ignores it)."""


@dataclass(frozen=True)
class ModelInfo:
    """What is known of a model: from its name, its server, or the embedded weights."""

    name: str
    parameters_b: float | None = None
    """Parameters in billions, when the server or the name says."""
    context_window: int | None = None
    """Tokens of context, when known."""
    source: str = ""
    """Where the figures came from, in words (for the profile's reason)."""


@dataclass(frozen=True)
class Outcome:
    """How a run ended."""

    status: str
    """passed, failed, budget_exhausted, interrupted or error."""
    exit_code: int
    summary: str
    turns: int
