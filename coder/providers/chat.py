"""Chat Completions over the official openai SDK: streaming, native tools, text-call fallback.

Also owns what the two OpenAI wire formats share: building the client, turning every SDK
failure into a one-line `ProviderError`, and retrying once when a stream breaks mid-answer.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

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
from coder.errors import ConfigError, ContextOverflow, ProviderError
from coder.providers.usage import model_info as table_entry
from coder.results import ModelInfo, Sampling
from coder.text_tool_calls import format_tool_result, loads_lenient, parse_tool_calls

T = TypeVar("T")

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 300.0
"""Longest silence between two streamed chunks (a reasoning model may think for minutes)."""
MAX_RETRIES = 2
"""SDK retries of connection errors, 408/409/429 and 5xx, with backoff (honours Retry-After)."""
PLACEHOLDER_KEY = "not-needed"
"""Sent as the API key to a local server that needs none (the SDK insists on one)."""
RETRY_NOTICE = "\n[stream interrupted; asking again]\n"
"""Streamed to on_delta before the one retry, so a reader sees why text repeats."""


_OVERFLOW = re.compile(
    r"context.length|maximum context|context window|too many tokens|prompt is too long"
    r"|exceeds? (the )?(model's )?(maximum )?context|reduce the length",
    re.IGNORECASE,
)
"""How endpoints (OpenAI, vLLM, llama.cpp, Ollama, LM Studio) say the prompt is too long."""


class StreamBroken(Exception):
    """The response started but its stream ended before the answer was complete."""


class _RetryNotices(logging.Handler):
    """Turns the SDK's own retry log lines into notices for whoever is waiting on that thread."""

    listeners: dict[int, Callable[[str], None]] = {}
    status: dict[int, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        thread = threading.get_ident()
        listener = self.listeners.get(thread)
        if listener is None:
            return
        args = record.args if isinstance(record.args, tuple) else ()
        if str(record.msg).startswith("Encountered an HTTP status error") and args:
            self.status[thread] = int(str(args[0]))
        elif str(record.msg).startswith("Retrying request in") and len(args) == 3:
            wait, number, total = args
            status = self.status.pop(thread, None)
            why = f"answered HTTP {status}" if status else "did not answer"
            listener(
                f"the model server {why}: retrying in {float(str(wait)):.1f} s "
                f"(retry {number} of {total})"
            )


_HANDLER = _RetryNotices()


@contextmanager
def retry_notices(on_notice: Callable[[str], None]) -> Iterator[None]:
    """Report the SDK's retries (429, 5xx, connection errors) on this thread to `on_notice`."""
    logger = logging.getLogger("openai._base_client")
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
        logger.setLevel(logging.DEBUG)
    thread = threading.get_ident()
    _RetryNotices.listeners[thread] = on_notice
    try:
        yield
    finally:
        _RetryNotices.listeners.pop(thread, None)
        _RetryNotices.status.pop(thread, None)


def make_client(
    settings: Settings, timeout_s: float = READ_TIMEOUT_S, max_retries: int = MAX_RETRIES
) -> openai.OpenAI:
    """An SDK client for the settings' endpoint; a placeholder key for keyless local servers."""
    api_key = settings.api_key
    if not api_key:
        if not settings.base_url:
            raise ConfigError(
                "no API key: set OPENAI_API_KEY (or api-key in config), "
                "or --base-url for a local OpenAI-compatible server"
            )
        api_key = PLACEHOLDER_KEY
    return openai.OpenAI(
        api_key=api_key,
        base_url=settings.base_url or None,
        timeout=openai.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
        max_retries=max_retries,
    )


def provider_error(exc: openai.OpenAIError, client: openai.OpenAI, model: str) -> ProviderError:
    """One line saying what went wrong talking to the model; never contains the API key."""
    where = str(client.base_url).rstrip("/")
    if isinstance(exc, openai.APITimeoutError):
        message = f"model server at {where} timed out"
    elif isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        message = f"cannot reach model server at {where}: {cause or exc}"
    elif isinstance(exc, openai.APIStatusError):
        detail = _error_detail(exc)
        status = exc.status_code
        if status == 401:
            message = f"model server at {where} rejected the API key (401): {detail}"
        elif status == 404:
            message = f"model {model!r} or its endpoint not found at {where} (404): {detail}"
        elif status in (400, 413, 422) and (
            _OVERFLOW.search(detail) or _error_code(exc) == "context_length_exceeded"
        ):
            return ContextOverflow(
                _one_line(f"the conversation is too long for {model!r}: {detail}", client.api_key)
            )
        elif status == 429 or status >= 500:
            message = f"model server at {where} kept failing (HTTP {status}): {detail}"
        else:
            message = f"model server at {where} refused the request (HTTP {status}): {detail}"
    else:
        message = f"model server at {where} failed: {exc}"
    return ProviderError(_one_line(message, client.api_key))


def _error_code(exc: openai.APIStatusError) -> str:
    body = exc.body
    error = body.get("error", body) if isinstance(body, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def _error_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return exc.message


def _one_line(message: str, secret: str | None, limit: int = 400) -> str:
    if secret and secret != PLACEHOLDER_KEY:
        message = message.replace(secret, "***")
    # Servers echo partial keys too ("Incorrect API key provided: sk-abc***xyz").
    message = re.sub(r"\bsk-[A-Za-z0-9_*\-]{6,}", "sk-***", message)
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def with_stream_retry(
    attempt: Callable[[], T],
    on_delta: Callable[[str], None],
    fail: Callable[[Exception], Exception],
) -> T:
    """Run `attempt`; if its stream breaks mid-answer, run it once more. The SDK already
    retried the request itself; `fail` turns the final failure into a ProviderError."""
    try:
        return attempt()
    except (StreamBroken, openai.APIError) as first:
        if not isinstance(first, StreamBroken) and not getattr(first, "mid_stream", False):
            raise fail(first) from None
    on_delta(RETRY_NOTICE)
    try:
        return attempt()
    except (StreamBroken, openai.APIError) as second:
        raise fail(second) from None


def mark_mid_stream(stream: Iterator[T]) -> Iterator[T]:
    """Iterate an SDK stream, tagging SDK errors raised while reading it as mid-stream; an
    event that is not JSON breaks the stream (it is retried once, like a cut)."""
    try:
        yield from stream
    except openai.APIError as exc:
        exc.mid_stream = True  # type: ignore[attr-defined]
        raise
    except ValueError as exc:  # json.JSONDecodeError from a malformed server-sent event
        raise StreamBroken(f"a malformed event in the stream ({exc})") from None


def broken_twice(exc: Exception, client: openai.OpenAI) -> ProviderError:
    """The error when a stream broke, was retried, and broke again."""
    where = str(client.base_url).rstrip("/")
    return ProviderError(_one_line(f"model at {where} failed twice mid-answer: {exc}", None))


def probe_model(client: openai.OpenAI, model: str) -> ModelInfo:
    """What the server says of `model` (`GET /v1/models`): its id and, where the server
    tells (llama.cpp's meta), parameters and training context. Never raises."""
    try:
        listing = client.with_options(timeout=5.0, max_retries=0).models.list()
        entries = [entry.model_dump() for entry in listing.data]
    except (openai.OpenAIError, ValueError, TypeError):
        return ModelInfo(model)
    entry = next((e for e in entries if e.get("id") == model), entries[0] if entries else {})
    meta = entry.get("meta") or {}
    params = meta.get("n_params")
    parameters_b = float(params) / 1e9 if isinstance(params, (int, float)) and params else None
    context = meta.get("n_ctx") or meta.get("n_ctx_train")
    name = model if entry.get("id") in (None, model) else f"{model} ({entry.get('id')})"
    source = "the server's model list"
    return ModelInfo(name, parameters_b, context if isinstance(context, int) else None, source)


def known_context(settings: Settings) -> int | None:
    """The context window the user configured, or the model table's."""
    if settings.context_window:
        return settings.context_window
    entry = table_entry(settings.model_name)
    value = entry.get("context_window") if entry else None
    return int(value) if isinstance(value, int) else None


_ALTERNATE = re.compile(r"roles must alternate", re.I)
"""How Jinja chat templates (Mistral, Llama 2, Gemma) refuse two user messages in a row."""


def sampling_options(sampling: Sampling | None, custom_server: bool) -> dict[str, Any]:
    """Request fields for `sampling`; top_k, min_p and repeat_penalty only for servers that
    take them (llama.cpp, LM Studio, Ollama's OpenAI endpoint), never for OpenAI."""
    if sampling is None:
        return {}
    options: dict[str, Any] = {"temperature": sampling.temperature, "top_p": sampling.top_p}
    if sampling.seed is not None:
        options["seed"] = sampling.seed
    if sampling.max_tokens:
        # OpenAI's reasoning models refuse the older max_tokens
        key = "max_tokens" if custom_server else "max_completion_tokens"
        options[key] = sampling.max_tokens
    if sampling.stop:
        options["stop"] = list(sampling.stop)
    if custom_server:
        extra: dict[str, Any] = {
            "min_p": sampling.min_p,
            "repeat_penalty": sampling.repeat_penalty,
        }
        if sampling.top_k:
            extra["top_k"] = sampling.top_k
        options["extra_body"] = extra
    return options


def parse_arguments(raw: str | None) -> dict[str, Any]:
    """A tool call's JSON arguments as a dict ({} when empty or unparseable)."""
    if not raw or not raw.strip():
        return {}
    value = loads_lenient(raw)
    return value if isinstance(value, dict) else {}


class ChatProvider:
    """A model behind Chat Completions (OpenAI, or any OpenAI-compatible server)."""

    def __init__(
        self,
        settings: Settings,
        timeout_s: float = READ_TIMEOUT_S,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self.model = settings.model_name
        self.reasoning_effort = settings.reasoning_effort
        self.service_tier = settings.service_tier
        timeout_s = min(timeout_s, settings.model_timeout_s)
        self.client = make_client(settings, timeout_s, max_retries)
        self.custom_server = bool(settings.base_url)
        self.context_window = known_context(settings)
        # OpenAI groups cached prompts by this key; other servers may reject unknown fields.
        self.cache_key = None if settings.base_url else f"coder-{uuid.uuid4().hex[:16]}"
        self.join_users = False
        """Join consecutive user messages: only once a server's chat template refused them
        (a small model reads the task and a retry message best as two messages)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatProvider:
        """The provider for `settings` (model, base URL, key, reasoning effort)."""
        return cls(settings)

    def model_info(self) -> ModelInfo:
        """What the server says of the model (see `probe_model`)."""
        info = probe_model(self.client, self.model)
        if self.context_window is None and info.context_window:
            self.context_window = info.context_window
        return info

    def complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
        on_notice: Callable[[str], None] = lambda message: None,
        sampling: Sampling | None = None,
    ) -> AssistantTurn:
        """Stream one answer to the whole conversation; see `coder.protocols.Provider`."""
        try:
            return self._complete(conversation, tools, on_delta, on_notice, sampling)
        except ProviderError as exc:
            if self.join_users or not _ALTERNATE.search(str(exc)):
                raise
            self.join_users = True
            on_notice("the server's chat template wants alternating roles: user texts joined")
            return self._complete(conversation, tools, on_delta, on_notice, sampling)

    def _complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
        on_notice: Callable[[str], None],
        sampling: Sampling | None,
    ) -> AssistantTurn:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(conversation, self.join_users),
            "stream": True,
            "stream_options": {"include_usage": True},
            **sampling_options(sampling, self.custom_server),
        }
        if tools:
            request["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
        if self.reasoning_effort:
            request["reasoning_effort"] = self.reasoning_effort
        if self.cache_key:
            request["prompt_cache_key"] = self.cache_key
        if self.service_tier:
            request["service_tier"] = self.service_tier
        names = [t.name for t in tools]
        with retry_notices(on_notice):
            return with_stream_retry(
                lambda: self._stream_once(request, names, on_delta),
                on_delta,
                lambda exc: (
                    provider_error(exc, self.client, self.model)
                    if isinstance(exc, openai.OpenAIError)
                    else broken_twice(exc, self.client)
                ),
            )

    def _stream_once(
        self, request: dict[str, Any], tool_names: list[str], on_delta: Callable[[str], None]
    ) -> AssistantTurn:
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage = TokenUsage()
        finished = False
        # Closing the stream on any exit (an interrupt raised from on_delta included)
        # drops the connection, so the server stops generating.
        with self.client.chat.completions.create(**request) as stream:
            for chunk in mark_mid_stream(stream):
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        on_delta(delta.content)
                    for call in delta.tool_calls or []:
                        entry = calls.setdefault(
                            call.index, {"id": "", "name": "", "arguments": ""}
                        )
                        if call.id:
                            entry["id"] = call.id
                        if call.function and call.function.name and not entry["name"]:
                            entry["name"] = call.function.name
                        if call.function and call.function.arguments:
                            entry["arguments"] += call.function.arguments
                    if choice.finish_reason:
                        finished = True
        if not finished and not text and not calls:
            raise StreamBroken("the stream ended before any answer")
        full = "".join(text)
        native = tuple(
            ToolCall(
                id=entry["id"] or f"call_{index}",
                name=entry["name"],
                arguments=parse_arguments(entry["arguments"]),
            )
            for index, entry in sorted(calls.items())
        )
        if native:
            return AssistantTurn(text=full, tool_calls=native, usage=usage)
        in_text = tuple(parse_tool_calls(full, tool_names))
        return AssistantTurn(
            text=full, tool_calls=in_text, usage=usage, calls_in_text=bool(in_text)
        )


def _usage(usage: Any) -> TokenUsage:
    details = getattr(usage, "prompt_tokens_details", None)
    output = getattr(usage, "completion_tokens_details", None)
    return TokenUsage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        cached_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0,
        reasoning_tokens=(getattr(output, "reasoning_tokens", None) or 0) if output else 0,
    )


def chat_messages(conversation: Conversation, join_users: bool = False) -> list[dict[str, Any]]:
    """The conversation as Chat Completions messages.

    A turn whose calls were written as text goes back as plain assistant text, and its
    results as user messages, because the server never saw tool-call ids. `join_users`
    joins consecutive user messages, for chat templates that demand alternating roles.
    """
    messages: list[dict[str, Any]] = []
    text_mode = False
    for item in conversation.items():
        if isinstance(item, SystemText):
            messages.append({"role": "system", "content": item.text})
        elif isinstance(item, UserText):
            _add_user(messages, item.text, join_users)
        elif isinstance(item, ToolResultItem):
            if text_mode:
                _add_user(messages, format_tool_result(item.name, item.output), join_users)
            else:
                messages.append(
                    {"role": "tool", "tool_call_id": item.call_id, "content": item.output}
                )
        else:
            text_mode = item.calls_in_text
            message: dict[str, Any] = {"role": "assistant", "content": item.text}
            if item.tool_calls and not item.calls_in_text:
                message["content"] = item.text or None
                message["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                    for call in item.tool_calls
                ]
            messages.append(message)
    return messages


def _add_user(messages: list[dict[str, Any]], text: str, join: bool) -> None:
    """Append user text (joined to a preceding user message when `join`)."""
    if join and messages and messages[-1]["role"] == "user":
        messages[-1] = {"role": "user", "content": f"{messages[-1]['content']}\n\n{text}"}
    else:
        messages.append({"role": "user", "content": text})
