"""Cost and context-window lookups from the models.json price table."""

from __future__ import annotations

import pytest

from coder.conversation import TokenUsage
from coder.providers.usage import context_window, cost_usd, model_table


def test_cost_charges_cached_prompt_tokens_at_the_cached_rate() -> None:
    # gpt-4.1: $2 input, $0.50 cached input, $8 output per 1M tokens.
    usage = TokenUsage(prompt_tokens=1_000_000, completion_tokens=500_000, cached_tokens=400_000)
    assert cost_usd("gpt-4.1", usage) == pytest.approx(0.6 * 2 + 0.4 * 0.5 + 0.5 * 8)


def test_cost_without_cache_is_input_plus_output() -> None:
    usage = TokenUsage(prompt_tokens=10_000, completion_tokens=1_000)
    assert cost_usd("gpt-4o-mini", usage) == pytest.approx((10_000 * 0.15 + 1_000 * 0.6) / 1e6)


def test_dated_snapshot_and_prefixed_names_use_the_base_model_prices() -> None:
    usage = TokenUsage(prompt_tokens=1000, completion_tokens=100)
    assert cost_usd("gpt-4.1-mini-2025-04-14", usage) == cost_usd("gpt-4.1-mini", usage)
    assert cost_usd("openai/gpt-4.1-mini", usage) == cost_usd("gpt-4.1-mini", usage)


def test_unknown_model_has_no_cost_and_no_context_window() -> None:
    assert cost_usd("my-local-llama", TokenUsage(prompt_tokens=5)) is None
    assert context_window("my-local-llama") is None


def test_similar_name_is_not_matched_by_prefix() -> None:
    assert cost_usd("gpt-4.1-mega", TokenUsage(prompt_tokens=5)) is None


def test_context_window_of_known_models() -> None:
    assert context_window("gpt-4.1") == 1_047_576
    assert context_window("gpt-4o") == 128_000


def test_every_table_entry_has_prices_and_a_context_window() -> None:
    for name, info in model_table().items():
        assert {"input", "cached_input", "output", "context_window"} <= set(info), name
        assert info["cached_input"] <= info["input"], name
        assert isinstance(info["context_window"], int) and info["context_window"] > 0, name
