"""ChatProvider over real HTTP against the scripted server."""

from __future__ import annotations

import socket
import time
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
from coder.errors import ConfigError, ProviderError
from coder.providers.chat import RETRY_NOTICE, ChatProvider, sampling_options
from coder.results import Sampling

TOOLS = [
    ToolSpec(
        "read_file",
        "Read a file.",
        {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    ),
    ToolSpec("finish", "Declare the work done.", {"type": "object", "properties": {}}),
]
KEY = "sk-test-secret-key-1234567890"


def conversation(*turns: Any) -> Conversation:
    convo = Conversation()
    convo.set_section("system", SystemText("You fix bugs."))
    convo.set_section("task", UserText("Fix the bug."))
    for turn in turns:
        convo.append(turn)
    return convo


def provider(base_url: str, **settings: Any) -> ChatProvider:
    values = {"model": "gpt-4.1-mini", "api": "chat", "base_url": base_url, **settings}
    return ChatProvider(Settings(**values))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_streamed_deltas_arrive_in_order_and_make_the_turn_text(scripted_server) -> None:
    server = scripted_server([{"text": "The bug is in slugify, it drops capitals."}])
    deltas: list[str] = []
    turn = provider(server.base_url).complete(conversation(), TOOLS, deltas.append)
    assert len(deltas) > 3
    assert "".join(deltas) == turn.text == "The bug is in slugify, it drops capitals."
    assert turn.tool_calls == () and not turn.calls_in_text
    assert server.received[0]["stream"] is True


def test_native_tool_calls_come_back_with_ids_and_arguments(scripted_server) -> None:
    call = {"id": "call_abc", "name": "read_file", "arguments": {"path": "x.py"}}
    server = scripted_server([{"text": "Reading.", "tool_calls": [call]}])
    turn = provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert turn.tool_calls == (ToolCall("call_abc", "read_file", {"path": "x.py"}),)
    assert turn.text == "Reading." and not turn.calls_in_text


def test_tools_are_offered_as_functions_on_the_wire(scripted_server) -> None:
    server = scripted_server([{"text": "ok"}])
    provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    tools = server.received[0]["tools"]
    assert [t["type"] for t in tools] == ["function", "function"]
    assert tools[0]["function"] == {
        "name": "read_file",
        "description": "Read a file.",
        "parameters": TOOLS[0].parameters,
    }


def test_tool_results_go_back_with_their_call_ids(scripted_server) -> None:
    server = scripted_server(
        [
            {"tool_calls": [{"id": "call_1", "name": "read_file", "arguments": {"path": "a"}}]},
            {"text": "done"},
        ]
    )
    chat = provider(server.base_url)
    convo = conversation()
    first = chat.complete(convo, TOOLS, lambda _: None)
    convo.append(first)
    convo.append(ToolResultItem("call_1", "read_file", "1: print('hi')"))
    chat.complete(convo, TOOLS, lambda _: None)
    messages = server.received[1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[2]["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "read_file", "arguments": '{"path": "a"}'},
        }
    ]
    assert messages[3] == {"role": "tool", "tool_call_id": "call_1", "content": "1: print('hi')"}


def test_text_tool_calls_are_parsed_when_the_server_has_no_native_tools(scripted_server) -> None:
    text = (
        'Let me look.\n<tool_call>{"name": "read_file", "arguments": {"path": "m.py"}}</tool_call>'
    )
    server = scripted_server([{"text": text}])
    turn = provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert turn.calls_in_text
    assert turn.tool_calls == (ToolCall("call_text_1", "read_file", {"path": "m.py"}),)
    assert turn.text == text


def test_text_mode_turn_goes_back_as_plain_text_and_results_as_user_text(scripted_server) -> None:
    server = scripted_server([{"text": "ok"}])
    text = '{"name": "read_file", "arguments": {"path": "m.py"}}'
    convo = conversation(
        AssistantTurn(
            text, (ToolCall("call_text_1", "read_file", {"path": "m.py"}),), TokenUsage(), True
        ),
        ToolResultItem("call_text_1", "read_file", "1: x = 1"),
        UserText("Checks still fail."),
    )
    provider(server.base_url).complete(convo, TOOLS, lambda _: None)
    messages = server.received[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "user"]
    assert messages[2] == {"role": "assistant", "content": text}
    assert messages[3]["content"] == '<tool_response name="read_file">\n1: x = 1\n</tool_response>'
    assert messages[4]["content"] == "Checks still fail."
    assert not any(m["role"] == "tool" for m in messages)


def test_reasoning_effort_reaches_the_wire_only_when_set(scripted_server) -> None:
    server = scripted_server([{"text": "a"}, {"text": "b"}])
    provider(server.base_url, reasoning_effort="high").complete(conversation(), [], lambda _: None)
    provider(server.base_url).complete(conversation(), [], lambda _: None)
    assert server.received[0]["reasoning_effort"] == "high"
    assert "reasoning_effort" not in server.received[1]
    assert "tools" not in server.received[1]


def test_user_texts_stay_apart_until_a_template_demands_alternating_roles(
    scripted_server,
) -> None:
    refusal = "Conversation roles must alternate user/assistant/user/assistant/..."
    server = scripted_server([{"status": 400, "error": refusal}, {"text": "a"}, {"text": "b"}])
    convo = conversation(UserText("Attempt 2: the tests still fail.", kind="retry"))
    notices: list[str] = []
    chat = provider(server.base_url)
    turn = chat.complete(convo, [], lambda _: None, notices.append)
    chat.complete(convo, [], lambda _: None)
    roles = [[m["role"] for m in body["messages"]] for body in server.received]
    assert roles == [["system", "user", "user"], ["system", "user"], ["system", "user"]]
    assert server.received[1]["messages"][1]["content"] == (
        "Fix the bug.\n\nAttempt 2: the tests still fail."
    )
    assert turn.text == "a" and notices and "alternating roles" in notices[-1]


def test_sampling_reaches_a_custom_server_whole(scripted_server) -> None:
    server = scripted_server([{"text": "a"}, {"text": "b"}])
    sampling = Sampling(0.8, top_k=40, seed=3, max_tokens=2048, stop=("<tool_response>",))
    provider(server.base_url).complete(conversation(), [], lambda _: None, sampling=sampling)
    provider(server.base_url).complete(conversation(), [], lambda _: None)
    sent = server.received[0]
    assert (sent["temperature"], sent["top_p"], sent["seed"]) == (0.8, 1.0, 3)
    assert (sent["max_tokens"], sent["stop"]) == (2048, ["<tool_response>"])
    # llama.cpp's own defaults (repeat_penalty 1.1, min_p 0.05) would otherwise apply
    assert (sent["top_k"], sent["min_p"], sent["repeat_penalty"]) == (40, 0.0, 1.0)
    assert not {"temperature", "top_k", "repeat_penalty"} & set(server.received[1])


def test_openai_gets_no_llama_cpp_sampling_fields() -> None:
    sampling = Sampling(0.0, top_k=1, max_tokens=100)
    options = sampling_options(sampling, custom_server=False)
    assert options == {"temperature": 0.0, "top_p": 1.0, "max_completion_tokens": 100}


def test_usage_with_cached_tokens_is_read_from_the_stream(scripted_server) -> None:
    usage = {"prompt_tokens": 1200, "completion_tokens": 40, "cached_tokens": 1024}
    server = scripted_server([{"text": "hi", "usage": usage}])
    turn = provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert turn.usage == TokenUsage(prompt_tokens=1200, completion_tokens=40, cached_tokens=1024)
    assert server.received[0]["stream_options"] == {"include_usage": True}


def test_keyless_local_server_gets_a_placeholder_key(scripted_server) -> None:
    server = scripted_server([{"text": "hi"}])
    assert provider(server.base_url).complete(conversation(), [], lambda _: None).text == "hi"


def test_no_key_and_no_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        ChatProvider(Settings(model="gpt-4.1", api="chat"))


def test_unreachable_base_url_fails_fast_with_one_line(scripted_server) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        provider(url, api_key=KEY).complete(conversation(), TOOLS, lambda _: None)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "cannot reach model server at " + url in message
    assert "\n" not in message and KEY not in message
    assert caught.value.exit_code == 3


def test_repeated_http_500_becomes_provider_error_after_sdk_retries(scripted_server) -> None:
    server = scripted_server([{"status": 500, "error": "engine overloaded", "repeat": True}])
    with pytest.raises(ProviderError, match="HTTP 500.*engine overloaded"):
        provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert len(server.received) == 3


def test_a_single_http_500_is_retried_by_the_sdk(scripted_server) -> None:
    server = scripted_server([{"status": 503}, {"text": "recovered"}])
    turn = provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert turn.text == "recovered"
    assert len(server.received) == 2


def test_rejected_key_message_never_contains_the_key(scripted_server) -> None:
    server = scripted_server([{"status": 401, "error": f"Incorrect API key provided: {KEY}"}])
    with pytest.raises(ProviderError) as caught:
        provider(server.base_url, api_key=KEY).complete(conversation(), TOOLS, lambda _: None)
    assert "rejected the API key (401)" in str(caught.value)
    assert KEY not in str(caught.value) and "sk-test" not in str(caught.value)
    assert len(server.received) == 1


def test_unknown_model_names_the_model(scripted_server) -> None:
    server = scripted_server([{"status": 404, "error": "The model does not exist"}])
    with pytest.raises(ProviderError, match="model 'gpt-4.1-mini' .*not found.*does not exist"):
        provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)


