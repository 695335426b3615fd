"""Routing between a cheap and a strong model: `--weak-model` for the first attempts, and
`--route auto` escalating while the checks keep failing — first the reasoning effort (low →
medium → high, for models that take one), then from the weak model to the strong one.

A `Router` is a Provider (the agent sees one model at a time: `model` is the one that will
answer next, so each turn is priced and reported as its own model's) and an EventSink (it
learns of failing checks from the events, as anyone watching would). The agent itself never
knows it is being routed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from coder.conversation import AssistantTurn, Conversation, ToolSpec
from coder.events import CheckResult, Event, ToolResult
from coder.protocols import Provider
from coder.results import ModelInfo, Sampling

EFFORTS = ("low", "medium", "high")
ESCALATE_AFTER = 2
"""Failed turns in a row before escalating: turns whose last verdict was a failing check
(a candidate judged in the sandbox, a refused finish, a failing run_checks)."""
_JUDGING_PHASES = ("candidate", "check")
_REASONING_MODEL = re.compile(r"^(openai/)?(o\d|gpt-5|codex)")


@dataclass(frozen=True)
class Step:
    """One rung of the ladder: a provider and the reasoning effort it is asked for."""

    provider: Provider
    effort: str | None

    @property
    def label(self) -> str:
        return self.provider.model + (f" (reasoning effort {self.effort})" if self.effort else "")


def ladder(weak: Provider | None, strong: Provider, effort: str | None) -> list[Step]:
    """The rungs, cheapest first: each model at each effort it takes (from `effort` up, or
    from low), the weak model's before the strong one's."""
    steps = []
    for provider in ([weak] if weak is not None else []) + [strong]:
        if hasattr(provider, "reasoning_effort") and _REASONING_MODEL.match(provider.model):
            start = EFFORTS.index(effort) if effort in EFFORTS else 0
            steps += [Step(provider, level) for level in EFFORTS[start:]]
        else:
            steps.append(Step(provider, None))
    return steps


class Router:
    """A Provider that answers with the current rung and climbs on failing checks."""

    def __init__(self, steps: list[Step], notify: Callable[[str], None]) -> None:
        self.steps = steps
        self.notify = notify
        self.index = 0
        self._failures = 0
        self._turn_failed: bool | None = None
        """The verdict of the turn being answered: None while no check has judged it."""
        self.local_first = False
        """The first rung is the embedded model (the profile is chosen for it)."""
        windows = [s.provider.context_window for s in steps if s.provider.context_window]
        self.context_window = min(windows) if windows else None

    @property
    def model(self) -> str:
        """The model that answers the next turn."""
        return self.steps[self.index].provider.model

    @model.setter
    def model(self, name: str) -> None:
        self.steps[self.index].provider.model = name

    def complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
        on_notice: Callable[[str], None] = lambda message: None,
        sampling: Sampling | None = None,
    ) -> AssistantTurn:
        """The current rung's answer (its reasoning effort set for the call), after climbing
        a rung if the turns before it kept failing."""
        self._close_turn()
        step = self.steps[self.index]
        if step.effort is not None:
            step.provider.reasoning_effort = step.effort  # type: ignore[attr-defined]
        return step.provider.complete(conversation, tools, on_delta, on_notice, sampling)

    def model_info(self) -> ModelInfo:
        """What is known of the first rung's model (it decides the profile)."""
        return self.steps[0].provider.model_info()

    def emit(self, event: Event) -> None:
        """Note the verdict of the current turn: its last judging check decides."""
        if isinstance(event, CheckResult) and event.phase in _JUDGING_PHASES:
            self._turn_failed = not event.passed
        elif isinstance(event, ToolResult) and event.name in ("finish", "run_checks"):
            if event.status == "finish_refused" or event.failing:
                self._turn_failed = True

    def _close_turn(self) -> None:
        """Count the finished turn (a turn no check judged counts neither way); climb a rung
        after `ESCALATE_AFTER` failed ones in a row."""
        if self._turn_failed is not None:
            self._failures = self._failures + 1 if self._turn_failed else 0
        self._turn_failed = None
        if self._failures >= ESCALATE_AFTER and self.index + 1 < len(self.steps):
            before = self.steps[self.index].label
            self.index += 1
            self._failures = 0
            self.notify(
                f"routing: {ESCALATE_AFTER} turns in a row failed the checks, so "
                f"{self.steps[self.index].label} takes over from {before}"
            )
