"""Routing: the weak model takes the first attempts; while the checks keep failing, the
reasoning effort climbs and then the strong model takes over; each turn is priced and
reported as its own model's.

Real `coder run` subprocesses against two scripted servers over real HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coder.routing import ladder
from tests.core.test_run_e2e import CHECK
from tests.profiles.test_small_candidates import RIGHT, WORSE
from tests.runs import coder_run, events

USAGE = {"prompt_tokens": 1_000, "cached_tokens": 0, "completion_tokens": 100}


def _finishes(count: int) -> list[dict[str, Any]]:
    """Finish calls, each in other words (the same call again would be refused unrun)."""
    return [
        {"tool_calls": [{"name": "finish", "arguments": {"summary": f"done {n}"}}], "usage": USAGE}
        for n in range(count)
    ]


def test_failing_checks_climb_from_the_weak_model_to_the_strong_ones_efforts(
    repo: Path, scripted_server: Any
) -> None:
    weak, strong = scripted_server(_finishes(8)), scripted_server(_finishes(8))
    argv = ["--model", "gpt-5.5", "--weak-model", "gpt-4.1-nano", "--weak-base-url"]
    argv += [weak.base_url, "--check", "false", "--max-turns", "8"]
    proc = coder_run(repo, strong.base_url, *argv)

    assert len(weak.received) == 2  # two refused finishes, then the strong model
    efforts = [body.get("reasoning_effort") for body in strong.received]
    assert efforts == ["low", "low", "medium", "medium", "high", "high"]
    turns = [e for e in events(proc) if e["type"] == "usage"]
    assert [t["model"] for t in turns] == ["gpt-4.1-nano"] * 2 + ["gpt-5.5"] * 6
    nano = (1_000 * 0.10 + 100 * 0.40) / 1_000_000  # each turn priced as its own model's
    big = (1_000 * 5.00 + 100 * 30.00) / 1_000_000
    assert [t["turn_cost_usd"] for t in turns] == pytest.approx([nano] * 2 + [big] * 6)
    notices = [e["message"] for e in events(proc) if e["type"] == "notice"]
    assert any("gpt-5.5 (reasoning effort low) takes over from gpt-4.1-nano" in n for n in notices)
    assert events(proc)[-1]["report"]["models"] == {"gpt-4.1-nano": 2, "gpt-5.5": 6}


def test_rejected_candidates_of_the_small_profile_count_as_failed_turns(
    calc: Path, scripted_server: Any
) -> None:
    zero = "def add(a, b):\n    return 0\n\n\ndef sub(a, b):\n    return 0\n"
    weak = scripted_server([{"text": f"calc.py\n```python\n{code}```\n"} for code in (WORSE, zero)])
    strong = scripted_server([{"text": f"calc.py\n```python\n{RIGHT}```\n"}])
    argv = ["--weak-model", "weak", "--weak-base-url", weak.base_url, "--profile", "small"]
    proc = coder_run(calc, strong.base_url, *argv, "--check", CHECK, "--max-turns", "4")

    # turn 1: WORSE judged in the sandbox and rejected (no finish, nothing written) — a
    # failed turn all the same; turn 2: fewer tests fail, applied, finish refused
    assert len(weak.received) == 2
    assert len(strong.received) == 1
    assert (calc / "calc.py").read_text() == RIGHT
    assert events(proc)[-1]["report"]["models"] == {"weak": 2, "scripted": 1}


def test_without_routing_one_model_answers_every_turn(repo: Path, scripted_server: Any) -> None:
    server = scripted_server(_finishes(3))
    proc = coder_run(repo, server.base_url, "--check", "false", "--max-turns", "3")

    assert {t["model"] for t in events(proc) if t["type"] == "usage"} == {"scripted"}
    assert all("reasoning_effort" not in body for body in server.received)


def test_the_ladder_takes_efforts_only_for_models_that_reason() -> None:
    class Fake:
        def __init__(self, model: str) -> None:
            self.model, self.reasoning_effort, self.context_window = model, None, None

    steps = ladder(Fake("qwen2.5-coder-1.5b-instruct"), Fake("gpt-5.4"), "medium")  # type: ignore[arg-type]
    assert [s.label for s in steps] == [
        "qwen2.5-coder-1.5b-instruct",
        "gpt-5.4 (reasoning effort medium)",
        "gpt-5.4 (reasoning effort high)",
    ]
