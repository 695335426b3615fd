"""When and how the agent compacts: before a model call that would overflow the model's
context window, old turns give way to a note of where the work stands.

The stable prefix (system prompt, repo map, task) is never touched, and the note — the
goal, the files changed, the failing tests — is never summarised away: a later compaction
writes a fresh one from the same record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from coder.conversation import Compaction, Conversation

CHARS_PER_TOKEN = 3.5
"""Before any usage is known: a rough figure for code and English."""
RESERVE_SHARE = 0.25
"""Of the context window, kept free for the model's answer."""
KEEP_TURNS = 2
"""Model turns kept (with their results) when old turns are dropped."""
STEPS: tuple[tuple[int, int] | None, ...] = ((6, 400), (2, 150), None, (1, 1000), (0, 300))
"""Tried in turn until the prompt fits: (items kept whole, characters kept of older tool
outputs), or None for dropping old turns in favour of the note of where the work stands."""
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


class Compactor:
    """Estimates the next prompt's size and compacts the conversation before it overflows."""

    def __init__(self, window: int | None) -> None:
        self.window = window
        self.chars_per_token = CHARS_PER_TOKEN

    def calibrate(self, prompt_tokens: int, prompt_chars: int) -> None:
        """Learn this model's characters per token from a prompt the provider counted."""
        if prompt_tokens > 200 and prompt_chars > 0:
            self.chars_per_token = max(1.5, min(6.0, prompt_chars / prompt_tokens))

    def over(self, chars: int) -> bool:
        """Whether a prompt of `chars` characters plus an answer would not fit."""
        if not self.window:
            return False
        return chars / self.chars_per_token > self.window * (1 - RESERVE_SHARE)

    def compact(self, conversation: Conversation, chars: int, state: str) -> Compaction | None:
        """Shorten old tool outputs, then drop old turns, until the prompt fits; None when it
        already fits."""
        if not self.over(chars):
            return None
        before = conversation.char_count()
        dropped = 0
        for step in STEPS:
            if step is None:
                dropped = conversation.drop_old_turns(KEEP_TURNS, state).items
            else:
                conversation.compact(keep_last=step[0], max_chars=step[1])
            if not self.over(conversation.char_count()):
                break
        return Compaction(dropped, max(before - conversation.char_count(), 0))


def state_note(task: str, edited: Sequence[str], failures: str) -> str:
    """Where the work stands, in words the model reads after a compaction."""
    goal = " ".join(task.split())
    goal = goal if len(goal) <= 400 else goal[:399] + "…"
    lines = ["Earlier turns were dropped to fit the context. Where the work stands:"]
    lines.append(f"- goal: {goal}")
    lines.append(f"- files changed so far: {', '.join(edited) if edited else 'none'}")
    failing = list(dict.fromkeys(_FAILED.findall(failures)))[:10]
    lines.append(f"- failing tests: {', '.join(failing) if failing else 'not known'}")
    lines.append("Read the files again before changing them.")
    return "\n".join(lines)
