"""Narrow a failed attempt: drop the hunks of the agent's edits whose removal makes fewer
tests fail.

A small model often bundles a right fix with a needless rewrite elsewhere that breaks
something; the checks find which hunk to drop far faster than another model turn would.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

Hunk = tuple[int, int, int, int]
"""(old start, old end, new start, new end): lines of a change, 0-based, ends exclusive."""


@dataclass(frozen=True)
class Dropped:
    """A hunk of the model's edit that was taken back."""

    path: str
    line: int
    """1-based first line of the hunk in the file as the model wrote it."""
    text: str
    """The lines the model had written there."""


def hunks(old: list[str], new: list[str]) -> list[Hunk]:
    """The changed regions between two versions of a file, in order."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def revert(old: list[str], new: list[str], hunk: Hunk) -> list[str]:
    """`new` with one hunk put back as it was in `old`."""
    i1, i2, j1, j2 = hunk
    return new[:j1] + old[i1:i2] + new[j2:]


def narrow(
    originals: dict[str, str],
    read: Callable[[str], str],
    write: Callable[[str, str], None],
    failing: Callable[[], int | None],
    start: int,
    max_tries: int = 8,
) -> tuple[list[Dropped], int]:
    """Try taking back each hunk of the edits (files as in `originals` before them); keep a
    take-back when `failing()` then counts fewer failing tests. Returns what was dropped and
    the final count. An attempt with a single hunk is left alone: without it the code is the
    original, which fails too."""
    best = start
    dropped: list[Dropped] = []
    changed = {
        path: original.splitlines(keepends=True)
        for path, original in originals.items()
        if read(path) != original
    }
    total = sum(
        len(hunks(old, read(path).splitlines(keepends=True))) for path, old in changed.items()
    )
    if total < 2:
        return dropped, best
    tries = 0
    for path, old in changed.items():
        position = 0
        while tries < max_tries and best > 0:
            text = read(path)
            new = text.splitlines(keepends=True)
            pending = hunks(old, new)
            if position >= len(pending):
                break
            hunk = pending[position]
            write(path, "".join(revert(old, new, hunk)))
            tries += 1
            count = failing()
            if count is not None and count < best:
                best = count
                dropped.append(Dropped(path, hunk[2] + 1, "".join(new[hunk[2] : hunk[3]])))
            else:
                write(path, text)
                position += 1
    return dropped, best
