"""Candidates judged by the checks before they touch the tree.

An answer that rewrites files is checked first in the sandbox, its files mounted over the
tree's (`CheckRunner.run_candidate`); it is applied only when it passes or makes fewer tests
fail than the tree does now. A rejected answer leaves the retry message as it was, so the
next answer is sampled, with another seed, from the same prefix, whose KV cache is reused:
each candidate costs its own tokens only. An answer whose code is the same as one already
judged (the same syntax tree) is not checked again. A candidate whose checks run past ten
times the checks' run on the code before any answer (15 s at least) is cut off
and rejected: it would spend the budget of every candidate after it.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from coder.conversation import AssistantTurn, Conversation, UserText
from coder.proof import is_test_path


@dataclass(frozen=True)
class Verdict:
    """What the checks said of one candidate."""

    digest: str
    failing: int | None
    """Failing tests with the candidate in place (None: the checks did not say)."""
    repeated: bool = False
    """The same code as a candidate judged before: not checked again."""

    def to_data(self) -> dict[str, Any]:
        """The verdict as JSON-able data for a retry item."""
        return {"digest": self.digest, "failing": self.failing}


def without_test_writes(turn: AssistantTurn) -> AssistantTurn:
    """The answer without its writes to test files (a small model told never to change the
    tests still rewrites them now and then, and would be judged by its own tests)."""
    calls = tuple(
        call
        for call in turn.tool_calls
        if not (
            call.name == "write_file" and is_test_path(str(call.arguments.get("path", "")).strip())
        )
    )
    if calls == turn.tool_calls:
        return turn
    if not any(call.name == "write_file" for call in calls):
        calls = tuple(call for call in calls if call.name != "finish")  # nothing left to check
    return replace(turn, tool_calls=calls)


def written_files(turn: AssistantTurn) -> dict[str, str] | None:
    """The files an answer writes whole (path → text), when writing files and finishing is
    all it does; None otherwise (reads, searches: not a candidate)."""
    files: dict[str, str] = {}
    for call in turn.tool_calls:
        if call.name == "write_file":
            files[str(call.arguments.get("path", "")).strip()] = str(
                call.arguments.get("content", "")
            )
        elif call.name != "finish":
            return None
    return files or None


def with_files(turn: AssistantTurn, files: dict[str, str]) -> AssistantTurn:
    """The answer with its `write_file` calls writing `files` instead (a narrowed
    candidate); the same turn when nothing changed."""
    calls = tuple(
        replace(call, arguments={**call.arguments, "content": files[path]})
        if call.name == "write_file"
        and (path := str(call.arguments.get("path", "")).strip()) in files
        and files[path] != call.arguments.get("content")
        else call
        for call in turn.tool_calls
    )
    return turn if calls == turn.tool_calls else replace(turn, tool_calls=calls)


def code_digest(files: dict[str, str]) -> str:
    """One digest of the code of `files`: Python by its syntax tree (layout and comments
    aside), anything else by its text."""
    digest = hashlib.sha256()
    for path in sorted(files):
        text = files[path]
        if path.endswith(".py"):
            try:
                text = ast.dump(ast.parse(text))
            except (SyntaxError, ValueError):
                pass
        digest.update(f"{path}\0{text}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def judged_in(conversation: Conversation) -> dict[str, int | None]:
    """Every candidate verdict the retry items recorded: digest → failing tests."""
    found: dict[str, int | None] = {}
    for item in conversation.turns:
        if isinstance(item, UserText) and item.kind == "retry" and item.data:
            for verdict in item.data.get("candidates", []):
                found[str(verdict["digest"])] = verdict.get("failing")
    return found


def better(failing: int | None, than: int | None) -> bool:
    """Whether a candidate's failing count beats the tree's (unknown counts: apply it, as the
    checks of the tree itself will then say)."""
    return failing is None or than is None or failing < than
