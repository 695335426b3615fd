"""The placement ladder as pure functions: table-driven over small files."""

from __future__ import annotations

import pytest

from coder.diff.place import Target, place, reindent, splice

FILE = ["def a():", "    return 1", "", "def b():", "    return 2", "", "def c():", "    return 1"]


def body(*rows: str) -> list[tuple[str, str]]:
    return [(row[0], row[1:]) for row in rows]


@pytest.mark.parametrize(
    "name, lines, expected, status, start",
    [
        (
            "exact at stated line",
            body(" def b():", "-    return 2", "+    return 3"),
            3,
            "exact",
            3,
        ),
        (
            "nearest exact match",
            body(" def b():", "-    return 2", "+    return 3"),
            0,
            "offset",
            3,
        ),
        (
            "no line numbers, unique",
            body(" def b():", "-    return 2", "+    x"),
            None,
            "offset",
            3,
        ),
        ("whitespace drift", body(" def  b():", "-  return 2", "+  return 3"), 3, "whitespace", 3),
        (
            "stale context fuzzed",
            body(" def bee():", "-    return 2", "+    return 3", " "),
            3,
            "fuzzy",
            4,
        ),
        ("nearer duplicate wins", body("-    return 1", "+    return 9"), 6, "offset", 7),
        ("equally near duplicates", body("-    return 1", "+    return 9"), 4, "rejected", -1),
        (
            "duplicates without numbers",
            body("-    return 1", "+    return 9"),
            None,
            "rejected",
            -1,
        ),
        (
            "removed line absent",
            body(" def b():", "-    return 7", "+    return 3"),
            3,
            "rejected",
            -1,
        ),
        ("context only", body(" def b():", "     return 2"), 3, "rejected", -1),
        ("pure insertion by number", body("+# note"), 3, "exact", 3),
        ("pure insertion without numbers", body("+# note"), None, "rejected", -1),
    ],
)
def test_placement_ladder(
    name: str, lines: list[tuple[str, str]], expected: int | None, status: str, start: int
) -> None:
    placement = place(FILE, Target(lines, expected))
    assert (placement.status, placement.start) == (status, start), name


def test_ambiguous_rejection_lists_the_tied_lines() -> None:
    placement = place(FILE, Target(body("-    return 1", "+    return 9"), 4))
    assert placement.candidates == (1, 7) and "lines 2, 8" in placement.reason


def test_taken_spans_are_not_reused_by_a_second_hunk() -> None:
    lines = body(" def b():", "-    return 2", "+    return 3")
    assert not place(FILE, Target(lines, 3), taken=[(3, 5)]).ok


def test_fuzz_never_trims_more_than_two_context_lines() -> None:
    lines = body(" x1", " x2", " x3", "-    return 2", "+    return 3", " y1", " y2", " y3")
    assert place(FILE, Target(lines, 1)).status == "rejected"
    lines = body(" x1", " x2", " def b():", "-    return 2", "+    return 3", " ", " y2")
    assert place(FILE, Target(lines, 1)).status == "fuzzy"


def test_hunk_missing_trailing_context_prefers_end_of_file_among_duplicates() -> None:
    placement = place(FILE, Target(body(" def c():", "-    return 1", "+    return 5"), None))
    assert placement.ok and placement.start == 6


def test_splice_keeps_file_context_and_applies_in_position_order() -> None:
    first = body(" def  a():", "-    return 1", "+    return 10")
    second = body(" def b():", "-    return 2", "+    return 20")
    p1, p2 = place(FILE, Target(first, 0)), place(FILE, Target(second, 3))
    out = splice(FILE, [(second, p2), (first, p1)])
    assert out[:5] == ["def a():", "    return 10", "", "def b():", "    return 20"]


def test_reindent_applies_one_consistent_indentation_rule_or_none() -> None:
    lines = body(" def b():", "-    return 2", "+    return 3")
    shifted = ["    " + x if x else x for x in FILE]
    placement = place(shifted, Target(lines, 3))
    assert placement.status == "whitespace"
    assert reindent(shifted, placement, lines)("    return 3") == "        return 3"
    tabbed = [x.replace("    ", "\t") for x in FILE]
    placement = place(tabbed, Target(lines, 3))
    assert reindent(tabbed, placement, lines)("        x") == "\t\tx"
    mixed = body(" def b():", "-  return 2", "+  return 3")
    placement = place(FILE, Target(mixed, 3))
    assert reindent(FILE, placement, mixed)("  return 3") == "  return 3"


def test_insertion_into_empty_file_with_a_stray_context_line_is_fuzzed_not_crashed() -> None:
    lines = body("+a", "+b", " ")
    placement = place([], Target(lines, 0))
    assert (placement.status, placement.tail) == ("fuzzy", 1)
    assert splice([], [(lines, placement)]) == ["a", "b"]
