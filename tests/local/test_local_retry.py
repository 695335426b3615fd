"""What the embedded model sees after a failed attempt: a retry message, not its old answer.

No weights needed: building the visible conversation reads files, it does not load the model.
"""

from __future__ import annotations

from pathlib import Path

from coder import prompts
from coder.checks import failing_tests
from coder.conversation import (
    AssistantTurn,
    Conversation,
    SystemText,
    ToolCall,
    ToolResultItem,
    ToolSpec,
    UserText,
)
from coder.providers.local import WRITE_FILE, LocalProvider

FINISH = ToolSpec(
    "finish", "Finish.", {"type": "object", "properties": {"summary": {"type": "string"}}}
)

ORIGINAL = "def mean(values):\n    return sum(values) / (len(values) - 1)\n"
FINISHED = 'finish("Fixed it.")'
FAILURES = "FAILED tests/test_stats.py::test_mean - assert 3.0 == 2"


def _setup(tmp_path: Path) -> tuple[LocalProvider, Conversation]:
    (tmp_path / "stats.py").write_text(ORIGINAL)
    provider = LocalProvider(tmp_path / "never-loaded.gguf", tmp_path)
    conversation = Conversation()
    conversation.set_section("system", SystemText(prompts.render("system", "small")))
    conversation.set_section("task", UserText("mean([1, 2, 3]) gives 3.0 instead of 2.0"))
    return provider, conversation


def _attempt(
    conversation: Conversation, content: str, number: int, failures: str = FAILURES
) -> AssistantTurn:
    turn = AssistantTurn(
        f"answer {number}",
        (
            ToolCall(f"w{number}", "write_file", {"path": "stats.py", "content": content}),
            ToolCall(f"f{number}", "finish", {"summary": "fixed"}),
        ),
        calls_in_text=True,
    )
    conversation.append(turn)
    conversation.append(ToolResultItem(f"w{number}", "write_file", "Applied 1 hunk."))
    failure = prompts.render("finish_refused", "small", failures=failures)
    conversation.append(ToolResultItem(f"f{number}", "finish", failure))
    return turn


def test_a_failed_attempt_gives_way_to_a_retry_showing_the_file_as_it_now_is(
    tmp_path: Path,
) -> None:
    provider, conversation = _setup(tmp_path)
    assert provider.visible_items(conversation) == conversation.items()
    changed = "def mean(values):\n    return sum(values) / len(values) - 1\n"
    (tmp_path / "stats.py").write_text(changed)
    failed = _attempt(conversation, changed, 1)

    visible = provider.visible_items(conversation)

    assert visible[:2] == conversation.items()[:2]
    assert failed not in visible and len(visible) == 3
    retry = visible[2]
    assert isinstance(retry, UserText)
    assert "Attempt 1 did not fix the issue" in retry.text
    assert "stats.py now reads:" in retry.text and changed.strip() in retry.text
    assert FAILURES in retry.text


def test_a_retry_says_when_the_answer_changed_nothing_and_stays_fixed_for_the_kv_cache(
    tmp_path: Path,
) -> None:
    provider, conversation = _setup(tmp_path)
    provider.visible_items(conversation)
    _attempt(conversation, ORIGINAL, 1)
    first = provider.visible_items(conversation)
    assert "did not change the code" in first[2].text  # type: ignore[union-attr]

    follow = AssistantTurn("reading", (ToolCall("r", "read_file", {"path": "stats.py"}),))
    conversation.append(follow)
    later = provider.visible_items(conversation)
    assert later[: len(first)] == first  # same retry object: the prompt only grows
    assert later[-1] is follow


def test_only_the_latest_failure_is_shown(tmp_path: Path) -> None:
    provider, conversation = _setup(tmp_path)
    provider.visible_items(conversation)
    first = _attempt(conversation, ORIGINAL, 1)
    second = _attempt(conversation, ORIGINAL, 2)

    visible = provider.visible_items(conversation)

    assert first not in visible and second not in visible
    assert len(visible) == 3 and "Attempt 2 did not fix" in visible[2].text  # type: ignore[union-attr]


