"""The embedded model: Qwen2.5-Coder-1.5B (GGUF) through llama-cpp-python on the CPU.

Owns the local wire format only: a ChatML prompt built append-only from the conversation
it is given (so llama.cpp reuses the KV cache of the unchanged prefix every turn; the exact
tokens of each generated turn are kept so the next prompt matches them), generation with
the sampling and length asked for (what the answer copies from the context is drafted and
checked in batches: `coder.providers.lookup`), stop texts, an answer that falls into a loop cut
after its first copy, and `<tool_call>` JSON for the tools declared to it
(listed in the system message, Qwen's way). What the model is shown and how its code
blocks become edits belong to the small profile (`coder.profiles.small`).
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coder import INSTALL_LOCAL
from coder.config import LOCAL_MODEL
from coder.conversation import (
    AssistantTurn,
    Conversation,
    Item,
    SystemText,
    TokenUsage,
    ToolResultItem,
    ToolSpec,
    UserText,
)
from coder.errors import ContextOverflow, ProviderError, UsageError
from coder.providers.lookup import DraftCounts
from coder.providers.lookup import generate as generate_with_lookup
from coder.providers.weights import require_model_path
from coder.results import ModelInfo, Sampling
from coder.text_tool_calls import parse_tool_calls

if TYPE_CHECKING:
    from coder.config import Settings

log = logging.getLogger("coder.local")

DEFAULT_CONTEXT = 12288
MAX_NEW_TOKENS = 2048
PARAMETERS_B = 1.5
_STOP_TEXT = ("<tool_response>", "<|im_start|>")
LOOP_MIN_CHARS = 400
LOOP_MAX_PERIOD = 400
"""An answer ending in one block of at most LOOP_MAX_PERIOD characters repeated thrice or
more, LOOP_MIN_CHARS in all, is in a loop (greedy decoding of a small model falls into
them: one sentence over and over until the token limit, minutes on a CPU)."""
LOOP_LONG_BLOCK = 400
LOOP_MAX_LONG_BLOCK = 8000
"""An answer ending in two verbatim copies of a block of LOOP_LONG_BLOCK characters or more
is in a loop too (a rewritten method, again and again: a model writing code never means to
repeat that much word for word)."""
_LOOP_PROBE = 64
_LOOP_PROBES = 64


class LocalProvider:
    """Provider over an in-process llama.cpp model; see the module docstring."""

    def __init__(
        self,
        model_path: Path,
        n_ctx: int = DEFAULT_CONTEXT,
        n_threads: int | None = None,
        max_new_tokens: int = MAX_NEW_TOKENS,
    ) -> None:
        self.model = LOCAL_MODEL
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.context_window: int | None = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 2
        self.max_new_tokens = max_new_tokens
        self._lock = threading.Lock()
        self._llm: Any = None
        self._segments: dict[tuple[str, str], list[int]] = {}
        self._generated: dict[str, list[int]] = {}
        """The exact tokens generated for each answer's text, so the next prompt matches the
        KV cache (a re-tokenized text can differ); keyed by text, as a profile may re-make
        the turn around it."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalProvider:
        """Check that llama-cpp-python and the weights are present; the model loads lazily."""
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise UsageError(
                f"the embedded model needs llama-cpp-python: {INSTALL_LOCAL}"
            ) from None
        path = require_model_path(settings.model_path)
        return cls(path, n_ctx=settings.context_window or DEFAULT_CONTEXT)

    def model_info(self) -> ModelInfo:
        """The embedded weights: 1.5B parameters, the context it was loaded with."""
        return ModelInfo(self.model, PARAMETERS_B, self.n_ctx, "the embedded weights")

    def complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
        on_notice: Callable[[str], None] = lambda message: None,
        sampling: Sampling | None = None,
    ) -> AssistantTurn:
        """Prefill only the new part of the prompt, generate, and parse `<tool_call>`s."""
        # An interrupted call may still be prefilling in its abandoned thread; llama.cpp's
        # context is not reentrant, so the next call waits for it to stop at its next token.
        with self._lock:
            return self._complete(conversation, tools, on_delta, sampling or Sampling())

    def _complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
        sampling: Sampling,
    ) -> AssistantTurn:
        llm = self._load()
        prompt = self._prompt(conversation, tools)
        if sampling.prefix:
            prompt += self._segment(sampling.prefix, special=False)
        reserve = min(self.max_new_tokens, self.n_ctx // 4)
        if len(prompt) + reserve > self.n_ctx:
            raise ContextOverflow(
                f"the conversation ({len(prompt)} tokens) does not fit the local model's "
                f"context of {self.n_ctx} tokens"
            )
        budget = min(
            self.max_new_tokens, sampling.max_tokens or self.n_ctx, self.n_ctx - len(prompt)
        )
        started = time.monotonic()
        if sampling.prefix:
            on_delta(sampling.prefix)
        counts = DraftCounts()
        tokens, text, first_token_at = self._generate(
            llm, prompt, budget, on_delta, sampling, counts
        )
        generated = len(tokens)
        if sampling.prefix:
            tokens = self._segment(sampling.prefix, special=False) + tokens
            text = sampling.prefix + text
        done = time.monotonic()
        prefill_s = (first_token_at or done) - started
        log.info(
            "prefilled %d, reused %d tokens (%.1f s); generated %d tokens (%.1f s), "
            "%d of %d drafted from the context kept",
            len(prompt) - counts.reused,
            counts.reused,
            prefill_s,
            generated,
            done - (first_token_at or done),
            counts.kept,
            counts.drafted,
        )
        usage = TokenUsage(len(prompt), generated, counts.reused)
        calls = parse_tool_calls(text, [spec.name for spec in tools]) if tools else []
        turn = AssistantTurn(text, tuple(calls), usage, calls_in_text=True)
        self._generated[text] = tokens
        return turn

    def _load(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama

            started = time.monotonic()
            try:
                self._llm = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_batch=512,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(f"cannot load {self.model_path}: {exc}") from None
            self._eos = {
                self._llm.token_eos(),
                *self._special("<|im_end|>"),
                *self._special("<|endoftext|>"),
            }
            log.info("loaded %s in %.1f s", self.model_path.name, time.monotonic() - started)
        return self._llm

    def _special(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode(), add_bos=False, special=True)  # type: ignore[no-any-return]

    # -- prompt ---------------------------------------------------------------------------

    def _prompt(self, conversation: Conversation, tools: list[ToolSpec]) -> list[int]:
        tokens: list[int] = []
        for item in conversation.items():
            tokens += self._item_tokens(item, tools)
        return tokens + self._segment("<|im_start|>assistant\n", special=True)

    def _item_tokens(self, item: Item, tools: list[ToolSpec]) -> list[int]:
        if isinstance(item, SystemText):
            body = item.text.rstrip() + (("\n\n" + tool_section(tools)) if tools else "")
            return self._message("system", body)
        if isinstance(item, UserText):
            return self._message("user", item.text)
        if isinstance(item, ToolResultItem):
            return self._message("user", f"<tool_response>\n{item.output}\n</tool_response>")
        generated = self._generated.get(item.text)
        if generated is not None and (item.calls_in_text or not item.tool_calls):
            return [
                *self._segment("<|im_start|>assistant\n", special=True),
                *generated,
                *self._segment("<|im_end|>\n", special=True),
            ]
        return self._message("assistant", render_assistant(item))

    def _message(self, role: str, body: str) -> list[int]:
        return [
            *self._segment(f"<|im_start|>{role}\n", special=True),
            *self._segment(body, special=False),
            *self._segment("<|im_end|>\n", special=True),
        ]

    def _segment(self, text: str, special: bool) -> list[int]:
        key = ("s" if special else "t", text)
        found = self._segments.get(key)
        if found is None:
            found = self._llm.tokenize(text.encode(), add_bos=False, special=special)
            self._segments[key] = found
        return list(found)

    # -- generation -----------------------------------------------------------------------

    def _generate(
        self,
        llm: Any,
        prompt: list[int],
        budget: int,
        on_delta: Callable[[str], None],
        sampling: Sampling,
        counts: DraftCounts,
    ) -> tuple[list[int], str, float | None]:
        """Sample until end of turn, a stop text or the budget; returns (tokens, text, t0)."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        tokens: list[int] = []
        ends: list[int] = []  # text length after each token
        text = ""
        first_at: float | None = None
        shown = 0
        if sampling.temperature <= 0:
            options: dict[str, Any] = {"temp": 0.0, "top_k": 1}
        else:
            options = {
                "temp": sampling.temperature,
                "top_k": sampling.top_k or 40,
                "top_p": sampling.top_p,
                "min_p": sampling.min_p,
            }
        if sampling.seed is not None:
            llm.set_seed(sampling.seed)
        options["repeat_penalty"] = sampling.repeat_penalty
        stops = (*_STOP_TEXT, *sampling.stop)
        for token in generate_with_lookup(llm, prompt, options, counts):
            if first_at is None:
                first_at = time.monotonic()
            if token in self._eos:
                break
            tokens.append(token)
            text += decoder.decode(llm.detokenize([token]))
            ends.append(len(text))
            cut = _stop_at(text, stops)
            if cut is not None:
                keep = sum(1 for end in ends if end <= cut)
                tokens, text = tokens[:keep], text[:cut]
                break
            loop = loop_start(text)
            if loop is not None:
                log.info("cut a loop: the answer repeats itself from character %d", loop)
                keep = sum(1 for end in ends if end <= loop)
                tokens, text = tokens[:keep], text[: ends[keep - 1] if keep else 0]
                shown = min(shown, len(text))
                break
            safe = _safe_prefix(text, stops)
            if safe > shown:
                on_delta(text[shown:safe])
                shown = safe
            if len(tokens) >= budget:
                break
        if len(text) > shown:
            on_delta(text[shown:])
        return tokens, text, first_at


def tool_section(tools: list[ToolSpec]) -> str:
    """The tools declared to the model, in Qwen2.5's own system-prompt format."""
    schemas = "\n".join(
        json.dumps({"type": "function", "function": {"name": t.name, "description": t.description,
                                                     "parameters": t.parameters}})
        for t in tools
    )  # fmt: skip
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        f"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        f"{schemas}\n</tools>\n\nFor each function call, return a json object with function "
        "name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def render_assistant(turn: AssistantTurn) -> str:
    """An assistant turn not generated here, in the text protocol."""
    if turn.calls_in_text or not turn.tool_calls:
        return turn.text
    calls = [
        f'<tool_call>\n{{"name": "{c.name}", "arguments": {json.dumps(c.arguments)}}}\n</tool_call>'
        for c in turn.tool_calls
    ]
    return "\n".join([turn.text, *calls]).strip()


def loop_start(text: str) -> int | None:
    """Where the repeats begin when `text` ends in a loop (see LOOP_MIN_CHARS and
    LOOP_LONG_BLOCK): the first copy of the repeated block is kept; None when it does not."""
    size = len(text)
    if size < LOOP_MIN_CHARS:
        return None
    for period in range(1, min(LOOP_MAX_PERIOD, size // 3) + 1):
        block = text[size - period :]
        copies = 1
        while (copies + 1) * period <= size and (
            text[size - (copies + 1) * period : size - copies * period] == block
        ):
            copies += 1
        if copies >= 3 and copies * period >= LOOP_MIN_CHARS:
            return size - (copies - 1) * period
    return _long_block_start(text)


def _long_block_start(text: str) -> int | None:
    """Where the second copy begins when `text` ends in a long block written twice."""
    size = len(text)
    if size < 2 * LOOP_LONG_BLOCK:
        return None
    probe = text[size - _LOOP_PROBE :]
    end = size - 1
    for _ in range(_LOOP_PROBES):  # earlier copies of the tail, nearest first
        found = text.rfind(probe, 0, end)
        if found == -1:
            return None
        period = size - _LOOP_PROBE - found
        if period > min(size // 2, LOOP_MAX_LONG_BLOCK):
            return None
        if (
            period >= LOOP_LONG_BLOCK
            and text[size - 2 * period : size - period] == text[size - period :]
        ):
            return size - period
        end = found + _LOOP_PROBE - 1
    return None


def _stop_at(text: str, stops: tuple[str, ...] = _STOP_TEXT) -> int | None:
    positions = [text.find(stop) for stop in stops]
    positions = [p for p in positions if p != -1]
    return min(positions) if positions else None


def _safe_prefix(text: str, stops: tuple[str, ...] = _STOP_TEXT) -> int:
    """How much of `text` can be streamed without showing the start of a stop text."""
    held = 0
    for stop in stops:
        for size in range(len(stop) - 1, held, -1):
            if text.endswith(stop[:size]):
                held = size
                break
    return len(text) - held
