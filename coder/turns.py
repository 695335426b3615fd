"""One model turn: the provider called in a cancellable helper thread, within a deadline,
with a context overflow answered by compacting and asking again.

The agent calls `ask`; nothing here knows which provider or profile is in use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from coder.cancellable import run_cancellable
from coder.conversation import AssistantTurn, Conversation, ToolSpec
from coder.errors import ContextOverflow, Interrupted, ProviderError
from coder.protocols import Provider, View
from coder.textsafe import map_strings, valid_utf8

COMPACTION_STEPS = ((6, 400), (2, 150), (0, 60))
"""(turns kept whole, characters kept of older tool outputs) tried in turn on an overflow."""


def valid_turn(turn: AssistantTurn) -> AssistantTurn:
    """The model's turn with any lone surrogate (from a JSON `\\ud800`) escaped, so it can be
    sent back and written to JSON Lines."""
    text = valid_utf8(turn.text)
    calls = tuple(
        replace(call, arguments=map_strings(call.arguments, valid_utf8)) for call in turn.tool_calls
    )
    if text == turn.text and calls == turn.tool_calls:
        return turn
    return replace(turn, text=text, tool_calls=calls)


def ask(
    provider: Provider,
    view: Callable[[], View],
    conversation: Conversation,
    tools: list[ToolSpec],
    cancel: threading.Event,
    on_delta: Callable[[str], None],
    on_notice: Callable[[str], None],
    timeout_s: float,
    on_timeout: Callable[[], BaseException] | None = None,
) -> AssistantTurn:
    """The provider's next turn. An interrupt returns at once, even before the first token;
    past `timeout_s` the run ends (`on_timeout()` is raised, by default a ProviderError:
    exit 3); an endpoint that says the
    conversation is too long gets it compacted (old tool outputs shortened) and is asked
    again."""
    steps = list(COMPACTION_STEPS)
    while True:
        try:
            return valid_turn(
                _call(provider, view(), tools, cancel, on_delta, on_notice, timeout_s, on_timeout)
            )
        except ContextOverflow as exc:
            removed = 0
            while steps and not removed:
                keep_last, max_chars = steps.pop(0)
                removed = conversation.compact(keep_last=keep_last, max_chars=max_chars)
            if not removed:
                raise ProviderError(f"{exc} (compacting did not help)") from None
            on_notice(
                f"the conversation was too long for the model: compacted {removed} "
                "characters of old tool output; asking again"
            )


def _call(
    provider: Provider,
    view: View,
    tools: list[ToolSpec],
    cancel: threading.Event,
    on_delta: Callable[[str], None],
    on_notice: Callable[[str], None],
    timeout_s: float,
    on_timeout: Callable[[], BaseException] | None = None,
) -> AssistantTurn:
    snapshot = replace(view.conversation, turns=list(view.conversation.turns))
    offered = tools if view.native_tools else []

    def work(abandoned: threading.Event) -> AssistantTurn:
        def delta(text: str) -> None:
            if abandoned.is_set():
                raise Interrupted("abandoned")
            on_delta(text)

        return provider.complete(snapshot, offered, delta, on_notice, view.sampling)

    return run_cancellable(
        work,
        cancel,
        deadline_s=timeout_s,
        on_deadline=on_timeout
        or (
            lambda: ProviderError(
                f"the model did not answer within {timeout_s:.0f} s (model-timeout-s)"
            )
        ),
    )
