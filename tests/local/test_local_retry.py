"""What the embedded model sees after a failed attempt: a retry message, not its old answer.

No weights needed: building the visible conversation reads files, it does not load the model.
"""

from __future__ import annotations

from pathlib import Path

from coder import prompts
from coder.conversation import (
    AssistantTurn,
    Conversation,
    SystemText,
    ToolCall,
    ToolResultItem,
    UserText,
)
from coder.providers.local import LocalProvider

ORIGINAL = "def mean(values):\n    return sum(values) / (len(values) - 1)\n"
FAILURES = "FAILED tests/test_stats.py::test_mean - assert 3.0 == 2"


def _setup(tmp_path: Path) -> tuple[LocalProvider, Conversation]:
    (tmp_path / "stats.py").write_text(ORIGINAL)
    provider = LocalProvider(tmp_path / "never-loaded.gguf", tmp_path)
    conversation = Conversation()
    conversation.set_section("system", SystemText(prompts.render("system", "small")))
    conversation.set_section("task", UserText("mean([1, 2, 3]) gives 3.0 instead of 2.0"))
    return provider, conversation


def _attempt(conversation: Conversation, content: str, number: int) -> AssistantTurn:
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
    failure = prompts.render("finish_refused", "small", failures=FAILURES)
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
