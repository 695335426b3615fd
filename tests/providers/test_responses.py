"""ResponsesProvider over real HTTP against the scripted server."""

from __future__ import annotations

from typing import Any

import pytest

from coder.config import Settings
from coder.conversation import (
    AssistantTurn,
    Conversation,
    SystemText,
    TokenUsage,
    ToolCall,
    ToolResultItem,
    ToolSpec,
    UserText,
)
from coder.errors import ProviderError
from coder.providers.chat import RETRY_NOTICE
from coder.providers.responses import ResponsesProvider

TOOLS = [
    ToolSpec(
        "run",
        "Run a shell command.",
        {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    ),
    ToolSpec("finish", "Declare the work done.", {"type": "object", "properties": {}}),
]


def conversation(*turns: Any) -> Conversation:
    convo = Conversation()
    convo.set_section("system", SystemText("You fix bugs."))
    convo.set_section("task", UserText("Fix the bug."))
    for turn in turns:
        convo.append(turn)
    return convo


def provider(base_url: str, **settings: Any) -> ResponsesProvider:
    values = {"model": "gpt-4.1", "api": "responses", "base_url": base_url, **settings}
    return ResponsesProvider(Settings(**values))


def test_streamed_deltas_arrive_in_order_and_make_the_turn_text(scripted_server) -> None:
    server = scripted_server([{"text": "Reading the failing test first."}])
    deltas: list[str] = []
    turn = provider(server.base_url).complete(conversation(), TOOLS, deltas.append)
    assert len(deltas) == 5
    assert "".join(deltas) == turn.text == "Reading the failing test first."
    assert server.paths == ["/v1/responses"]


def test_function_calls_come_back_with_call_ids_and_arguments(scripted_server) -> None:
    calls = [
        {"id": "call_a", "name": "run", "arguments": {"command": "pytest -q"}},
        {"id": "call_b", "name": "finish", "arguments": {}},
    ]
    server = scripted_server([{"text": "Two calls.", "tool_calls": calls}])
    turn = provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert turn.tool_calls == (
        ToolCall("call_a", "run", {"command": "pytest -q"}),
        ToolCall("call_b", "finish", {}),
    )
    assert turn.text == "Two calls." and not turn.calls_in_text


def test_request_is_stateless_with_function_tools_and_a_cache_key(scripted_server) -> None:
    server = scripted_server([{"text": "a"}, {"text": "b"}])
    responses = provider(server.base_url)
    responses.complete(conversation(), TOOLS, lambda _: None)
    responses.complete(conversation(), TOOLS, lambda _: None)
    first, second = server.received
    assert first["store"] is False and first["stream"] is True
    assert first["tools"][0] == {
        "type": "function",
        "name": "run",
        "description": "Run a shell command.",
        "parameters": TOOLS[0].parameters,
        "strict": False,
    }
    assert first["prompt_cache_key"] == second["prompt_cache_key"]
    assert first["input"] == [
        {"type": "message", "role": "system", "content": "You fix bugs."},
        {"type": "message", "role": "user", "content": "Fix the bug."},
    ]


def test_whole_input_is_resent_as_an_append_only_prefix(scripted_server) -> None:
    call = {"id": "call_1", "name": "run", "arguments": {"command": "pytest"}}
    server = scripted_server([{"text": "Running.", "tool_calls": [call]}, {"text": "Fixed."}])
    responses = provider(server.base_url)
    convo = conversation()
    convo.append(responses.complete(convo, TOOLS, lambda _: None))
    convo.append(ToolResultItem("call_1", "run", "exit code 1\nFAILED test_x"))
    responses.complete(convo, TOOLS, lambda _: None)
    first, second = (body["input"] for body in server.received)
    assert second[: len(first)] == first
    assert second[len(first) :] == [
        {"type": "message", "role": "assistant", "content": "Running."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "run",
            "arguments": '{"command": "pytest"}',
        },
        {
            "type": "function_call_output",
            "call_id": "call_1",
            "output": "exit code 1\nFAILED test_x",
        },
    ]


def test_reasoning_effort_reaches_the_wire_only_when_set(scripted_server) -> None:
    server = scripted_server([{"text": "a"}, {"text": "b"}])
    provider(server.base_url, reasoning_effort="low").complete(conversation(), [], lambda _: None)
    provider(server.base_url).complete(conversation(), [], lambda _: None)
    assert server.received[0]["reasoning"] == {"effort": "low"}
    assert "reasoning" not in server.received[1]


def test_usage_reads_cached_input_tokens(scripted_server) -> None:
    usage = {"prompt_tokens": 5000, "completion_tokens": 70, "cached_tokens": 4096}
    server = scripted_server([{"text": "hi", "usage": usage}])
    turn = provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert turn.usage == TokenUsage(prompt_tokens=5000, completion_tokens=70, cached_tokens=4096)


def test_text_tool_calls_fall_back_and_go_back_as_user_text(scripted_server) -> None:
    text = '```json\n{"name": "run", "arguments": {"command": "ls"}}\n```'
    server = scripted_server([{"text": text}, {"text": "done"}])
    responses = provider(server.base_url)
    convo = conversation()
    turn = responses.complete(convo, TOOLS, lambda _: None)
    assert turn.calls_in_text
    assert turn.tool_calls == (ToolCall("call_text_1", "run", {"command": "ls"}),)
    convo.append(turn)
    convo.append(ToolResultItem("call_text_1", "run", "a.py"))
    responses.complete(convo, TOOLS, lambda _: None)
    sent = server.received[1]["input"][2:]
    assert sent == [
        {"type": "message", "role": "assistant", "content": text},
        {
            "type": "message",
            "role": "user",
            "content": '<tool_response name="run">\na.py\n</tool_response>',
        },
    ]


def test_native_turn_without_text_sends_only_function_calls(scripted_server) -> None:
    server = scripted_server([{"text": "ok"}])
    convo = conversation(
        AssistantTurn("", (ToolCall("c1", "finish", {}),), TokenUsage()),
        ToolResultItem("c1", "finish", "checks fail"),
    )
    provider(server.base_url).complete(convo, TOOLS, lambda _: None)
    assert [i["type"] for i in server.received[0]["input"][2:]] == [
        "function_call",
        "function_call_output",
    ]


def test_broken_stream_is_retried_once(scripted_server) -> None:
    server = scripted_server(
        [{"text": "partial words of an answer", "break_stream": True}, {"text": "Whole answer."}]
    )
    deltas: list[str] = []
    turn = provider(server.base_url).complete(conversation(), TOOLS, deltas.append)
    assert turn.text == "Whole answer."
    assert "".join(deltas).endswith(RETRY_NOTICE + "Whole answer.")
    assert len(server.received) == 2


def test_repeated_http_500_becomes_provider_error(scripted_server) -> None:
    server = scripted_server([{"status": 502, "error": "bad gateway", "repeat": True}])
    with pytest.raises(ProviderError, match="HTTP 502.*bad gateway") as caught:
        provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert "\n" not in str(caught.value)
    assert len(server.received) == 3


def test_exhausted_script_surfaces_as_provider_error(scripted_server) -> None:
    server = scripted_server([])
    with pytest.raises(ProviderError, match="script exhausted"):
        provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)


