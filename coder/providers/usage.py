"""Token usage → cost in USD and model context windows, read from the `models.json` table.

Prices are data, not code: edit `models.json` to add a model or follow a price change.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from coder.conversation import TokenUsage

_DATE_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


@lru_cache(maxsize=1)
def model_table() -> dict[str, dict[str, Any]]:
    """The `models` table of models.json: name → prices per 1M tokens and context window."""
    text = resources.files("coder.providers").joinpath("models.json").read_text("utf-8")
    return dict(json.loads(text)["models"])


def model_info(
    model: str, prices: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """The table entry for `model` (the user's `prices` first), matched exactly, then without
    an `openai/` prefix or a `-YYYY-MM-DD` snapshot suffix; None for unknown models."""
    table = {**model_table(), **(prices or {})}
    name = model.strip()
    for candidate in (name, name.removeprefix("openai/")):
        for key in (candidate, _DATE_SUFFIX.sub("", candidate)):
            if key in table:
                return table[key]
    return None


def cost_usd(
    model: str, usage: TokenUsage, prices: dict[str, dict[str, Any]] | None = None
) -> float | None:
    """What `usage` cost on `model` in USD: cached prompt tokens at the cached rate,
    reasoning tokens (part of the completion) at the output rate; None when the model's
    prices are unknown."""
    info = model_info(model, prices)
    if info is None:
        return None
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    fresh = usage.prompt_tokens - cached
    cached_rate = info.get("cached_input", info["input"])
    total = fresh * info["input"] + cached * cached_rate + usage.completion_tokens * info["output"]
    return total / 1_000_000


def context_window(model: str) -> int | None:
    """The model's context window in tokens, or None when unknown."""
    info = model_info(model)
    return None if info is None or "context_window" not in info else int(info["context_window"])
