"""Token and cost totals of a session, and the `usage` event of each turn."""

from __future__ import annotations

from collections.abc import Callable

from coder.conversation import TokenUsage
from coder.events import Usage


class Meter:
    """Adds up each turn's usage; prices it with `price` (None: not known)."""

    def __init__(self, price: Callable[[TokenUsage], float | None] = lambda usage: None) -> None:
        self.price = price
        self.prompt_tokens = self.completion_tokens = self.cached_tokens = 0
        self.reasoning_tokens = 0
        self.cost: float | None = None

    def add(self, turn: int, usage: TokenUsage) -> Usage:
        """Count one turn; returns its event."""
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_tokens += usage.cached_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        cost = self.price(usage)
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost
        return Usage(
            turn,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens,
            self.prompt_tokens,
            self.completion_tokens,
            self.cost,
            usage.reasoning_tokens,
        )
