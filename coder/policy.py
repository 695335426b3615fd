"""Command approval: which shell commands run without asking. The only bashlex user.

A command line is split by a real shell parser into its simple commands: the parts of
`&&`, `||`, `;` and `|`, subshells and `{ …; }` groups, and the commands inside `$( … )`,
backticks and `<( … )`. It is pre-approved only when every part starts with the words of
an allowed entry (whole words, after the shell's quote removal). Anything the parser cannot
judge — output redirection to a file, variable assignments, here-documents, background
jobs, `if`/`for`/`while`, functions, syntax bashlex does not know — always asks.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from typing import Any

import bashlex
import bashlex.errors

SAFE_TARGETS = frozenset({"/dev/null"})
"""Files an output redirection may name without making the command need approval."""
_OPERATORS = frozenset({"&&", "||", ";", "\n"})


class _Unjudgeable(Exception):
    """A construct the policy does not pre-approve."""


def simple_commands(command: str) -> list[list[str]] | None:
    """Every simple command of `command` as its words; None when it cannot be judged."""
    if not command.strip():
        return None
    try:
        trees = bashlex.parse(command)
    except (bashlex.errors.ParsingError, NotImplementedError, IndexError, TypeError, ValueError):
        return None
    found: list[list[str]] = []
    try:
        for tree in trees:
            _walk(tree, found)
    except _Unjudgeable:
        return None
    return found or None


def _walk(node: Any, found: list[list[str]]) -> None:
    kind = node.kind
    if kind == "list":
        for part in node.parts:
            if part.kind == "operator":
                if part.op not in _OPERATORS:
                    raise _Unjudgeable(part.op)
            else:
                _walk(part, found)
    elif kind == "pipeline":
        for part in node.parts:
            if part.kind != "pipe":
                _walk(part, found)
    elif kind == "compound":
        opener = node.list[0] if node.list else None
        if opener is None or opener.kind != "reservedword" or opener.word not in ("(", "{"):
            raise _Unjudgeable("compound statement")
        for part in node.list:
            if part.kind not in ("reservedword", "operator"):
                _walk(part, found)
        for redirect in getattr(node, "redirects", []):
            _check_redirect(redirect, found)
    elif kind == "command":
        found.append(_command_words(node, found))
    else:
        raise _Unjudgeable(kind)


def _command_words(node: Any, found: list[list[str]]) -> list[str]:
    words: list[str] = []
    for part in node.parts:
        if part.kind == "word":
            for inner in getattr(part, "parts", []):
                if inner.kind in ("commandsubstitution", "processsubstitution"):
                    _walk(inner.command, found)
            words.append(part.word)
        elif part.kind == "redirect":
            _check_redirect(part, found)
        else:  # assignments (PAGER=… git log) and anything else change what runs
            raise _Unjudgeable(part.kind)
    if not words:
        raise _Unjudgeable("no command")
    return words


def _check_redirect(part: Any, found: list[list[str]]) -> None:
    if part.type in ("<<", "<<-", "<<<"):
        raise _Unjudgeable("here-document")
    target = part.output
    if isinstance(target, int):
        return  # 2>&1 and the like: only file descriptors
    for inner in getattr(target, "parts", []):
        if inner.kind in ("commandsubstitution", "processsubstitution"):
            _walk(inner.command, found)
    if part.type.startswith("<") and part.type not in ("<>",):
        return  # reading a file writes nothing
    if target.word not in SAFE_TARGETS:
        raise _Unjudgeable("output redirection")


def _entries(allowed: Iterable[str]) -> list[list[str]]:
    out = []
    for entry in allowed:
        try:
            words = shlex.split(entry)
        except ValueError:
            continue
        if words:
            out.append(words)
    return out


def pre_approved(command: str, allowed: Sequence[str]) -> bool:
    """Whether every part of `command` starts with the words of an allowed entry."""
    entries = _entries(allowed)
    if not entries:
        return False
    parts = simple_commands(command)
    if parts is None:
        return False
    return all(any(words[: len(e)] == e for e in entries) for words in parts)


def entries_to_remember(command: str, allowed: Sequence[str] = ()) -> list[str]:
    """What "always allow this command" adds: each part not yet allowed, as one entry.

    Empty when the command cannot be judged (it can then only be allowed once).
    """
    parts = simple_commands(command)
    if parts is None:
        return []
    entries = _entries(allowed)
    new = []
    for words in parts:
        if not any(words[: len(e)] == e for e in entries):
            entry = shlex.join(words)
            if entry not in new:
                new.append(entry)
    return new


def needs_asking(mode: str, command: str, allowed: Sequence[str]) -> bool:
    """The one rule both faces follow: full-auto never asks; suggest and auto-edit ask
    unless every part of the command is on the allow-list (config and "always allow")."""
    if mode == "full-auto":
        return False
    return not pre_approved(command, allowed)
