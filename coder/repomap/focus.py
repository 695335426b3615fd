"""Focus: likely file paths and identifiers in free text (a task, a conversation turn).

They seed the map's ranking; plain English words are left out.
"""

from __future__ import annotations

import re

from coder.repomap.languages import EXTENSIONS

_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+(?:\.[A-Za-z][\w+]{0,5})?)(?::\d+)?(?![\w/])")
_CODE = re.compile(r"`([^`\n]{1,80})`")
_IDENT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\b")
_TEXT_SUFFIXES = frozenset(
    ".md .txt .toml .json .yaml .yml .cfg .ini .html .css .scss .sql".split()
)


def _is_path(candidate: str) -> bool:
    stem, dot, suffix = candidate.rpartition(".")
    if "/" in candidate and not candidate.startswith("/"):
        return True
    return bool(dot and stem) and (
        f".{suffix.lower()}" in EXTENSIONS or f".{suffix}" in _TEXT_SUFFIXES
    )


def _looks_like_code(word: str) -> bool:
    return (
        "_" in word.strip("_")
        or word.startswith("__")
        or (any(c.isupper() for c in word[1:]) and any(c.islower() for c in word))
    )


def focus_terms(text: str) -> list[str]:
    """Likely file paths and identifiers mentioned in `text`, in order of first mention.

    Paths have a slash or a known source or text extension; identifiers are words in
    backticks, words followed by `(`, and snake_case, dunder or camelCase words. Plain English
    words are left out, so a task description seeds the ranking only with what names code.
    """
    paths: dict[str, None] = {}
    names: dict[str, None] = {}
    inside_paths: list[tuple[int, int]] = []
    for match in _PATH.finditer(text):
        if _is_path(match.group(1)):
            paths.setdefault(match.group(1))
            inside_paths.append(match.span(1))
    for match in _CODE.finditer(text):
        for word in _IDENT.findall(match.group(1)):
            if len(word) > 2:
                names.setdefault(word)
    for match in _IDENT.finditer(text):
        if any(start <= match.start() < end for start, end in inside_paths):
            continue
        word = match.group(1)
        follows_paren = text[match.end() : match.end() + 1] == "("
        if len(word) > 2 and (follows_paren or _looks_like_code(word)):
            names.setdefault(word)
    return [*paths, *(n for n in names if n not in paths)]
