"""The embedded model through the Provider interface and the small profile: real llama.cpp,
real weights."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from coder.config import Settings
from coder.conversation import Conversation, SystemText, ToolResultItem, UserText
from coder.errors import ContextOverflow, UsageError
from coder.profiles.small import SmallProfile
from coder.providers.local import LocalProvider
from coder.results import Sampling
from coder.tools import registry
from tests.local.conftest import require_model
from tests.profiles.conftest import small_profile

pytestmark = pytest.mark.local_model

SPECS = registry(SmallProfile.tools).specs()


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    """One loaded model for the module (loading takes seconds, prefill takes longer)."""
    yield LocalProvider(require_model(), n_ctx=4096, max_new_tokens=256)


@pytest.fixture
def profile(tmp_path: Path) -> SmallProfile:
    (tmp_path / "greet.py").write_text('def greet(name):\n    return "Hello " + name\n')
    return small_profile(tmp_path)


def _conversation(profile: SmallProfile, task: str) -> Conversation:
    conversation = Conversation()
    system, item = profile.head(task, "none", SPECS)
    conversation.set_section("system", SystemText(system))
    conversation.set_section("task", item)
    return conversation


def _turn(
    provider: LocalProvider, profile: SmallProfile, conversation: Conversation, deltas: list[str]
):  # type: ignore[no-untyped-def]
    view = profile.view(conversation)
    turn = provider.complete(view.conversation, [], deltas.append, sampling=view.sampling)
    return profile.interpret(turn, SPECS)


def test_an_issue_comes_back_as_a_file_write_then_finish(
    provider: LocalProvider, profile: SmallProfile
) -> None:
    conversation = _conversation(profile, "greet() must end its greeting with an exclamation mark.")
    turn = _turn(provider, profile, conversation, [])
    assert turn.calls_in_text
    assert [call.name for call in turn.tool_calls] == ["write_file", "finish"]
    write = turn.tool_calls[0].arguments
    assert write["path"] == "greet.py"
    assert "!" in write["content"] and "def greet(name):" in write["content"]


def test_later_turns_prefill_only_their_new_tokens(
    provider: LocalProvider, profile: SmallProfile, caplog: pytest.LogCaptureFixture
) -> None:
    conversation = _conversation(profile, "Make greet() end its greeting with an exclamation mark.")
    deltas: list[str] = []
    first = _turn(provider, profile, conversation, deltas)
    assert "".join(deltas) == first.text
    conversation.append(first)
    conversation.append(ToolResultItem("call_1", "read_file", "1: def greet(name):"))
    with caplog.at_level(logging.INFO, logger="coder.local"):
        second = _turn(provider, profile, conversation, [])
    earlier = first.usage.prompt_tokens + first.usage.completion_tokens
    assert second.usage.cached_tokens >= earlier
    prefilled = second.usage.prompt_tokens - second.usage.cached_tokens
    assert 0 < prefilled < 40
    assert f"prefilled {prefilled}, reused {second.usage.cached_tokens}" in caplog.text


def test_a_conversation_beyond_the_context_is_refused_unchanged(provider: LocalProvider) -> None:
    conversation = Conversation()
    conversation.set_section("system", SystemText("Be brief."))
    conversation.set_section("task", UserText("Summarise the tool outputs in one word."))
    for n in range(12):
        conversation.append(ToolResultItem(f"call_{n}", "run", "line of output\n" * 120))
    before = conversation.to_dict()
    with pytest.raises(ContextOverflow, match="does not fit"):
        provider.complete(conversation, [], lambda text: None)
    assert conversation.to_dict() == before  # the agent compacts; the provider never does


def test_missing_weights_are_a_usage_error_naming_the_install_command(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    with pytest.raises(UsageError, match="run `coder model install`") as caught:
        LocalProvider.from_settings(Settings(repo=tmp_path, api="local"))
    assert caught.value.exit_code == 2


def test_a_profiles_stop_texts_end_the_answer_beside_the_built_in_ones() -> None:
    from coder.providers.local import _safe_prefix, _stop_at

    stops = ("<tool_response>", "# calc_test.py\n")
    text = "calc.py\n```python\nx = 1\n```\n```python\n# calc_test.py\nassert x"

    assert _stop_at(text, stops) == text.index("# calc_test.py")
    assert _stop_at(text) is None  # the built-in stops alone do not cut it
    assert _safe_prefix("x = 1\n# calc_te", stops) == len("x = 1\n")  # held back, not shown


def test_an_answer_in_a_loop_is_cut_after_its_first_copy() -> None:
    from coder.providers.local import loop_start

    opening = "The issue is in `__init__`. "
    sentence = "The `score` parameter should be used, but it is not used correctly. "
    looping = opening + sentence * 8
    cut = loop_start(looping)
    assert cut is not None and looping[:cut].startswith(opening + sentence)
    assert sentence * 2 not in looping[: cut - 1]  # the repeats are gone
    table = "".join(f'    "{n}M": lambda d: d + timedelta(days={30 * n}),\n' for n in range(40))
    assert loop_start(table) is None  # alike lines are not one block repeated
    assert loop_start("x = 1\n" + "# ---\n" * 20) is None  # too short to be a runaway
    assert loop_start(opening + sentence * 2) is None  # twice is not a loop


def test_a_long_block_written_twice_word_for_word_is_a_loop() -> None:
    from coder.providers.local import loop_start

    steps = [("nine", 10**8), ("eight", 10**7), ("seven", 10**6), ("six", 10**5), ("five", 10**4)]
    block = "".join(
        f"    if number >= {n}:\n        words.append({w!r})\n        number %= {n // 10}\n"
        for w, n in steps
    )
    opening = "say.py\n```python\ndef say(number):\n    words = []\n"
    answer = opening + block + block
    first = next(size for size in range(len(answer) + 1) if loop_start(answer[:size]))
    assert first >= len(answer) - 2  # not before the second copy is (all but) whole
    cut = loop_start(answer)
    assert cut is not None and answer[:cut].rstrip() == (opening + block).rstrip()
    assert loop_start(opening + block + block[:-40] + "    return words\n") is None
    short = "    total += 1\n    if total > limit:\n        break\n"  # twice, but short
    assert loop_start(opening + block + short + short) is None


def test_an_answer_stops_at_the_length_the_profile_asks_for(provider: LocalProvider) -> None:
    conversation = Conversation()
    conversation.set_section("task", UserText("Count from one to one hundred in words."))

    turn = provider.complete(
        conversation, [], lambda text: None, sampling=Sampling(0.0, top_k=1, max_tokens=8)
    )

    assert turn.usage.completion_tokens == 8


def test_an_answer_prefix_is_written_for_the_model_which_goes_on_from_it(
    provider: LocalProvider, profile: SmallProfile
) -> None:
    conversation = _conversation(profile, "greet() must end its greeting with an exclamation mark.")
    deltas: list[str] = []
    prefix = "greet.py\n```python\n"
    sampling = Sampling(0.0, top_k=1, max_tokens=60, prefix=prefix)

    turn = provider.complete(conversation, [], deltas.append, sampling=sampling)

    assert turn.text.startswith(prefix + "def greet(name):")
    assert "".join(deltas) == turn.text
    assert turn.usage.completion_tokens <= 60  # the prefix is not counted as generated
    assert [call.name for call in profile.interpret(turn, SPECS).tool_calls] == [
        "write_file",
        "finish",
    ]
