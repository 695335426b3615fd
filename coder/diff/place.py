"""Where a hunk goes: the placement ladder, as pure functions over lists of lines.

Order of trust: exact at the stated line, nearest exact match, whitespace-insensitive
match, then reduced context (fuzz ≤ 2). Two equally good places are rejected, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_FUZZ = 2

Lines = Sequence[tuple[str, str]]
"""A hunk body: (tag, text) pairs, tag in " -+", text without its newline."""


@dataclass(frozen=True)
class Target:
    """What to place: the hunk body and where its header says it starts."""

    lines: Lines
    expected: int | None
    """0-based index of the first old line as stated (already shifted by earlier hunks'
    offsets), or None when the header had no line numbers."""


@dataclass(frozen=True)
class Placement:
    """Where a hunk landed (or why it did not)."""

    status: str
    """exact, offset, whitespace, fuzzy or rejected."""
    start: int = -1
    """0-based index in the file of the first old line that was matched (after trimming)."""
    head: int = 0
    """Leading context lines ignored (fuzz)."""
    tail: int = 0
    """Trailing context lines ignored (fuzz)."""
    reason: str = ""
    candidates: tuple[int, ...] = ()
    """For an ambiguous rejection: the 0-based starts that matched equally well."""

    @property
    def ok(self) -> bool:
        """Whether the hunk was placed."""
        return self.status != "rejected"


def exact_key(line: str) -> str:
    """Line identity for exact matching: a CRLF file's "\\r" does not count."""
    return line[:-1] if line.endswith("\r") else line


def loose_key(line: str) -> str:
    """Line identity ignoring how much whitespace there is, and where."""
    return " ".join(line.split())


class FileIndex:
    """A file's lines keyed for matching, computed once and shared by all its hunks."""

    def __init__(self, file_lines: Sequence[str]) -> None:
        self.lines = file_lines
        self.exact = [exact_key(x) for x in file_lines]
        self._loose: list[str] | None = None
        self._starts: dict[bool, dict[str, list[int]]] = {}

    def keys(self, loose: bool) -> list[str]:
        """Exact or whitespace-insensitive keys, one per line."""
        if not loose:
            return self.exact
        if self._loose is None:
            self._loose = [loose_key(x) for x in self.lines]
        return self._loose

    def matches(
        self, block: Sequence[str], loose: bool, taken: Sequence[tuple[int, int]]
    ) -> list[int]:
        """Every start where the old lines `block` match, not overlapping `taken`."""
        keys = self.keys(loose)
        fn = loose_key if loose else exact_key
        want = [fn(x) for x in block]
        if loose not in self._starts:
            starts: dict[str, list[int]] = {}
            for n, key in enumerate(keys):
                starts.setdefault(key, []).append(n)
            self._starts[loose] = starts
        n = len(want)
        return [
            p
            for p in self._starts[loose].get(want[0], [])
            if keys[p : p + n] == want and _free(p, n, taken)
        ]


def _free(start: int, length: int, taken: Sequence[tuple[int, int]]) -> bool:
    end = start + length
    for a, b in taken:
        if length == 0 and a < start < b:
            return False
        if length and start < b and a < end:
            return False
        if length and a == b and start < a < end:
            return False
    return True


def _choose(
    found: list[int], expected: int | None, after: int, prefer: int | None
) -> tuple[int | None, tuple[int, ...]]:
    """The single best candidate, or (None, the tied candidates)."""
    if not found:
        return None, ()
    if expected is None:
        pool = [p for p in found if p >= after] or found
    else:
        best = min(abs(p - expected) for p in found)
        pool = [p for p in found if abs(p - expected) == best]
    if len(pool) == 1:
        return pool[0], ()
    if prefer is not None and prefer in pool:
        return prefer, ()
    return None, tuple(pool)


def _context_run(lines: Lines, from_end: bool) -> int:
    seq = reversed(lines) if from_end else iter(lines)
    count = 0
    for tag, _ in seq:
        if tag != " ":
            break
        count += 1
    return count


