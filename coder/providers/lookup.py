"""Prompt-lookup decoding for the embedded model: draft tokens copied from the context.

A small model writing code copies a great deal: the file it was shown, its own last
attempt, the names in the tests. When the tokens just generated also occur earlier in the
prompt or the answer, the tokens that followed them there are a cheap guess at what comes
next. llama.cpp checks the guess in one batch (on two cores, eight tokens cost about what
four single steps do). Every token is still sampled from the model's own distribution,
position by position, and a guess is kept only where the sampled token equals it: an answer
parts from plain decoding's only where a batch's logits differ from a single step's in their
last bits and that decides a near tie.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

MIN_MATCH = 3
MAX_MATCH = 10
"""The suffix of the context looked up: the longest of MIN_MATCH..MAX_MATCH tokens that
occurred before. A match of n tokens drafts n - 2 tokens: a longer match is more often
a real copy, and a rejected draft costs its whole batch (measured on the bench's answers:
about 1.3x faster generation, where fixed drafts of 8 were slower than none)."""


class DraftIndex:
    """Where each n-gram of the context (MIN_MATCH..MAX_MATCH tokens) last ended."""

    def __init__(self, tokens: Sequence[int]) -> None:
        self.tokens: list[int] = []
        self._ends: dict[tuple[int, ...], int] = {}
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        """Add one token; the n-grams before it now point at it as their continuation."""
        tokens = self.tokens
        size = len(tokens)
        for n in range(MIN_MATCH, min(MAX_MATCH, size) + 1):
            self._ends[tuple(tokens[size - n :])] = size
        tokens.append(token)

    def draft(self) -> list[int]:
        """The tokens that followed the latest earlier occurrence of the longest suffix."""
        tokens = self.tokens
        size = len(tokens)
        for n in range(min(MAX_MATCH, size - 1), MIN_MATCH - 1, -1):
            start = self._ends.get(tuple(tokens[size - n :]))
            if start is not None:
                return tokens[start : start + n - 2]
        return []


@dataclass
class DraftCounts:
    """What one generation reused and drafted."""

    reused: int = 0
    """Prompt tokens whose KV cache was reused (llama.cpp evaluates at least the last)."""
    drafted: int = 0
    kept: int = 0
    """Drafted tokens the model sampled too."""


def generate(
    llm: Any, prompt: list[int], options: dict[str, Any], counts: DraftCounts | None = None
) -> Iterator[int]:
    """Sample tokens after `prompt` from a llama_cpp.Llama as `Llama.generate` does
    (reusing the KV cache's common prefix; `options` are its sampling arguments), with the
    drafts of a DraftIndex checked in one batch each.

    Only a checked batch asks llama.cpp for the logits of every position; the prompt's
    prefill asks for the last one only (`Llama(draft_model=...)` would keep the logits of
    every prompt token, n_ctx x n_vocab floats). `llm.n_tokens` and `llm.input_ids` always
    describe the KV cache, so the next call reuses it, wherever the caller stops.
    """
    counts = counts if counts is not None else DraftCounts()
    cached = llm.input_ids[: llm.n_tokens].tolist()
    reused = 0
    for have, want in zip(cached, prompt[:-1], strict=False):
        if have != want:
            break
        reused += 1
    counts.reused = llm.n_tokens = reused
    llm.eval(prompt[reused:])  # drops the cache after `reused`, then prefills the rest
    sampler = llm._init_sampler(**options)
    index = DraftIndex(prompt)
    token = sampler.sample(llm._ctx, -1)
    while True:
        yield token
        index.append(token)
        draft = index.draft()[: llm.n_ctx() - llm.n_tokens - 1]
        batch = [token, *draft]
        past = llm.n_tokens
        llm._ctx.kv_cache_seq_rm(-1, past, -1)
        llm._batch.set_batch(batch=batch, n_past=past, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[past : past + len(batch)] = batch
        llm.n_tokens = past + 1
        counts.drafted += len(draft)
        token = sampler.sample(llm._ctx, 0)
        for position, guess in enumerate(draft, start=1):
            if token != guess:
                break
            llm.n_tokens = past + position + 1
            counts.kept += 1
            yield token
            index.append(token)
            token = sampler.sample(llm._ctx, position)
