"""Prompt-lookup decoding: drafts from the context, checked by the real embedded model."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

import pytest

from coder.conversation import Conversation, SystemText, UserText
from coder.providers.local import LocalProvider
from coder.providers.lookup import DraftCounts, DraftIndex, generate
from coder.results import Sampling
from tests.local.conftest import require_model

SOURCE = '''def mean(values):
    """The arithmetic mean of a non-empty list of numbers."""
    total = 0
    for value in values:
        total += value
    return total / len(values)
'''


def test_the_draft_is_what_followed_the_latest_earlier_copy_of_the_longest_suffix() -> None:
    index = DraftIndex([1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 50, 51, 52, 53])
    for token in (9, 2, 3, 4):
        index.append(token)
    # [2, 3, 4] last went on with 50...; [9, 2, 3, 4] (longer) only once, with 50 too
    assert index.draft() == [50, 51]
    index.append(60)
    assert index.draft() == []  # [3, 4, 60] never occurred


def test_a_longer_match_drafts_more_and_two_tokens_draft_nothing() -> None:
    context = list(range(100, 120))
    index = DraftIndex([*context, 7, 8])
    for token in context[:9]:
        index.append(token)
    assert index.draft() == context[9:16]  # a 9-token match drafts 7
    short = DraftIndex([1, 2, 3, 1, 2])
    assert short.draft() == []  # [1, 2] is too short a match to guess from


def _code_block(text: str) -> str:
    found = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert found is not None, text
    return found[1]


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    yield LocalProvider(require_model(), n_ctx=2048, max_new_tokens=160)


def _copy_prompt(llm: Any) -> list[int]:
    text = (
        "<|im_start|>user\nRepeat this function exactly, in a ```python block:\n\n"
        f"{SOURCE}<|im_end|>\n<|im_start|>assistant\n"
    )
    return llm.tokenize(text.encode(), add_bos=False, special=True)  # type: ignore[no-any-return]


@pytest.mark.local_model
def test_a_greedy_copy_is_plain_decodings_with_most_tokens_drafted(
    provider: LocalProvider,
) -> None:
    llm = provider._load()
    prompt = _copy_prompt(llm)
    greedy = {"temp": 0.0, "top_k": 1, "repeat_penalty": 1.0}
    plain = list(islice(llm.generate(prompt, reset=True, **greedy), 60))
    llm.reset()  # the next call prefills from scratch too
    counts = DraftCounts()
    drafted = list(islice(generate(llm, prompt, greedy, counts), 60))
    # the same code block, word for word (the prose after it may part at a near tie: a
    # batch's logits can differ from a single step's in their last bits)
    code = _code_block(llm.detokenize(drafted).decode())
    assert code == SOURCE
    assert _code_block(llm.detokenize(plain).decode()) == code
    assert counts.kept >= 30  # most of the copy came from drafts
    # the cache describes the prompt and the answer, so a longer prompt reuses all of it
    assert llm.input_ids[: len(prompt)].tolist() == prompt
    assert len(prompt) < llm.n_tokens <= len(prompt) + len(drafted)


@pytest.mark.local_model
def test_the_provider_logs_how_many_drafted_tokens_were_kept(
    provider: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    conversation = Conversation()
    conversation.set_section("system", SystemText("You copy code exactly."))
    conversation.set_section(
        "task", UserText(f"Repeat this function exactly, in a ```python block:\n\n{SOURCE}")
    )
    with caplog.at_level(logging.INFO, logger="coder.local"):
        turn = provider.complete(conversation, [], lambda text: None, sampling=Sampling())
    assert "total += value" in turn.text
    counted = re.search(r"(\d+) of (\d+) drafted from the context kept", caplog.text)
    assert counted is not None
    assert 0 < int(counted[1]) <= int(counted[2])
