"""Failed attempts give way to one retry message: a small model shown its own failed answer
copies it verbatim, however hot the sampling.

After a dead end (the checks refused `finish`, or an answer held no usable call) the
profile appends a retry item (`UserText(kind="retry")`) with the latest failures and the
changed files as they now are; the provider is shown the head of the conversation and the
latest retry item only, so the prompt up to the task stays the same and its KV cache is
reused. Each retry item records its attempt (the files as checked, the failing count), so
the record lives in the conversation: when an attempt made more tests fail than an earlier
one, the code is put back to the best attempt before the next answer.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from coder import prompts
from coder.conversation import AssistantTurn, Conversation, UserText
from coder.profiles.small.context import LANGS


@dataclass(frozen=True)
class Attempt:
    """A refused attempt: its check failures, their count (None: unknown) and the files."""

    failures: str
    failing: int | None
    files: dict[str, str | None]

    def to_data(self) -> dict[str, Any]:
        """The attempt as JSON-able data for its retry item."""
        return {"failures": self.failures, "failing": self.failing, "files": self.files}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Attempt:
        """An attempt read back from its retry item."""
        return cls(str(data["failures"]), data.get("failing"), dict(data.get("files", {})))


def retry_view(conversation: Conversation) -> Conversation:
    """The conversation with everything between the task and the latest retry item hidden."""
    turns = conversation.turns
    last = max((i for i, item in enumerate(turns) if _is_retry(item)), default=-1)
    if last < 0:
        return conversation
    return replace(conversation, turns=list(turns[last:]))


def attempts(conversation: Conversation) -> list[Attempt]:
    """Every refused attempt recorded so far, in order."""
    found = []
    for item in conversation.turns:
        if isinstance(item, UserText) and item.kind == "retry" and item.data:
            if item.data.get("attempt"):
                found.append(Attempt.from_data(item.data["attempt"]))
    return found


def written_paths(conversation: Conversation) -> set[str]:
    """Paths the model's answers wrote as whole files, in all its attempts."""
    return {
        str(call.arguments.get("path", "")).strip()
        for item in conversation.turns
        if isinstance(item, AssistantTurn)
        for call in item.tool_calls
        if call.name == "write_file"
    }


def latest_retry(conversation: Conversation) -> UserText | None:
    """The latest retry item, if any."""
    for item in reversed(conversation.turns):
        if isinstance(item, UserText) and item.kind == "retry":
            return item
    return None


def dead_ends(conversation: Conversation) -> int:
    """Retry items so far: each stands for one dead end."""
    return sum(1 for item in conversation.turns if _is_retry(item))


def best(found: list[Attempt]) -> Attempt | None:
    """The attempt with the fewest failing tests (the latest of equals); the latest when a
    count is unknown."""
    if not found:
        return None
    if any(a.failing is None for a in found):
        return found[-1]
    return min(reversed(found), key=lambda a: a.failing or 0)


def same_code(path: str, text: str, other: str | None) -> bool:
    """Whether two versions of a file hold the same code: for Python, the same syntax tree
    (comments and layout aside), as a small model often "fixes" a bug with a comment."""
    if other is None or text == other:
        return text == other
    if not path.endswith(".py"):
        return False
    try:
        return ast.dump(ast.parse(text)) == ast.dump(ast.parse(other))
    except (SyntaxError, ValueError):
        return False


def retry_text(
    number: int,
    shown: dict[str, str],
    files: dict[str, str | None],
    failures: str,
    undone_to: int | None,
    no_code: bool,
    rejected: bool = False,
) -> str:
    """The retry message: what happened to the attempt, the changed files, the failures
    (`rejected`: the checks judged the answer no better than the code, which stands)."""
    changed = []
    for path in sorted(files):
        now = files[path]
        if now is not None and not same_code(path, now, shown.get(path)):
            lang = LANGS.get(Path(path).suffix, "")
            changed.append(f"{path} now reads:\n```{lang}\n{now.rstrip()}\n```")
    if undone_to is not None:
        state = (
            "Your last change made more tests fail, so it is undone: the code is back to "
            f"attempt {undone_to}."
        )
    elif rejected:
        state = "Your answer made no fewer tests fail than the code as it is, so it is not applied."
    elif no_code:
        state = "Your last answer held no source file to write (the tests must not change)."
    elif not changed:
        state = "Your answer did not change the code: it repeated the code as it was."
    else:
        state = ""
    if changed:
        applied = "\n\n" if undone_to is not None else " Your change so far is applied. "
        state = (state + applied + "\n\n".join(changed)).strip()
    return prompts.render("retry", "small", attempt=number, state=state, failures=failures)


def _is_retry(item: object) -> bool:
    return isinstance(item, UserText) and item.kind == "retry"