def place(
    file_lines: Sequence[str] | FileIndex,
    target: Target,
    taken: Sequence[tuple[int, int]] = (),
    after: int = 0,
) -> Placement:
    """Find where `target` applies in `file_lines` without overlapping `taken` spans.

    `after` is where the previous hunk ended: hunks without line numbers are looked for
    after it first.
    """
    body = list(target.lines)
    if not any(tag != " " for tag, _ in body):
        return Placement("rejected", reason="hunk changes nothing")
    index = file_lines if isinstance(file_lines, FileIndex) else FileIndex(file_lines)
    file_lines = index.lines
    lead, trail = _context_run(body, False), _context_run(body, True)
    ambiguous: tuple[int, ...] = ()
    tiers: list[tuple[str, int, int]] = [("exact", 0, 0), ("whitespace", 0, 0)]
    for fuzz in range(1, MAX_FUZZ + 1):
        head, tail = min(fuzz, lead), min(fuzz, trail)
        if (head, tail) != tiers[-1][1:]:
            tiers += [("fuzzy", head, tail)]
    for status, head, tail in tiers:
        trimmed = body[head : len(body) - tail]
        old = [text for tag, text in trimmed if tag != "+"]
        expected = None if target.expected is None else target.expected + head
        if not old:
            # A pure insertion without context: only its line number says where,
            # unless the file is empty.
            if not file_lines and not taken:
                kind = "fuzzy" if head or tail else "exact" if not expected else "offset"
                return Placement(kind, 0, head, tail)
            if status == "exact" and expected is not None and 0 <= expected <= len(file_lines):
                if _free(expected, 0, taken):
                    return Placement("exact", expected)
            if status == "exact":
                return Placement("rejected", reason="no context lines to find the place by")
            continue
        if status == "fuzzy" and not any(text.strip() for text in old):
            continue
        found = []
        if status != "whitespace":
            found = index.matches(old, False, taken)
        if status != "exact" and not found:
            found = index.matches(old, True, taken)
        prefer = _anchor(head + tail, len(old), len(file_lines), lead, trail, target)
        start, tied = _choose(found, expected, after, prefer)
        if start is not None:
            if status == "exact" and start != expected:
                status = "offset"
            return Placement(status, start, head, tail)
        if tied:
            # A looser tier only finds more places: the ambiguity cannot resolve there.
            ambiguous = tied
            break
    if ambiguous:
        where = ", ".join(str(p + 1) for p in ambiguous[:5])
        return Placement(
            "rejected",
            reason=f"ambiguous: matches equally well at lines {where}; "
            "add context lines that tell them apart",
            candidates=ambiguous,
        )
    return Placement("rejected", reason="context and removed lines not found in the file")


def _anchor(
    trimmed: int, old_len: int, file_len: int, lead: int, trail: int, target: Target
) -> int | None:
    """A hunk with context on one side only was cut there by the file's start or end:
    among equally good places, that end of the file breaks the tie."""
    if trimmed:
        return None
    if trail == 0 and lead > 0:
        return file_len - old_len
    if lead == 0 and trail > 0 and (target.expected is None or target.expected <= 0):
        return 0
    return None


def splice(
    file_lines: Sequence[str],
    placed: Sequence[tuple[Lines, Placement]],
    adjust: Callable[[Placement, Lines], Callable[[str], str]] | None = None,
) -> list[str]:
    """Apply placed hunks (any order, non-overlapping) to `file_lines`.

    Context lines keep the file's text (they may differ in whitespace); removed lines go;
    added lines are inserted, through the function `adjust` makes for their placement.
    """
    out: list[str] = []
    cursor = 0
    for lines, placement in sorted(placed, key=lambda item: item[1].start):
        trimmed = list(lines)[placement.head : len(lines) - placement.tail]
        fix = adjust(placement, trimmed) if adjust else None
        out.extend(file_lines[cursor : placement.start])
        cursor = placement.start
        for tag, text in trimmed:
            if tag == " ":
                out.append(file_lines[cursor])
                cursor += 1
            elif tag == "-":
                cursor += 1
            else:
                out.append(fix(text) if fix else text)
    out.extend(file_lines[cursor:])
    return out


def _lead(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def reindent(
    file_lines: Sequence[str], placement: Placement, trimmed: Lines
) -> Callable[[str], str]:
    """How to indent added lines where the hunk matched the file only ignoring whitespace.

    A constant shift of one indent character, or tabs for spaces (or back) at one width,
    when that single rule explains every matched non-blank line; otherwise unchanged.
    """
    pairs = []
    cursor = placement.start
    for tag, text in trimmed:
        if tag == "+":
            continue
        have = file_lines[cursor]
        cursor += 1
        if text.strip() and have.strip():
            pairs.append((_lead(have), _lead(text)))
    if not pairs or all(f == d for f, d in pairs):
        return _same
    chars = set("".join(f + d for f, d in pairs))
    if len(chars) == 1:
        deltas = {len(f) - len(d) for f, d in pairs}
        if len(deltas) == 1:
            return _shift(chars.pop(), deltas.pop())
        return _same
    for file_char, diff_char in (("\t", " "), (" ", "\t")):
        if not all(set(f) <= {file_char} and set(d) <= {diff_char} for f, d in pairs):
            continue
        # (tabs, spaces) per matched line, whichever side has which.
        counts = [(len(f), len(d)) if file_char == "\t" else (len(d), len(f)) for f, d in pairs]
        widths = {spaces // tabs for tabs, spaces in counts if tabs}
        if len(widths) == 1 and (width := widths.pop()) > 0:
            if all(spaces == width * tabs for tabs, spaces in counts):
                return _convert(diff_char, file_char, width)
    return _same


def _same(text: str) -> str:
    return text


def _shift(char: str, delta: int) -> Callable[[str], str]:
    def fix(text: str) -> str:
        if not text.strip():
            return text
        if delta >= 0:
            return char * delta + text
        lead = _lead(text)
        return text[-delta:] if len(lead) >= -delta and set(lead[:-delta]) == {char} else text

    return fix


def _convert(diff_char: str, file_char: str, width: int) -> Callable[[str], str]:
    def fix(text: str) -> str:
        lead = _lead(text)
        if not text.strip() or set(lead) - {diff_char}:
            return text
        if diff_char == " ":
            new = file_char * (len(lead) // width) + " " * (len(lead) % width)
        else:
            new = file_char * (len(lead) * width)
        return new + text[len(lead) :]

    return fix
