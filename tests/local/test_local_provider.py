"""The embedded model through the Provider interface: real llama.cpp, real weights."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from coder import prompts
from coder.config import Settings
from coder.conversation import Conversation, SystemText, ToolResultItem, ToolSpec, UserText
from coder.errors import UsageError
from coder.providers.local import LocalProvider
from coder.tools import small_model_tools
from tests.local.conftest import require_model

pytestmark = pytest.mark.local_model

TOOLS: list[ToolSpec] = [tool.spec for tool in small_model_tools()]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:
    """One loaded model for the module (loading takes seconds, prefill takes longer)."""
    model = require_model()
    repo = tmp_path_factory.mktemp("repo")
    (repo / "greet.py").write_text('def greet(name):\n    return "Hello " + name\n')
    yield LocalProvider(model, repo, n_ctx=4096, max_new_tokens=256)


def _conversation(task: str) -> Conversation:
    conversation = Conversation()
    conversation.set_section("system", SystemText(prompts.render("system", "small")))
    conversation.set_section("task", UserText(prompts.render("task", "small", task=task)))
    return conversation


def test_an_issue_comes_back_as_a_file_write_then_finish(provider: LocalProvider) -> None:
    conversation = _conversation("greet() must end its greeting with an exclamation mark.")
    turn = provider.complete(conversation, TOOLS, lambda text: None)
    assert turn.calls_in_text
    assert [call.name for call in turn.tool_calls] == ["write_file", "finish"]
    write = turn.tool_calls[0].arguments
    assert write["path"] == "greet.py"
    assert "!" in write["content"] and "def greet(name):" in write["content"]


def test_later_turns_prefill_only_their_new_tokens(
    provider: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    conversation = _conversation("Make greet() end its greeting with an exclamation mark.")
    deltas: list[str] = []
    first = provider.complete(conversation, TOOLS, deltas.append)
    assert "".join(deltas) == first.text
    conversation.append(first)
    conversation.append(ToolResultItem("call_1", "read_file", "1: def greet(name):"))
    with caplog.at_level(logging.INFO, logger="coder.local"):
        second = provider.complete(conversation, TOOLS, lambda text: None)
    earlier = first.usage.prompt_tokens + first.usage.completion_tokens
    assert second.usage.cached_tokens >= earlier
    prefilled = second.usage.prompt_tokens - second.usage.cached_tokens
    assert 0 < prefilled < 40
    assert f"prefilled {prefilled}, reused {second.usage.cached_tokens}" in caplog.text


def test_a_conversation_beyond_the_context_is_compacted(provider: LocalProvider) -> None:
    conversation = _conversation("Summarise the tool outputs in one word.")
    for n in range(12):
        conversation.append(ToolResultItem(f"call_{n}", "run", "line of output\n" * 120))
    turn = provider.complete(conversation, TOOLS, lambda text: None)
    assert conversation.compactions >= 1
    assert turn.usage.prompt_tokens + 256 <= provider.n_ctx


def test_missing_weights_are_a_usage_error_naming_the_install_command(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    with pytest.raises(UsageError, match="run `coder model install`") as caught:
        LocalProvider.from_settings(Settings(repo=tmp_path, api="local"))
    assert caught.value.exit_code == 2