def test_error_event_mid_stream_is_retried_once(scripted_server) -> None:
    server = scripted_server(
        [{"text": "half of an answer", "stream_error": "overloaded"}, {"text": "Second try."}]
    )
    turn = provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert turn.text == "Second try."
    assert len(server.received) == 2


def test_error_event_mid_stream_twice_is_a_provider_error_with_its_message(
    scripted_server,
) -> None:
    server = scripted_server(
        [{"text": "half an answer", "stream_error": "overloaded", "repeat": True}]
    )
    with pytest.raises(ProviderError, match="failed twice mid-answer: error event: overloaded"):
        provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert len(server.received) == 2


def test_interrupt_raised_from_on_delta_stops_the_stream_without_retry(scripted_server) -> None:
    server = scripted_server([{"text": "a long answer that the user interrupts"}])

    def interrupt(_: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        provider(server.base_url).complete(conversation(), TOOLS, interrupt)
    assert len(server.received) == 1


def test_reasoning_items_are_sent_back_before_their_turn(scripted_server) -> None:
    call = {"id": "call_1", "name": "run", "arguments": {"command": "pytest"}}
    server = scripted_server([{"reasoning": "Tests first.", "tool_calls": [call]}, {"text": "ok"}])
    responses = provider(server.base_url, reasoning_effort="medium")
    convo = conversation()
    convo.append(responses.complete(convo, TOOLS, lambda _: None))
    convo.append(ToolResultItem("call_1", "run", "1 failed"))
    responses.complete(convo, TOOLS, lambda _: None)
    assert server.received[0]["include"] == ["reasoning.encrypted_content"]
    sent = server.received[1]["input"][2:]
    assert [item["type"] for item in sent] == ["reasoning", "function_call", "function_call_output"]
    assert sent[0]["encrypted_content"] == "encrypted:Tests first."
    assert sent[0]["summary"] == [{"type": "summary_text", "text": "Tests first."}]


def test_reasoning_models_ask_for_encrypted_reasoning_and_others_do_not(scripted_server) -> None:
    server = scripted_server([{"text": "a"}, {"text": "b"}])
    provider(server.base_url, model="o4-mini").complete(conversation(), [], lambda _: None)
    provider(server.base_url, model="gpt-4.1").complete(conversation(), [], lambda _: None)
    assert server.received[0]["include"] == ["reasoning.encrypted_content"]
    assert "include" not in server.received[1]
