"""`--profile auto`: small for the embedded model and for small models behind any server
(by what the server reports, else by the model's name), default otherwise; the choice and
its reason are in session_started and on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from coder.profiles import choose, parameters_from_name
from coder.results import ModelInfo
from tests.runs import events

FINISH = {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("qwen2.5-coder-1.5b-instruct", 1.5),
        ("/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1.5),
        ("llama3:8b", 8.0),
        ("deepseek-coder-v2-lite-16B", 16.0),
        ("mixtral-8x7b-instruct", 56.0),
        ("Qwen/Qwen2.5-Coder-32B-Instruct", 32.0),
        ("gpt-4.1-mini", None),
        ("phi-3-mini-4k", None),
        ("scripted", None),
    ],
)
def test_the_size_a_models_name_states(name: str, size: float | None) -> None:
    assert parameters_from_name(name) == size


def test_auto_picks_small_for_the_embedded_model_and_small_endpoints() -> None:
    assert choose("auto", True, None) == ("small", "the embedded 1.5B model")
    kind, why = choose("auto", False, ModelInfo("qwen2.5-coder-1.5b-instruct"))
    assert kind == "small" and "1.5B parameters (its name)" in why
    kind, why = choose("auto", False, ModelInfo("local", 7.6, None, "the server's model list"))
    assert kind == "small" and "the server's model list" in why
    assert choose("auto", False, ModelInfo("Qwen2.5-Coder-32B"))[0] == "default"
    assert choose("auto", False, ModelInfo("gpt-4.1"))[0] == "default"
    assert choose("small", False, ModelInfo("gpt-4.1")) == ("small", "profile small was asked for")


def _run(repo: Path, base_url: str, model: str, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "coder", "run", "fix it", "--repo", str(repo), "--json"]
    argv += ["--base-url", base_url, "--model", model, "--check", "true", *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_a_small_model_behind_a_server_gets_the_small_profile(
    repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([{"text": "textutil.py\n```python\nx = 1\n```\n"}, FINISH])
    proc = _run(repo, server.base_url, "qwen2.5-coder-1.5b-instruct")
    started = events(proc)[0]
    assert started["profile"] == "small" and "1.5B parameters" in started["profile_reason"]
    assert "profile: small (" in proc.stderr
    first = server.received[0]
    assert "tools" not in first  # described in the prompt, not declared natively
    system = first["messages"][0]["content"]
    assert "complete corrected file" in system  # the small system prompt
    assert any("def slugify" in m["content"] for m in first["messages"])  # files shown


def test_an_unknown_model_gets_the_default_profile_and_a_flag_wins(
    repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([FINISH, FINISH])
    proc = _run(repo, server.base_url, "scripted")
    assert events(proc)[0]["profile"] == "default"
    assert "tools" in server.received[-1]
    proc = _run(repo, server.base_url, "scripted", "--profile", "small")
    assert events(proc)[0]["profile"] == "small"
    assert events(proc)[0]["profile_reason"] == "profile small was asked for"
