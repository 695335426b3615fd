"""Cost: priced from the usage the provider reports (cached input and reasoning tokens
included) with the shipped table or the user's prices, and capped: `--max-cost` and
`--max-tokens` stop the run before the model call that would cross them.

Real `coder run` subprocesses against the scripted server over real HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.runs import coder_run, events

USAGE = {"prompt_tokens": 10_000, "cached_tokens": 6_000, "completion_tokens": 2_000}
LOOK = {
    "text": "Looking.",
    "tool_calls": [{"name": "list_files", "arguments": {}}],
    "usage": {**USAGE, "reasoning_tokens": 500},
}
# gpt-5.5: $5.00 input, $0.50 cached input, $30.00 output per 1M tokens (reasoning is output)
TURN_COST = (4_000 * 5.00 + 6_000 * 0.50 + 2_000 * 30.00) / 1_000_000


def _usage(proc: Any) -> list[dict[str, Any]]:
    return [e for e in events(proc) if e["type"] == "usage"]


def test_each_turn_is_priced_exactly_from_its_reported_usage(
    repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([LOOK, {**LOOK, "repeat": True}])
    proc = coder_run(
        repo, server.base_url, "--model", "gpt-5.5", "--max-turns", "2", "--check", "true"
    )

    turns = _usage(proc)
    assert [t["model"] for t in turns] == ["gpt-5.5", "gpt-5.5"]
    assert [t["turn_cost_usd"] for t in turns] == pytest.approx([TURN_COST, TURN_COST])
    assert turns[-1]["cost_usd"] == pytest.approx(2 * TURN_COST)
    report = events(proc)[-1]["report"]
    assert report["cost_usd"] == pytest.approx(2 * TURN_COST)
    assert report["tokens"] == {
        "prompt": 20_000,
        "cached": 12_000,
        "completion": 4_000,
        "reasoning": 1_000,
    }


def test_max_cost_stops_before_the_call_that_would_cross_it(
    repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([{**LOOK, "repeat": True}])
    budget = 2.5 * TURN_COST  # two turns fit, a third would cross it
    proc = coder_run(repo, server.base_url, "--model", "gpt-5.5", "--max-cost", str(budget))

    assert proc.returncode == 1, proc.stderr
    assert len(server.received) == 2
    finished = [e for e in events(proc) if e["type"] == "finished"][-1]
    assert finished["outcome"] == "budget_exhausted"
    assert finished["summary"].startswith(f"Cost budget of ${budget:.2f} reached")
    assert events(proc)[-1]["report"]["cost_usd"] <= budget


def test_max_tokens_stops_before_the_call_that_would_cross_it(
    repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([{**LOOK, "repeat": True}])
    proc = coder_run(repo, server.base_url, "--max-tokens", "30000")

    assert proc.returncode == 1, proc.stderr
    assert len(server.received) == 2  # 24,000 used: a third call of 12,000 would cross it
    assert "Token budget of 30,000 reached" in proc.stderr


def test_the_users_prices_extend_the_table_and_an_unknown_price_refuses_max_cost(
    repo: Path, scripted_server: Any, tmp_path: Path
) -> None:
    server = scripted_server([{**LOOK, "repeat": True}])
    refused = coder_run(repo, server.base_url, "--model", "house-model", "--max-cost", "1")
    assert refused.returncode == 2 and not server.received
    assert 'add it under [prices."house-model"]' in refused.stderr

    config = tmp_path / "config"
    (config / "coder").mkdir(parents=True)
    (config / "coder" / "config.toml").write_text(
        '[prices."house-model"]\ninput = 1.0\ncached-input = 0.1\noutput = 2\n'
    )
    env = {"XDG_CONFIG_HOME": str(config)}
    proc = coder_run(repo, server.base_url, "--model", "house-model", "--max-turns", "1", env=env)
    cost = (4_000 * 1.0 + 6_000 * 0.1 + 2_000 * 2.0) / 1_000_000
    assert _usage(proc)[0]["turn_cost_usd"] == pytest.approx(cost)
