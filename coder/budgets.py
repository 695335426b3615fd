"""The budgets of a run beside its turn count: wall-clock time, tokens and cost.

No model call starts past the time budget or when it would cross the token or cost budget,
and a call running into the time budget is cut there; each ends the run as
`BudgetExhausted`, with the reason as its summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from coder.errors import BudgetExhausted
from coder.meter import Meter


@dataclass(frozen=True)
class Budgets:
    """A run's limits (None: none)."""

    time_s: float | None = None
    max_cost: float | None = None
    max_tokens: int | None = None

    def deadline(self) -> float | None:
        """`time.monotonic()` at which a run started now must stop."""
        return None if self.time_s is None else time.monotonic() + self.time_s

    def before_call(self, left: float | None, meter: Meter, next_prompt: int) -> None:
        """Raise BudgetExhausted when the next model call must not start."""
        if left is not None and left <= 0:
            raise self.time_spent()
        over = meter.over_budget(next_prompt, self.max_cost, self.max_tokens)
        if over:
            raise BudgetExhausted(over)

    def call_limit(
        self, left: float | None, model_timeout_s: float
    ) -> tuple[float, Callable[[], BaseException] | None]:
        """How long the next call may take, and what ends the run when it takes longer
        (None: the model timeout's own error)."""
        if left is None or left >= model_timeout_s:
            return model_timeout_s, None
        return left, self.time_spent

    def time_spent(self) -> BudgetExhausted:
        """The end of a run that ran out of time."""
        return BudgetExhausted(f"Time budget of {self.time_s:.0f} s spent.")
