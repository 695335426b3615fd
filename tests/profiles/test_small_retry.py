"""What a small model sees after a failed attempt: a retry message, not its old answer; the
record of each attempt lives in the conversation, so the best one is kept.

No weights needed: the small profile builds the view and reads files; it loads no model.
"""

from __future__ import annotations

from pathlib import Path

from coder.checks import failing_tests
from coder.conversation import AssistantTurn, Conversation, SystemText, ToolCall, ToolResultItem
from coder.profiles.small import SmallProfile
from coder.tools import registry
from tests.profiles.conftest import failed_run, small_profile

ORIGINAL = "def mean(values):\n    return sum(values) / (len(values) - 1)\n"
FAILURES = "FAILED tests/test_stats.py::test_mean - assert 3.0 == 2"
SPECS = registry(SmallProfile.tools).specs()


def _setup(tmp_path: Path) -> tuple[SmallProfile, Conversation]:
    (tmp_path / "stats.py").write_text(ORIGINAL)
    profile = small_profile(tmp_path)
    conversation = Conversation()
    system, task = profile.head("mean([1, 2, 3]) gives 3.0 instead of 2.0", "none", SPECS)
    conversation.set_section("system", SystemText(system))
    conversation.set_section("task", task)
    return profile, conversation


def _failing(*tests: str) -> str:
    return "\n".join(f"FAILED tests/test_stats.py::{test} - assert False" for test in tests)


def _attempt(
    profile: SmallProfile, conversation: Conversation, content: str, failures: str = FAILURES
) -> AssistantTurn:
    """The model writes `content` and finishes; the checks refuse with `failures`."""
    (profile.ws.root / "stats.py").write_text(content)
    turn = AssistantTurn(
        "answer",
        (
            ToolCall("w", "write_file", {"path": "stats.py", "content": content}),
            ToolCall("f", "finish", {"summary": "fixed"}),
        ),
        calls_in_text=True,
    )
    conversation.append(turn)
    conversation.append(ToolResultItem("w", "write_file", "Applied 1 hunk."))
    refusal = profile.finish_refused([failed_run(failures)], conversation)
    conversation.append(ToolResultItem("f", "finish", "The tests still fail", "finish_refused"))
    assert refusal.follow_up is not None
    conversation.append(refusal.follow_up)
    return turn


def _latest(profile: SmallProfile, conversation: Conversation) -> str:
    return str(profile.view(conversation).conversation.items()[-1].text)  # type: ignore[union-attr]


def test_a_failed_attempt_gives_way_to_a_retry_showing_the_file_as_it_now_is(
    tmp_path: Path,
) -> None:
    profile, conversation = _setup(tmp_path)
    assert profile.view(conversation).conversation.items() == conversation.items()
    changed = "def mean(values):\n    return sum(values) / len(values) - 1\n"
    failed = _attempt(profile, conversation, changed)

    visible = profile.view(conversation).conversation.items()

    assert visible[:2] == conversation.items()[:2]
    assert failed not in visible and len(visible) == 3
    retry = visible[2].text  # type: ignore[union-attr]
    assert "Attempt 1 did not fix the issue" in retry
    assert "stats.py now reads:" in retry and changed.strip() in retry
    assert FAILURES in retry


def test_a_retry_says_when_nothing_changed_and_stays_fixed_for_the_kv_cache(
    tmp_path: Path,
) -> None:
    profile, conversation = _setup(tmp_path)
    _attempt(profile, conversation, ORIGINAL)
    first = profile.view(conversation).conversation.items()
    assert "did not change the code" in first[2].text  # type: ignore[union-attr]

    follow = AssistantTurn("reading", (ToolCall("r", "read_file", {"path": "stats.py"}),))
    conversation.append(follow)
    later = profile.view(conversation).conversation.items()
    assert later[: len(first)] == first  # the prompt only grows
    assert later[-1] is follow


def test_only_the_latest_failure_is_shown(tmp_path: Path) -> None:
    profile, conversation = _setup(tmp_path)
    first = _attempt(profile, conversation, ORIGINAL)
    second = _attempt(profile, conversation, ORIGINAL)

    visible = profile.view(conversation).conversation.items()

    assert first not in visible and second not in visible
    assert len(visible) == 3 and "Attempt 2 did not fix" in visible[2].text  # type: ignore[union-attr]


