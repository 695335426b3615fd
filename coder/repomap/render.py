"""Rendering: signature lines of the best-ranked definitions, grouped by file, within a budget.

Token counting is a callable passed in; the default is a character heuristic (see
`estimate_tokens`), so no tokenizer is needed to stay near the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from coder.repomap.tags import Definition

MAX_LINE_CHARS = 100
"""Longer signature lines are cut (minified code, long literals)."""

Item = tuple[str, int]
"""One renderable entry: (path, index into that file's definitions)."""


def estimate_tokens(text: str) -> int:
    """Tokens of `text` for a BPE tokenizer, estimated as characters / 3.5, rounded up.

    Calibrated on rendered maps (standard library, fixture repos) against Qwen2.5-Coder's
    tokenizer, a cl100k-class BPE: maps run 3.3 to 3.7 characters per token (indentation and
    the one-character markers `│` `⋮` are dense), so this stays within about 7 % of it. Pass a
    real counter to `RepoMap.render` when the exact figure matters.
    """
    return (len(text) * 2 + 6) // 7


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"


def enclosing(defs: Sequence[Definition]) -> list[tuple[int, ...]]:
    """For each definition, the indices of the definitions that enclose it, outermost first."""
    result: list[tuple[int, ...]] = []
    stack: list[int] = []
    for i, d in enumerate(defs):
        while stack and defs[stack[-1]].end_line < d.line:
            stack.pop()
        result.append(tuple(stack))
        stack.append(i)
    return result


class Renderer:
    """Renders prefixes of a ranked item list; per-file work is done once, not per attempt."""

    def __init__(self, file_defs: Mapping[str, Sequence[Definition]]) -> None:
        self.file_defs = file_defs
        self._parents: dict[str, list[tuple[int, ...]]] = {}

    def _parents_of(self, path: str) -> list[tuple[int, ...]]:
        parents = self._parents.get(path)
        if parents is None:
            parents = self._parents[path] = enclosing(self.file_defs[path])
        return parents

    def render(self, items: Sequence[Item]) -> str:
        """Group items by file (files in order of first appearance), show each item's line and
        its enclosing definitions' lines, mark gaps with ⋮."""
        by_file: dict[str, set[int]] = {}
        for path, index in items:
            if index >= len(self.file_defs[path]):
                continue  # the file changed since the ranking was stored
            shown = by_file.setdefault(path, set())
            shown.add(index)
            shown.update(self._parents_of(path)[index])
        out: list[str] = []
        for path, shown in by_file.items():
            defs = self.file_defs[path]
            out.append(f"{path}:")
            previous = None
            for i in sorted(shown, key=lambda i: (defs[i].line, i)):
                line = defs[i].line
                if previous is not None and line > previous + 1:
                    out.append("⋮")
                if line != previous:
                    out.append("│" + _clip(defs[i].text))
                previous = line
            out.append("")
        return "\n".join(out)


def fit(
    items: Sequence[Item],
    file_defs: Mapping[str, Sequence[Definition]],
    tokens: int,
    count_tokens: Callable[[str], int] = estimate_tokens,
) -> tuple[str, int]:
    """The rendering of the longest prefix of `items` (best first) that fits `tokens`, and
    that prefix's length.

    Galloping then binary search over the prefix length, so only the files near the answer are
    rendered (and loaded): the result lands just under the budget, within one entry of it,
    unless every item fits.
    """
    if tokens <= 0 or not items:
        return "", 0
    renderer = Renderer(file_defs)
    fits: dict[int, str | None] = {0: ""}

    def attempt(length: int) -> bool:
        text = renderer.render(items[:length])
        fits[length] = text if count_tokens(text) <= tokens else None
        return fits[length] is not None

    low, high = 0, len(items)
    probe = 16
    while probe < high and attempt(probe):
        low, probe = probe, probe * 2
    high = min(high, probe)
    while low < high:
        middle = (low + high + 1) // 2
        if attempt(middle):
            low = middle
        else:
            high = middle - 1
    best = fits.get(low)
    return (renderer.render(items[:low]) if best is None else best), low
