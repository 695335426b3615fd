"""What a small model is shown of failing checks: the shortest failing tests' own source beside
their failure, and the names of the rest; not more of the log.

A CPU prefills about 36 tokens a second: a 3,000-token log after one failure slows every
later turn, and a 1.5B model reads the one failing assert better than twenty tracebacks.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable

from coder.profiles.small.spec import sources_of_tests
from coder.results import CheckRun
from coder.workspace import head_tail

SHOWN_TESTS = 2
"""Failing tests shown with their source and failure: the shortest of the first
`CONSIDERED_TESTS`."""
CONSIDERED_TESTS = 20
SOURCE_CHARS = 1500
"""Of a shown test's source (its decorators may hold a long table of cases)."""
FAILURE_CHARS = 700
"""Of each shown test's failure section (its tail: the `E` lines and where it broke)."""
OTHER_CHARS = 1500
"""Of a failure that has no per-test sections (a module that does not import)."""
NAMED_TESTS = 8

# pytest pads a section's title with underscores to 80 columns: a title of 73 or more
# characters (exercism's "ClassTest.test_..." often is) has one underscore each side
_SECTION = re.compile(r"^_+ ([^_\s].*?) _+$", re.M)
_END = re.compile(r"^=+ (short test summary info|\d+ (failed|passed|error)).*$", re.M)
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+?\.py)::(\S+)", re.M)
_CARETS = re.compile(r"^[ \t]*[\^~]+[ \t]*\n", re.M)  # Python 3.11's pointers under a call


def focused(runs: list[CheckRun], read: Callable[[str], str | None]) -> str:
    """The checks' failures for a small model (see the module docstring); `read` gives a
    test file's text."""
    parts = []
    for run in runs:
        if run.passed:
            parts.append(f"$ {run.command}\nPASSED")
            continue
        parts.append(f"$ {run.command}\nFAILED (exit code {run.exit_code})\n" + _one(run, read))
    return "\n\n".join(parts) if parts else "no checks are configured"


def _one(run: CheckRun, read: Callable[[str], str | None]) -> str:
    output = run.output
    sections = _sections(output)
    failed = _FAILED.findall(output)
    if not sections or not failed:
        return head_tail(output.strip(), OTHER_CHARS, head_share=0.3)
    where = {test.replace("::", "."): path for path, test in failed}
    sources: dict[str, dict[str, str]] = {}  # by test file, each parsed once
    found = []
    for title, body in sections[:CONSIDERED_TESTS]:
        path = where.get(title) or next(iter(where.values()))
        if path not in sources:
            text = read(path)
            sources[path] = sources_of_tests(text) if text else {}
        # "Class.test_name[params]": the params (pytest.mark.parametrize's ids) may hold dots
        source = sources[path].get(title.split("[", 1)[0].rsplit(".", 1)[-1], "")
        source = head_tail(source, SOURCE_CHARS, head_share=0.5)
        failure = head_tail(_CARETS.sub("", body).strip(), FAILURE_CHARS, head_share=0.2)
        found.append((title, path, source, failure))
    # the shortest first: a small example is cheaper to read and easier to act on than
    # unittest's alphabetical first (bottle-song's is its 50-line test of every verse)
    chosen = sorted(found, key=lambda item: sum(map(len, item)))[:SHOWN_TESTS]
    shown, seen = [], set()
    for title, path, source, failure in sorted(chosen, key=found.index):
        if source and source in seen:  # two ids of one parametrized test
            source = "(the test above)"
        seen.add(source)
        # indented, not fenced: a path line over a code block is how the model writes files
        shown.append(
            f"Test {title} in {path}:\n"
            + (textwrap.indent(source, "    ") + "\n" if source else "")
            + f"fails with:\n{textwrap.indent(failure, '    ')}"
        )
    shown_titles = {title for title, *_ in chosen}
    tally = _tally(run, len(failed))
    rest = [
        test.rsplit("::", 1)[-1]
        for _, test in failed
        if test.replace("::", ".") not in shown_titles
    ]
    text = f"{tally}:\n\n"
    text += "\n\n".join(shown)
    if rest:
        more = ", ".join(rest[:NAMED_TESTS]) + (" …" if len(rest) > NAMED_TESTS else "")
        text += f"\n\nAlso failing: {more}"
    return text


def _sections(output: str) -> list[tuple[str, str]]:
    """(test title, its failure text) for each section of pytest's FAILURES."""
    end = _END.search(output)
    limit = end.start() if end else len(output)
    found = list(_SECTION.finditer(output, 0, limit))
    sections = []
    for index, match in enumerate(found):
        stop = found[index + 1].start() if index + 1 < len(found) else limit
        title = match.group(1)
        if title.startswith(("ERROR at", "ERROR collecting")):
            continue
        sections.append((title, output[match.end() : stop]))
    return sections


def _tally(run: CheckRun, failing: int) -> str:
    if run.tests:
        total = len(run.tests)
        bad = sum(kind in ("failed", "error") for kind in run.tests.values())
        return f"{bad} of {total} tests fail"
    return f"{failing} test{'s' if failing != 1 else ''} fail"