def test_an_answer_without_a_usable_call_is_a_dead_end_too(tmp_path: Path) -> None:
    profile, conversation = _setup(tmp_path)
    _attempt(profile, conversation, ORIGINAL)
    empty = AssistantTurn("```python\ndef test_mean(): ...\n```", calls_in_text=True)
    conversation.append(empty)
    conversation.append(profile.no_calls(empty, conversation))

    visible = profile.view(conversation).conversation.items()

    assert empty not in visible and len(visible) == 3
    retry = visible[2].text  # type: ignore[union-attr]
    assert "Attempt 2 did not fix" in retry and "held no source file" in retry
    assert FAILURES in retry  # the latest check failure is still shown


def test_failing_tests_counts_pytest_failures_and_a_broken_import_as_worse_than_any() -> None:
    assert failing_tests(_failing("test_a", "test_b")) == 2
    broken = "ERROR tests/test_stats.py - SyntaxError: invalid syntax"
    assert failing_tests(broken) is not None and failing_tests(broken) > 100
    assert failing_tests("make: *** [check] Error 1") is None


def test_an_attempt_that_fails_more_tests_is_undone_and_the_retry_builds_on_the_best(
    tmp_path: Path,
) -> None:
    profile, conversation = _setup(tmp_path)
    better = "def mean(values):\n    return sum(values) / len(values) + 0\n"
    worse = "def mean(values):\n    return values.mean()\n"
    _attempt(profile, conversation, better, _failing("test_median"))
    _attempt(profile, conversation, worse, _failing("test_mean", "test_median"))

    retry = _latest(profile, conversation)

    assert "made more tests fail, so it is undone" in retry
    assert better.strip() in retry and worse.strip() not in retry
    assert "test_median" in retry and "test_mean" not in retry
    assert (tmp_path / "stats.py").read_text() == better  # put back before the next answer


def test_the_next_answer_writes_on_top_of_the_best_attempt(tmp_path: Path) -> None:
    profile, conversation = _setup(tmp_path)
    better = "def mean(values):\n    return sum(values) / len(values) + 0\n"
    _attempt(profile, conversation, better, _failing("test_median"))
    _attempt(profile, conversation, ORIGINAL, _failing("test_mean", "test_median"))
    answer = "stats.py\n```python\ndef mean(values):\n    return sum(values) / len(values)\n```"

    turn = profile.interpret(AssistantTurn(answer, calls_in_text=True), SPECS)

    writes = [c.arguments["content"] for c in turn.tool_calls if c.name == "write_file"]
    assert writes == ["def mean(values):\n    return sum(values) / len(values)\n"]
    assert [c.name for c in turn.tool_calls] == ["write_file", "finish"]


def test_equal_failure_counts_keep_the_latest_attempt(tmp_path: Path) -> None:
    profile, conversation = _setup(tmp_path)
    first = "def mean(values):\n    return 1\n"
    second = "def mean(values):\n    return 2\n"
    _attempt(profile, conversation, first, _failing("test_mean"))
    _attempt(profile, conversation, second, _failing("test_mean"))

    retry = _latest(profile, conversation)

    assert "undone" not in retry and second.strip() in retry
    assert (tmp_path / "stats.py").read_text() == second


def test_a_comment_only_change_counts_as_no_change(tmp_path: Path) -> None:
    profile, conversation = _setup(tmp_path)
    commented = ORIGINAL.replace("- 1)", "- 1)  # fixed the divisor")
    _attempt(profile, conversation, commented)

    retry = _latest(profile, conversation)

    assert "did not change the code" in retry and "now reads" not in retry


def test_the_attempts_survive_a_round_trip_to_disk(tmp_path: Path) -> None:
    profile, conversation = _setup(tmp_path)
    better = "def mean(values):\n    return sum(values) / len(values) + 0\n"
    _attempt(profile, conversation, better, _failing("test_median"))
    restored = Conversation.from_dict(conversation.to_dict())
    _attempt(profile, restored, "def mean(values):\n    return 0\n", _failing("a", "b"))
    assert "back to attempt 1" in _latest(profile, restored)