def test_an_answer_without_a_usable_call_is_replaced_too(tmp_path: Path) -> None:
    provider, conversation = _setup(tmp_path)
    provider.visible_items(conversation)
    _attempt(conversation, ORIGINAL, 1)
    empty = AssistantTurn("```python\ndef test_mean(): ...\n```", calls_in_text=True)
    conversation.append(empty)
    conversation.append(UserText(prompts.render("no_tool_call", "small", tools="finish")))

    visible = provider.visible_items(conversation)

    assert empty not in visible and len(visible) == 3
    retry = visible[2].text  # type: ignore[union-attr]
    assert "Attempt 2 did not fix" in retry and "held no source file" in retry
    assert FAILURES in retry  # the latest check failure is still shown


def _failing(*tests: str) -> str:
    return "\n".join(f"FAILED tests/test_stats.py::{test} - assert False" for test in tests)


def _checked_attempt(
    provider: LocalProvider, conversation: Conversation, tmp_path: Path, content: str, *failing: str
) -> None:
    number = len(provider._attempts) + 1
    (tmp_path / "stats.py").write_text(content)
    _attempt(conversation, content, number, _failing(*failing))
    provider.visible_items(conversation)  # the provider sees each dead end before answering


def test_failing_tests_counts_pytest_failures_and_a_broken_import_as_worse_than_any() -> None:
    assert failing_tests(_failing("test_a", "test_b")) == 2
    broken = "ERROR tests/test_stats.py - SyntaxError: invalid syntax"
    assert failing_tests(broken) is not None and failing_tests(broken) > 100
    assert failing_tests("make: *** [check] Error 1") is None


def test_an_attempt_that_fails_more_tests_is_undone_and_the_retry_builds_on_the_best(
    tmp_path: Path,
) -> None:
    provider, conversation = _setup(tmp_path)
    provider.visible_items(conversation)
    better = "def mean(values):\n    return sum(values) / len(values) + 0\n"
    worse = "def mean(values):\n    return values.mean()\n"
    _checked_attempt(provider, conversation, tmp_path, better, "test_median")
    _checked_attempt(provider, conversation, tmp_path, worse, "test_mean", "test_median")

    retry = provider.visible_items(conversation)[-1].text  # type: ignore[union-attr]

    assert "made more tests fail, so it is undone" in retry
    assert better.strip() in retry and worse.strip() not in retry
    assert "test_median" in retry and "test_mean" not in retry
    # The next answer's edits land on the best attempt's files: they are written back first.
    calls = provider._parse_calls(FINISHED, [WRITE_FILE, FINISH])
    assert [(c.name, c.arguments.get("content")) for c in calls][0] == ("write_file", better)
    assert provider._parse_calls(FINISHED, [WRITE_FILE, FINISH])[0].name == "finish"  # once


def test_the_best_attempt_is_not_written_back_over_a_file_the_answer_writes(
    tmp_path: Path,
) -> None:
    provider, conversation = _setup(tmp_path)
    provider.visible_items(conversation)
    better = "def mean(values):\n    return sum(values) / len(values) + 0\n"
    _checked_attempt(provider, conversation, tmp_path, better, "test_median")
    _checked_attempt(provider, conversation, tmp_path, ORIGINAL, "test_mean", "test_median")
    answer = "stats.py\n```python\ndef mean(values):\n    return sum(values) / len(values)\n```"

    calls = provider._parse_calls(answer, [WRITE_FILE, FINISH])

    writes = [c.arguments["content"] for c in calls if c.name == "write_file"]
    assert writes == ["def mean(values):\n    return sum(values) / len(values)\n"]


def test_equal_failure_counts_keep_the_latest_attempt(tmp_path: Path) -> None:
    provider, conversation = _setup(tmp_path)
    provider.visible_items(conversation)
    first = "def mean(values):\n    return 1\n"
    second = "def mean(values):\n    return 2\n"
    _checked_attempt(provider, conversation, tmp_path, first, "test_mean")
    _checked_attempt(provider, conversation, tmp_path, second, "test_mean")

    retry = provider.visible_items(conversation)[-1].text  # type: ignore[union-attr]

    assert "undone" not in retry and second.strip() in retry
    assert provider._parse_calls(FINISHED, [WRITE_FILE, FINISH])[0].name == "finish"


def test_a_comment_only_change_counts_as_no_change(tmp_path: Path) -> None:
    provider, conversation = _setup(tmp_path)
    provider.visible_items(conversation)
    commented = ORIGINAL.replace("- 1)", "- 1)  # fixed the divisor")
    (tmp_path / "stats.py").write_text(commented)
    _attempt(conversation, commented, 1)

    retry = provider.visible_items(conversation)[-1].text  # type: ignore[union-attr]

    assert "did not change the code" in retry and "now reads" not in retry
