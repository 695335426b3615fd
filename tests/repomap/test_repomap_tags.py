"""Definitions and references from our tags queries, for every supported language."""

from __future__ import annotations

import pytest

from coder.repomap.languages import language_for
from coder.repomap.tags import extract, reference_lines
from tests.repomap.conftest import FIXTURES

LANGS = FIXTURES / "langs"

# file → (definitions that must be found as (name, kind, line), names that must be referenced)
EXPECTED: dict[str, tuple[set[tuple[str, str, int]], set[str]]] = {
    "shapes.py": (
        {
            ("MAX_SIDES", "constant", 3),
            ("Shape", "class", 6),
            ("area", "function", 7),
            ("Square", "class", 11),
            ("scale", "function", 19),
            ("total_area", "function", 23),
        },
        {"Shape", "scale", "area"},
    ),
    "shapes.js": (
        {
            ("Shape", "class", 2),
            ("area", "method", 3),
            ("Square", "class", 8),
            ("scale", "function", 19),
            ("totalArea", "function", 23),
        },
        {"Shape", "Square", "scale", "area"},
    ),
    "shapes.ts": (
        {
            ("Shape", "interface", 2),
            ("Side", "type", 6),
            ("Square", "class", 8),
            ("scale", "function", 16),
            ("totalArea", "function", 20),
            ("Color", "enum", 23),
            ("make", "function", 28),
        },
        {"Shape", "Side", "Square", "scale", "area"},
    ),
    "widget.tsx": (
        {
            ("WidgetProps", "interface", 4),
            ("Widget", "function", 8),
            ("formatArea", "function", 13),
        },
        {"Square", "WidgetProps", "totalArea", "formatArea"},
    ),
    "shapes.go": (
        {
            ("Shape", "type", 5),
            ("Square", "type", 10),
            ("Area", "method", 15),
            ("Scale", "function", 20),
            ("TotalArea", "function", 25),
        },
        {"Scale", "Area", "Shape"},
    ),
    "shapes.rs": (
        {
            ("Shape", "interface", 2),
            ("Square", "class", 6),
            ("Color", "enum", 10),
            ("area", "method", 16),
            ("scale", "function", 21),
            ("total_area", "function", 25),
            ("square", "macro", 29),
        },
        {"Shape", "Square", "scale", "area"},
    ),
    "Shapes.java": (
        {
            ("Shape", "interface", 4),
            ("Square", "class", 8),
            ("area", "method", 15),
            ("Shapes", "class", 20),
            ("scale", "method", 21),
            ("totalArea", "method", 25),
        },
        {"Shape", "Square", "scale", "area"},
    ),
    "shapes.h": (
        {
            ("MAX_SIDES", "macro", 5),
            ("square", "class", 7),
            ("Square", "type", 9),
            ("color", "enum", 11),
            ("scale", "function", 13),
        },
        {"Square"},
    ),
    "shapes.c": (
        {("scale", "function", 4), ("square_area", "function", 8), ("total_area", "function", 12)},
        {"scale", "square_area", "Square"},
    ),
    "shapes.cpp": (
        {
            ("shapes", "module", 4),
            ("Shape", "class", 6),
            ("scale", "function", 11),
            ("Square", "class", 13),
            ("area", "method", 16),
            ("Point", "class", 22),
            ("total_area", "function", 26),
            ("perimeter", "function", 34),
        },
        {"Shape", "Square", "scale", "area"},
    ),
    "shapes.rb": (
        {
            ("Shapes", "module", 2),
            ("Shape", "class", 3),
            ("area", "method", 4),
            ("Square", "class", 9),
            ("scale", "method", 19),
            ("total_area", "method", 23),
        },
        {"Shape", "Shapes", "scale", "total_area"},
    ),
    "build.sh": (
        {("log", "function", 5), ("compile_all", "function", 9)},
        {"log", "compile_all"},
    ),
}


