"""Token and cost totals of a session, and the `usage` event of each turn."""

from __future__ import annotations

from collections.abc import Callable

from coder.conversation import TokenUsage
from coder.events import Usage

DEFAULT_ANSWER_TOKENS = 1024
"""The answer a budget counts on before any answer has come."""


class Meter:
    """Adds up each turn's usage; prices it with `price` (None: not known)."""

    def __init__(self, price: Callable[[TokenUsage], float | None] = lambda usage: None) -> None:
        self.price = price
        self.prompt_tokens = self.completion_tokens = self.cached_tokens = 0
        self.reasoning_tokens = 0
        self.cost: float | None = None
        self.last_prompt = 0
        self.largest_completion = 0
        self.turns_by_model: dict[str, int] = {}
        """Model name → turns it answered (routing may switch models)."""

    def add(self, turn: int, usage: TokenUsage, model: str = "") -> Usage:
        """Count one turn; returns its event."""
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_tokens += usage.cached_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        self.last_prompt = usage.prompt_tokens
        self.largest_completion = max(self.largest_completion, usage.completion_tokens)
        if model:
            self.turns_by_model[model] = self.turns_by_model.get(model, 0) + 1
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
            cost,
            model,
        )

    def over_budget(
        self, next_prompt: int, max_cost: float | None, max_tokens: int | None
    ) -> str | None:
        """Why the next model call (about `next_prompt` prompt tokens) must not start: it
        would cross `max_tokens` or `max_cost`, counting an answer as long as the longest so
        far (1,024 tokens before any) and the last prompt as cached; None when it may. The
        conversation only grows, so the next prompt is no shorter than the last one."""
        next_prompt = max(next_prompt, self.last_prompt)
        answer = self.largest_completion or DEFAULT_ANSWER_TOKENS
        used = self.prompt_tokens + self.completion_tokens
        if max_tokens is not None and used + next_prompt + answer > max_tokens:
            return (
                f"Token budget of {max_tokens:,} reached: {used:,} used, the next call would "
                f"take about {next_prompt + answer:,}."
            )
        if max_cost is not None:
            cached = min(self.last_prompt, next_prompt)
            price = self.price(TokenUsage(next_prompt, answer, cached))
            spent = self.cost or 0.0
            if price is not None and spent + price > max_cost:
                return (
                    f"Cost budget of ${max_cost:.2f} reached: ${spent:.4f} spent, the next call "
                    f"would cost about ${price:.4f}."
                )
        return None