def test_broken_stream_is_retried_once(scripted_server) -> None:
    server = scripted_server(
        [{"text": "I will now read the file", "break_stream": True}, {"text": "Complete answer."}]
    )
    deltas: list[str] = []
    turn = provider(server.base_url).complete(conversation(), TOOLS, deltas.append)
    assert turn.text == "Complete answer."
    assert RETRY_NOTICE in deltas
    assert "".join(deltas).endswith(RETRY_NOTICE + "Complete answer.")
    assert len(server.received) == 2 and server.received[0] == server.received[1]


def test_stream_breaking_twice_is_a_provider_error(scripted_server) -> None:
    server = scripted_server(
        [{"text": "partial answer here", "break_stream": True, "repeat": True}]
    )
    with pytest.raises(ProviderError, match="cannot reach model server"):
        provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert len(server.received) == 2


def test_slow_server_times_out_as_provider_error(scripted_server) -> None:
    server = scripted_server([{"delay_s": 3, "text": "late"}])
    chat = ChatProvider(Settings(model="m", base_url=server.base_url), timeout_s=0.5, max_retries=0)
    with pytest.raises(ProviderError, match="timed out"):
        chat.complete(conversation(), TOOLS, lambda _: None)


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
    with pytest.raises(ProviderError, match="overloaded"):
        provider(server.base_url).complete(conversation(), TOOLS, lambda _: None)
    assert len(server.received) == 2


def test_requests_grow_as_an_append_only_prefix_so_caches_hit(scripted_server) -> None:
    call = {"id": "call_1", "name": "read_file", "arguments": {"path": "a.py"}}
    server = scripted_server([{"tool_calls": [call]}, {"text": "done"}])
    chat = provider(server.base_url)
    convo = conversation()
    first = chat.complete(convo, TOOLS, lambda _: None)
    convo.append(first)
    convo.append(ToolResultItem("call_1", "read_file", "1: x = 1"))
    second = chat.complete(convo, TOOLS, lambda _: None)
    before, after = (body["messages"] for body in server.received)
    assert after[: len(before)] == before
    # The scripted server counts the shared prefix as cached, like a real prompt cache.
    assert first.usage.cached_tokens == 0
    assert second.usage.cached_tokens > 0.8 * first.usage.prompt_tokens
