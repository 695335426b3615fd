"""The Responses API over the official openai SDK: streaming, function tools, reasoning effort.

Stateless on purpose (store=False): the whole input goes out every turn as an append-only
list of items, so the server's prompt cache sees a growing prefix under one cache key.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import openai

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
from coder.providers.chat import (
    MAX_RETRIES,
    READ_TIMEOUT_S,
    StreamBroken,
    broken_twice,
    known_context,
    make_client,
    mark_mid_stream,
    parse_arguments,
    probe_model,
    provider_error,
    retry_notices,
    with_stream_retry,
)
from coder.results import ModelInfo, Sampling
from coder.text_tool_calls import format_tool_result, parse_tool_calls

_ENDED = {"response.completed", "response.incomplete"}
_REASONING_MODEL = re.compile(r"^(openai/)?(o\d|gpt-5|codex)")
"""Models whose reasoning items are worth carrying between turns (others reject the option)."""


class ResponsesProvider:
    """A model behind the Responses API (`client.responses.create`)."""

    def __init__(
        self,
        settings: Settings,
        timeout_s: float = READ_TIMEOUT_S,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self.model = settings.model_name
        self.reasoning_effort = settings.reasoning_effort
        self.service_tier = settings.service_tier
        self.client = make_client(settings, min(timeout_s, settings.model_timeout_s), max_retries)
        self.context_window = known_context(settings)
        self.cache_key = f"coder-{uuid.uuid4().hex[:16]}"
        """One prompt-cache key per provider, i.e. per session."""
        self.keep_reasoning = bool(settings.reasoning_effort or _REASONING_MODEL.match(self.model))
        """Ask for encrypted reasoning and send it back: with store=False that is the only way
        a reasoning model keeps its chain of thought across tool calls."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ResponsesProvider:
        """The provider for `settings` (model, base URL, key, reasoning effort)."""
        return cls(settings)

    def model_info(self) -> ModelInfo:
        """What the server says of the model (see `probe_model`)."""
        return probe_model(self.client, self.model)

    def complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
        on_notice: Callable[[str], None] = lambda message: None,
        sampling: Sampling | None = None,
    ) -> AssistantTurn:
        """Stream one answer to the whole conversation; see `coder.protocols.Provider`."""
        request: dict[str, Any] = {
            "model": self.model,
            "input": response_input(conversation),
            "stream": True,
            "store": False,
            "prompt_cache_key": self.cache_key,
        }
        if tools:
            request["tools"] = [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                    "strict": False,
                }
                for t in tools
            ]
        if self.reasoning_effort:
            request["reasoning"] = {"effort": self.reasoning_effort}
        if self.service_tier:
            request["service_tier"] = self.service_tier
        if self.keep_reasoning:
            request["include"] = ["reasoning.encrypted_content"]
        if sampling is not None and not self.keep_reasoning:  # reasoning models take none
            request["temperature"] = sampling.temperature
        names = [t.name for t in tools]
        with retry_notices(on_notice):
            return with_stream_retry(
                lambda: self._stream_once(request, names, on_delta),
                on_delta,
                self._error,
            )

    def _error(self, exc: Exception) -> Exception:
        if isinstance(exc, openai.OpenAIError):
            return provider_error(exc, self.client, self.model)
        return broken_twice(exc, self.client)

    def _stream_once(
        self, request: dict[str, Any], tool_names: list[str], on_delta: Callable[[str], None]
    ) -> AssistantTurn:
        text: list[str] = []
        calls: list[ToolCall] = []
        reasoning: list[dict[str, Any]] = []
        usage = TokenUsage()
        ended = False
        with self.client.responses.create(**request) as stream:
            for event in mark_mid_stream(stream):
                kind = event.type
                if kind == "response.output_text.delta":
                    text.append(event.delta)
                    on_delta(event.delta)
                elif kind == "response.output_item.done" and event.item.type == "function_call":
                    item = event.item
                    calls.append(ToolCall(item.call_id, item.name, parse_arguments(item.arguments)))
                elif kind == "response.output_item.done" and event.item.type == "reasoning":
                    reasoning.append(event.item.model_dump(mode="json", exclude_none=True))
                elif kind in _ENDED:
                    ended = True
                    usage = _usage(event.response.usage)
                elif kind == "response.failed":
                    error = event.response.error
                    detail = error.message if error else "no reason given"
                    raise StreamBroken(f"the response failed: {detail}")
                elif kind == "error":
                    raise StreamBroken(f"error event: {event.message}")
        if not ended:
            raise StreamBroken("the stream ended before response.completed")
        full = "".join(text)
        items = tuple(reasoning)  # sent back before this turn: it lives in the conversation
        if calls:
            return AssistantTurn(full, tuple(calls), usage, provider_items=items)
        in_text = tuple(parse_tool_calls(full, tool_names))
        return AssistantTurn(
            full, in_text, usage, calls_in_text=bool(in_text), provider_items=items
        )


def _usage(usage: Any) -> TokenUsage:
    if usage is None:
        return TokenUsage()
    details = getattr(usage, "input_tokens_details", None)
    output = getattr(usage, "output_tokens_details", None)
    return TokenUsage(
        prompt_tokens=usage.input_tokens or 0,
        completion_tokens=usage.output_tokens or 0,
        cached_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0,
        reasoning_tokens=(getattr(output, "reasoning_tokens", None) or 0) if output else 0,
    )


def response_input(
    conversation: Conversation,
) -> list[dict[str, Any]]:
    """The conversation as Responses input items (messages, function calls and outputs),
    each model turn preceded by the reasoning items it carries.

    A turn whose calls were written as text goes back as a plain assistant message, and its
    results as user messages, because the server never saw those call ids.
    """
    items: list[dict[str, Any]] = []
    text_mode = False
    for item in conversation.items():
        if isinstance(item, SystemText):
            items.append({"type": "message", "role": "system", "content": item.text})
        elif isinstance(item, UserText):
            items.append({"type": "message", "role": "user", "content": item.text})
        elif isinstance(item, ToolResultItem):
            if text_mode:
                text = format_tool_result(item.name, item.output)
                items.append({"type": "message", "role": "user", "content": text})
            else:
                items.append(
                    {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
                )
        else:
            text_mode = item.calls_in_text
            items.extend(item.provider_items)
            if item.text:
                items.append({"type": "message", "role": "assistant", "content": item.text})
            if not item.calls_in_text:
                items.extend(
                    {
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": json.dumps(call.arguments),
                    }
                    for call in item.tool_calls
                )
    return items
