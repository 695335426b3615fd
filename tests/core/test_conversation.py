"""The conversation: append-only, compacted only by the agent, and written to disk and read
back with everything a provider or a profile keeps in it."""

from __future__ import annotations

import json

from coder.conversation import (
    AssistantTurn,
    Conversation,
    SystemText,
    TokenUsage,
    ToolCall,
    ToolResultItem,
    UserText,
)


def sample() -> Conversation:
    conversation = Conversation()
    conversation.set_section("system", SystemText("sys"))
    conversation.set_section("repo_map", UserText("map"))
    conversation.set_section("task", UserText("task", data={"shown": {"a.py": "x = 1\n"}}))
    for n in range(5):
        call = ToolCall(f"c{n}", "read_file", {"path": f"f{n}.py"})
        reasoning = ({"type": "reasoning", "encrypted_content": f"opaque{n}"},)
        conversation.append(
            AssistantTurn(f"turn {n}", (call,), TokenUsage(10, 2, 5), False, reasoning)
        )
        conversation.append(ToolResultItem(f"c{n}", "read_file", "x" * 500, "ok"))
    conversation.append(UserText("Attempt 1 did not fix", kind="retry", data={"attempt": None}))
    return conversation


def test_a_conversation_survives_a_round_trip_through_json() -> None:
    conversation = sample()
    text = json.dumps(conversation.to_dict())
    back = Conversation.from_dict(json.loads(text))
    assert back.items() == conversation.items()
    assert back.turns[0].provider_items == ({"type": "reasoning", "encrypted_content": "opaque0"},)  # type: ignore[union-attr]


def test_dropping_old_turns_keeps_the_prefix_the_latest_retry_and_a_state_note() -> None:
    conversation = sample()
    head = conversation.head()
    done = conversation.drop_old_turns(2, "Where the work stands: …")
    assert conversation.head() == head
    kinds = [getattr(item, "kind", item.role) for item in conversation.turns]
    assert kinds[:1] == ["state"] or kinds[:2] == ["retry", "state"]
    assert sum(isinstance(item, AssistantTurn) for item in conversation.turns) == 2
    assert done.items > 0 and done.characters > 1000
