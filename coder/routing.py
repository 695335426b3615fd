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
from coder.events import Event, ToolResult
from coder.protocols import Provider
from coder.results import ModelInfo, Sampling

EFFORTS = ("low", "medium", "high")
ESCALATE_AFTER = 2
"""Failing check results in a row (refused finishes, failing run_checks) before escalating."""
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
        """The current rung's answer (its reasoning effort set for the call)."""
        step = self.steps[self.index]
        if step.effort is not None:
            step.provider.reasoning_effort = step.effort  # type: ignore[attr-defined]
        return step.provider.complete(conversation, tools, on_delta, on_notice, sampling)

    def model_info(self) -> ModelInfo:
        """What is known of the first rung's model (it decides the profile)."""
        return self.steps[0].provider.model_info()

    def emit(self, event: Event) -> None:
        """Count failing check results in a row; climb a rung after `ESCALATE_AFTER`."""
        if not isinstance(event, ToolResult) or event.name not in ("finish", "run_checks"):
            return
        failed = event.status == "finish_refused" or (
            event.name == "run_checks" and bool(event.failing)
        )
        self._failures = self._failures + 1 if failed else 0
        if self._failures >= ESCALATE_AFTER and self.index + 1 < len(self.steps):
            before = self.steps[self.index].label
            self.index += 1
            self._failures = 0
            self.notify(
                f"routing: the checks failed {ESCALATE_AFTER} times in a row, so "
                f"{self.steps[self.index].label} takes over from {before}"
            )
