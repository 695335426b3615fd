"""How a small model's answers fit the time budget: each answer is timed, the next starts
only when a typical one fits in what is left, and its length is capped to the time left.

On a CPU one answer of a 1.5B model takes half a minute or more; one cut off by the time
budget is wasted, while a shorter cap still leaves room for a whole small file.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable

from coder.errors import BudgetExhausted

MAX_ANSWER_TOKENS = 2048
"""A whole fixed file fits; a runaway answer does not cost minutes on a CPU."""
MIN_ANSWER_CAP = 1024
CHARS_PER_TOKEN = 3
"""Fewer than code averages (about 3.5): an estimate that errs towards longer answers."""
PLAN_SHARE = 0.6
"""Another answer starts only when at least this share of a typical answer's time is left."""


class TimePlan:
    """The answers' timings so far, and what the next may take."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        """How long each answer took, first to last."""
        self.rates: list[float] = []
        """Completion tokens per second of each answer (prefill included: conservative)."""
        self._asked_at = 0.0

    def asked(self) -> None:
        """An answer is being asked for now."""
        self._asked_at = time.monotonic()

    def answered(self, completion_tokens: int) -> None:
        """The answer asked for last has come, with this many tokens."""
        if not self._asked_at:
            return
        seconds = time.monotonic() - self._asked_at
        self._asked_at = 0.0
        self.seconds.append(seconds)
        if completion_tokens and seconds > 0:
            self.rates.append(completion_tokens / seconds)

    def max_tokens(self, left: float | None, check_seconds: float) -> int:
        """The longest answer that fits `left` seconds (None: no budget) with the checks
        after it; BudgetExhausted when a typical answer would be cut by the budget. The
        first answer (a long prefill) counts half: the later ones reuse its cache."""
        if left is None or not self.seconds:
            return MAX_ANSWER_TOKENS
        later = self.seconds[1:] or [self.seconds[0] / 2]
        typical = statistics.median(later) + check_seconds
        if left < typical * PLAN_SHARE:
            raise BudgetExhausted(
                f"Time budget: {left:.0f} s left, an answer takes about {typical:.0f} s."
            )
        if not self.rates:
            return MAX_ANSWER_TOKENS
        rate = statistics.median(self.rates)
        return max(64, min(MAX_ANSWER_TOKENS, int((left - check_seconds - 2) * rate)))


def answer_cap(sources: Iterable[str]) -> int:
    """The longest answer worth waiting for: room to rewrite the largest source file twice
    over, with a few lines of prose. A small model's longer answers are runaways (one
    sentence over and over, a table that never ends), which on a CPU cost minutes."""
    largest = max((len(text) for text in sources), default=0) // CHARS_PER_TOKEN
    return min(MAX_ANSWER_TOKENS, max(MIN_ANSWER_CAP, 2 * largest + 256))
