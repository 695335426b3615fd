"""Parse source files with tree-sitter and run our tags queries: definitions and references.

The only module that imports `tree_sitter` and the grammar wheels, lazily on first use. It also
runs the cold build in parallel worker processes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from itertools import starmap
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from coder.repomap.languages import GRAMMARS, MAX_FILE_BYTES


class Definition(NamedTuple):
    """A named definition found by a `@definition.<kind>` capture."""

    name: str
    kind: str
    """class, function, method, interface, module, type, constant, macro, …"""
    line: int
    """1-based line of the name: the signature line."""
    end_line: int
    """1-based last line of the whole definition (for nesting methods under classes)."""
    text: str
    """The signature line as written (indentation kept, trailing space stripped)."""


class FileTags(NamedTuple):
    """Everything the map knows about one file."""

    defs: tuple[Definition, ...]
    refs: dict[str, int]
    """Referenced name → number of references in this file."""


class Parsed(NamedTuple):
    """One file read and tagged, already encoded for the cache (workers do the encoding)."""

    path: str
    digest: str
    shape: str
    """Digest of what ranking sees (definition names, reference counts); "" when skipped."""
    tags: int
    """Number of definitions plus references."""
    names: str | None
    """JSON [definition names in line order, {reference: count}]; None when skipped."""
    defs: str | None
    """JSON list of definitions, each [name, kind, line, end_line, text]; None when skipped."""


_RANGE = attrgetter("byte_range")
_START = attrgetter("start_byte")
_DEFINITION = partial(tuple.__new__, Definition)
_SCOPE_ORDER = itemgetter(0, 1, 2)
_LINE_NAME = itemgetter(2, 0)

_JSON = json.JSONEncoder(separators=(",", ":"))

_LOADED: dict[str, tuple[Any, Any]] = {}
"""Grammar name → (Parser, Query), built once per process."""

PARALLEL_MIN_BYTES = 2_000_000
"""Below this much source, worker processes cost more than they save."""

FILE_COST_BYTES = 1024
"""The fixed cost of tagging one file (open, read, cursor, result), in bytes of source."""

CHUNKS_PER_WORKER = 3
"""A parallel chunk takes 1 / (workers × this) of the work still left."""


def digest(data: bytes) -> str:
    """Content hash used to confirm that a file whose size or mtime changed really changed."""
    return hashlib.sha256(data).hexdigest()[:32]  # OpenSSL's SHA-256: ~3x blake2b with SHA-NI


def encode(tags: FileTags) -> tuple[str, str, str]:
    """(shape digest, names JSON, defs JSON) of a file's tags, as the cache stores them.

    The shape digest covers what ranking sees, so edits that keep it (bodies, comments, moved
    lines) leave the ranking as it was.
    """
    names = _JSON.encode([[d.name for d in tags.defs], tags.refs])
    defs = _JSON.encode(tags.defs)  # each definition (a tuple) is a JSON list
    return digest(names.encode("utf-8")), names, defs


def decode_names(text: str) -> tuple[tuple[str, ...], dict[str, int]]:
    """Inverse of the names part of `encode`."""
    names, refs = json.loads(text)
    return tuple(names), refs


def decode_defs(text: str) -> tuple[Definition, ...]:
    """Inverse of the defs part of `encode`."""
    return tuple(Definition(*d) for d in json.loads(text))


_REFERENCE_CAPTURE = re.compile(r"\s*@reference\.[\w.]+")
"""A reference pattern's capture of its whole node, which only the name's capture needs."""


def top_level_forms(source: str) -> list[str]:
    """Split query source into its top-level patterns (comments dropped)."""
    forms: list[str] = []
    depth = 0
    current: list[str] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == ";":  # comment to end of line
            i = source.find("\n", i)
            i = len(source) if i < 0 else i
            continue
        if char == '"':  # string literal, with escapes
            end = i + 1
            while end < len(source) and source[end] != '"':
                end += 2 if source[end] == "\\" else 1
            current.append(source[i : end + 1])
            i = end + 1
            continue
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if depth == 0 and char.isspace() and "".join(current).strip():
            if not _continues(source, i):
                forms.append("".join(current).strip())
                current = []
        current.append(char)
        i += 1
    if "".join(current).strip():
        forms.append("".join(current).strip())
    return forms


def _continues(source: str, index: int) -> bool:
    """Whether the text after a top-level form's closing bracket still belongs to it
    (captures like `@definition.class` and quantifiers follow the pattern)."""
    rest = source[index:].lstrip()
    return rest[:1] in ("@", "*", "+", "?")


def query_source(grammar_name: str) -> str:
    """Our tags query for a grammar, with definition names captured as `@definition_name`.

    The files use the usual convention (`@name` plus `@definition.<kind>` or
    `@reference.<kind>`). Renaming the name capture of definition patterns lets one
    `captures()` call tell definitions from references without a dict per match. The
    `@reference.<kind>` captures are dropped: nothing reads them, and on a large repository
    they are hundreds of thousands of nodes built for nothing.
    """
    grammar = GRAMMARS[grammar_name]
    source = "\n".join(path.read_text(encoding="utf-8") for path in grammar.query_paths)
    forms = top_level_forms(source)
    return "\n\n".join(
        re.sub(r"@name\b", "@definition_name", form)
        if "@definition." in form
        else _REFERENCE_CAPTURE.sub("", form)
        for form in forms
    )


def _grammar(language: str) -> tuple[Any, Any]:
    loaded = _LOADED.get(language)
    if loaded is None:
        import tree_sitter

        grammar = GRAMMARS[language]
        module = importlib.import_module(grammar.module)
        lang = tree_sitter.Language(getattr(module, grammar.function)())
        query = tree_sitter.Query(lang, query_source(language))
        loaded = _LOADED[language] = (tree_sitter.Parser(lang), query)
    return loaded


def _captures(data: bytes, language: str) -> dict[str, list[Any]]:
    import tree_sitter

    parser, query = _grammar(language)
    tree = parser.parse(data)
    return tree_sitter.QueryCursor(query).captures(tree.root_node)  # type: ignore[no-any-return]


def _definitions(data: bytes, captures: dict[str, list[Any]]) -> tuple[Definition, ...]:
    """Pair each definition name with the innermost definition node around it.

    When two patterns tag one node (Rust: a function inside an impl is also a method), the
    kind other than "function" wins. Hot code (tens of thousands of definitions in a large
    repository): one pass per definition, plain tuples, the line's start from the node's
    column (tree-sitter counts columns in bytes) rather than a search.
    """
    scopes: list[tuple[int, int, bool, str, Any]] = []
    for capture, nodes in captures.items():
        if capture.startswith("definition."):
            kind = capture[11:]
            rank = kind != "function"
            for node in nodes:
                start, end = node.byte_range
                scopes.append((start, -end, rank, kind, node))
    scopes.sort(key=_SCOPE_ORDER)
    names = sorted(captures.get("definition_name", ()), key=_START)
    found: dict[tuple[str, int], tuple[str, str, int, int, str]] = {}
    stack: list[tuple[int, int, bool, str, Any]] = []
    next_scope, scope_count, size = 0, len(scopes), len(data)
    for node in names:
        start, end = node.byte_range
        while next_scope < scope_count and scopes[next_scope][0] <= start:
            scope = scopes[next_scope]
            while stack and -stack[-1][1] <= scope[0]:
                stack.pop()
            stack.append(scope)
            next_scope += 1
        while stack and -stack[-1][1] < end:
            stack.pop()
        row, column = node.start_point
        key = (data[start:end].decode("utf-8", "replace"), row + 1)
        if key in found:
            continue
        kind, last = "definition", row
        if stack:
            kind, last = stack[-1][3], stack[-1][4].end_point[0]
        line_end = data.find(b"\n", start)
        text = data[start - column : size if line_end < 0 else line_end]
        found[key] = (
            key[0],
            kind,
            key[1],
            (last if last > row else row) + 1,
            text.decode("utf-8", "replace").rstrip(),
        )
    return tuple(map(_DEFINITION, sorted(found.values(), key=_LINE_NAME)))


def _references(data: bytes, captures: dict[str, list[Any]]) -> dict[str, int]:
    """Referenced name → count, in byte order of the names (so a file always encodes alike).

    A broad reference pattern (every type identifier) can also capture a name being defined;
    captures that start where a definition's name does are not references.
    """
    ranges: Iterable[tuple[int, int]] = map(_RANGE, captures.get("name", ()))
    defined = captures.get("definition_name")
    if defined:
        starts = set(map(_START, defined))
        ranges = [r for r in ranges if r[0] not in starts]
    counts = Counter(map(data.__getitem__, starmap(slice, ranges)))
    refs: dict[str, int] = {}
    for raw, count in sorted(counts.items()):
        name = raw.decode("utf-8", "replace")  # undecodable names may collide: add them up
        refs[name] = refs.get(name, 0) + count
    return refs


def extract(data: bytes, language: str) -> FileTags:
    """Parse `data` as `language` and collect its definitions and reference counts."""
    captures = _captures(data, language)
    return FileTags(_definitions(data, captures), _references(data, captures))


def reference_lines(data: bytes, language: str, name: str) -> list[int]:
    """1-based lines where `name` is referenced (by a `@reference.*` capture)."""
    wanted = name.encode("utf-8")
    captures = _captures(data, language)
    defined = {node.start_byte for node in captures.get("definition_name", ())}
    return sorted(
        {
            node.start_point[0] + 1
            for node in captures.get("name", ())
            if node.start_byte not in defined and data[node.start_byte : node.end_byte] == wanted
        }
    )


def is_binary(data: bytes) -> bool:
    """A NUL byte in the first 8 KiB marks a binary file."""
    return b"\0" in data[:8192]


def tag_file(root: Path, path: str, language: str) -> Parsed | None:
    """Read, hash and tag one file; None when it vanished or cannot be read."""
    try:
        with (root / path).open("rb") as handle:  # never more than a map can use
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES or is_binary(data):
        return Parsed(path, digest(data), "", 0, None, None)
    tags = extract(data, language)
    shape, names, defs = encode(tags)
    count = len(tags.defs) + sum(tags.refs.values())
    return Parsed(path, digest(data), shape, count, names, defs)


def _tag_chunk(root: str, jobs: list[tuple[str, str]]) -> list[Parsed]:
    base = Path(root)
    return [p for p in (tag_file(base, path, lang) for path, lang in jobs) if p is not None]


def _worker_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _chunks(jobs: Sequence[tuple[str, str, int]], workers: int) -> list[list[tuple[str, str]]]:
    """(path, language) chunks for the workers, largest files first, each chunk a fixed share
    of the work still left (guided scheduling): big chunks early cost little overhead, small
    ones at the end let the workers finish together."""
    ordered = sorted(jobs, key=lambda job: -job[2])
    left = sum(size for _, _, size in jobs) + FILE_COST_BYTES * len(jobs)
    smallest = left // (workers * CHUNKS_PER_WORKER * 8) + 1
    chunks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    weight = 0
    for path, language, size in ordered:
        current.append((path, language))
        weight += size + FILE_COST_BYTES
        if weight >= max(left // (workers * CHUNKS_PER_WORKER), smallest):
            chunks.append(current)
            left -= weight
            current, weight = [], 0
    if current:
        chunks.append(current)
    return chunks


def tag_files(
    root: Path,
    jobs: Sequence[tuple[str, str, int]],
    workers: int | None = None,
    parallel_min_bytes: int = PARALLEL_MIN_BYTES,
) -> Iterator[Parsed]:
    """Tag (path, language, size) jobs; in worker processes when there is enough to parse."""
    workers = min(workers or _worker_count(), len(jobs))
    total = sum(size for _, _, size in jobs)
    if workers < 2 or total < parallel_min_bytes:
        for path, language, _ in jobs:
            parsed = tag_file(root, path, language)
            if parsed is not None:
                yield parsed
        return
    chunks = _chunks(jobs, workers)
    import multiprocessing  # process machinery only for cold builds: keeps warm starts fast
    import threading
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # fork is cheapest, but forking a process that runs other threads can deadlock in the child.
    method = "fork" if threading.active_count() == 1 and os.name == "posix" else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_tag_chunk, str(root), chunk) for chunk in chunks]
        for future in as_completed(futures):
            yield from future.result()