def test_every_supported_grammar_has_a_fixture() -> None:
    languages = {language_for(name) for name in EXPECTED}
    assert languages == {
        "python",
        "javascript",
        "typescript",
        "tsx",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
        "ruby",
        "bash",
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_definitions_are_found_with_kind_and_line(name: str) -> None:
    language = language_for(name)
    assert language is not None
    tags = extract((LANGS / name).read_bytes(), language)
    found = {(d.name, d.kind, d.line) for d in tags.defs}
    missing = EXPECTED[name][0] - found
    assert not missing, f"{name}: missing {missing}; found {sorted(found)}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_references_are_counted(name: str) -> None:
    language = language_for(name)
    assert language is not None
    tags = extract((LANGS / name).read_bytes(), language)
    missing = EXPECTED[name][1] - set(tags.refs)
    assert not missing, f"{name}: missing references {missing}; found {sorted(tags.refs)}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_signature_line_is_the_source_line_of_the_name(name: str) -> None:
    language = language_for(name)
    assert language is not None
    data = (LANGS / name).read_bytes()
    lines = data.decode().splitlines()
    for d in extract(data, language).defs:
        assert d.text == lines[d.line - 1].rstrip()
        assert d.name in d.text
        assert d.end_line >= d.line


def test_a_definition_name_is_not_also_counted_as_a_reference() -> None:
    # Go's broad `(type_identifier) @reference.type` pattern also matches `type Square struct`.
    tags = extract((LANGS / "shapes.go").read_bytes(), "go")
    assert tags.refs["Square"] == 1  # only the method receiver `(s Square)`


def test_reference_lines_point_at_the_uses_of_a_name() -> None:
    data = (LANGS / "shapes.py").read_bytes()
    assert reference_lines(data, "python", "scale") == [16]
    assert reference_lines(data, "python", "Shape") == [11, 23]


def test_predicates_in_queries_are_honoured() -> None:
    # javascript: `require` calls are not references; jsx: only capitalised tags are components.
    js = extract(b"const fs = require('fs');\nload();\n", "javascript")
    assert set(js.refs) == {"load"}
    tsx = extract(b"const a = <div><Widget /></div>;\n", "tsx")
    assert set(tsx.refs) == {"Widget"}


def test_parallel_tagging_gives_the_same_rows_as_serial_tagging() -> None:
    from coder.repomap.tags import tag_files

    jobs = [
        (name, language_for(name) or "", (LANGS / name).stat().st_size) for name in sorted(EXPECTED)
    ]
    serial = sorted(tag_files(LANGS, jobs, workers=1))
    parallel = sorted(tag_files(LANGS, jobs, workers=2, parallel_min_bytes=0))
    assert parallel == serial
    assert len(serial) == len(EXPECTED)


def test_query_source_is_split_into_patterns_despite_comments_and_strings() -> None:
    from coder.repomap.tags import top_level_forms

    source = (
        "; a comment with (parens\n(a) @x\n\n((b name: (c) @name) @reference.call\n"
        '  (#match? @name "^[(;]"))\n[\n  (d)\n  (e)\n] @definition.class\n'
    )
    assert top_level_forms(source) == [
        "(a) @x",
        '((b name: (c) @name) @reference.call\n  (#match? @name "^[(;]"))',
        "[\n  (d)\n  (e)\n] @definition.class",
    ]


def test_definition_patterns_rename_their_name_and_reference_patterns_capture_only_it() -> None:
    from coder.repomap.languages import GRAMMARS
    from coder.repomap.tags import query_source

    for grammar in GRAMMARS:
        for form in query_source(grammar).split("\n\n"):
            assert ("@definition." in form) == ("@definition_name" in form)
            assert ("@definition." in form) != ("@name" in form)
            assert "@reference." not in form  # unused whole-node captures are dropped


def test_parallel_tagging_works_from_a_thread() -> None:
    """With other threads alive the pool spawns instead of forking; results are the same."""
    import threading

    from coder.repomap.tags import tag_files

    jobs = [(name, language_for(name) or "", 1) for name in sorted(EXPECTED)]
    results: list[object] = []
    worker = threading.Thread(
        target=lambda: results.extend(tag_files(LANGS, jobs, workers=2, parallel_min_bytes=0))
    )
    worker.start()
    worker.join(timeout=60)
    assert sorted(results) == sorted(tag_files(LANGS, jobs, workers=1))  # type: ignore[type-var]


def test_parallel_chunks_cover_every_file_once_largest_first_and_shrink_toward_the_end() -> None:
    from coder.repomap.tags import _chunks

    jobs = [(f"f{i}.py", "python", (i * 7919) % 50_000) for i in range(2000)]
    chunks = _chunks(jobs, workers=2)
    flat = [path for chunk in chunks for path, _ in chunk]
    assert sorted(flat) == sorted(path for path, _, _ in jobs)
    sizes = {path: size for path, _, size in jobs}
    assert [sizes[p] for p in flat] == sorted(sizes.values(), reverse=True)
    weights = [sum(sizes[p] + 1024 for p, _ in chunk) for chunk in chunks]
    assert weights[0] > 4 * weights[-2]  # early chunks are big, late ones small
    assert max(weights[-4:]) < sum(weights) / 40  # so the workers finish close together


def test_definition_text_is_its_whole_line_with_crlf_endings_and_multibyte_text() -> None:
    source = "x = 1\r\nclass Été:  # é\r\n    def m(self, s='ü'): return ñ(s)\r\n"
    tags = extract(source.encode("utf-8"), "python")
    assert [(d.name, d.line, d.end_line, d.text) for d in tags.defs] == [
        ("x", 1, 1, "x = 1"),
        ("Été", 2, 3, "class Été:  # é"),
        ("m", 3, 3, "    def m(self, s='ü'): return ñ(s)"),
    ]
    assert tags.refs == {"ñ": 1}
