"""Per-test results and the red→green proof: which tests a run fixed, broke or left failing.

Test runners whose results can be read reliably report per test: pytest through its JUnit
XML (coder adds `--junit-xml` to a pytest check), `go test` through its `-json` events
(added the same way), `cargo test` and `go test -v` through their result lines. Other
checks count by exit code only. `Proof` compares the baseline run (before any edit) with
the final one, test by test.
"""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

TestResults = dict[str, str]
"""Test id → passed, failed, error or skipped."""
_CARGO = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)", re.M)
_GO = re.compile(r"^\s*--- (PASS|FAIL|SKIP): (\S+)", re.M)
_TEST_NAME = re.compile(
    r"(^|/)(test_[^/]*\.py|[^/]*_test\.(py|go)|[^/]*\.(test|spec)\.(js|jsx|ts|tsx|mjs|cjs)"
    r"|conftest\.py)$"
)
_SHELL = re.compile(r"[;&|<>`$()]")
_TEST_DIRS = frozenset({"tests", "test", "__tests__", "spec"})


def is_test_path(path: str) -> bool:
    """Whether a repository path is a test file (what the model must not edit to pass)."""
    parts = PurePosixPath(path).parts
    return bool(_TEST_NAME.search(path)) or any(part in _TEST_DIRS for part in parts[:-1])


def is_pytest(command: str) -> bool:
    """Whether a check command runs pytest (so its JUnit XML can be asked for)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return any(word == "pytest" or word.endswith("/pytest") for word in words)


def with_junit(command: str, path: Path) -> str:
    """The pytest command writing its per-test results to `path`."""
    return f"{command} --junit-xml={shlex.quote(str(path))} -o junit_family=xunit1"


def read_junit(path: Path) -> TestResults | None:
    """Per-test results from a JUnit XML file; None when it is missing or unreadable."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return None
    results: TestResults = {}
    for case in root.iter("testcase"):
        name = ".".join(filter(None, (case.get("classname"), case.get("name"))))
        kinds = {child.tag for child in case}
        if "error" in kinds:
            results[name] = "error"
        elif "failure" in kinds:
            results[name] = "failed"
        elif "skipped" in kinds:
            results[name] = "skipped"
        else:
            results[name] = "passed"
    return results


def is_go_test(command: str) -> bool:
    """Whether a check command is a plain `go test` (so its -json stream can be asked for)."""
    words = command.split()
    return words[:2] == ["go", "test"] and "-json" not in words and not _SHELL.search(command)


def with_go_json(command: str) -> str:
    """The `go test` command reporting per test as JSON events."""
    return command.replace("go test", "go test -json", 1)


def read_go_json(output: str) -> tuple[TestResults | None, str]:
    """Per-test results from `go test -json`, and the text `go test` would have printed
    (the events' Output fields; lines that are not events, such as build errors, as they
    are)."""
    results: TestResults = {}
    text: list[str] = []
    kinds = {"pass": "passed", "fail": "failed", "skip": "skipped"}
    for line in output.splitlines(keepends=True):
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            text.append(line)
            continue
        text.append(str(event.get("Output", "")))
        test, action = event.get("Test"), event.get("Action")
        if test and action in kinds:
            results[f"{event.get('Package', '')}.{test}".lstrip(".")] = kinds[action]
    return results or None, "".join(text)


def read_output(command: str, output: str) -> TestResults | None:
    """Per-test results from a runner's own output (cargo test, go test -v), else None."""
    words = command.split()
    if "cargo" in words and "test" in words:
        found = _CARGO.findall(output)
        kinds = {"ok": "passed", "FAILED": "failed", "ignored": "skipped"}
        return {name: kinds[kind] for name, kind in found} if found else None
    if "go" in words and "test" in words and "-v" in words:  # without -v no PASS lines
        found = _GO.findall(output)
        kinds = {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}
        return {name: kinds[kind] for kind, name in found} if found else None
    return None


@dataclass
class Proof:
    """What the run did to the tests, from the baseline to the final run."""

    red_to_green: list[str] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)
    """Passing before, failing after."""
    new_passing: list[str] = field(default_factory=list)
    """Tests that did not exist before and pass."""
    new_failing: list[str] = field(default_factory=list)
    per_test: bool = True
    """False when a check's runner gives no per-test results (exit codes only)."""

    def to_dict(self) -> dict[str, object]:
        """The JSON form of the report."""
        return {
            "red_to_green": self.red_to_green,
            "still_failing": self.still_failing,
            "regressions": self.regressions,
            "new_passing": self.new_passing,
            "new_failing": self.new_failing,
            "per_test": self.per_test,
        }


def compare(before: TestResults | None, after: TestResults | None) -> Proof:
    """The proof from two runs' per-test results (either None: exit codes only)."""
    if before is None or after is None:
        return Proof(per_test=False)
    proof = Proof()
    bad = ("failed", "error")
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if new is None:
            continue
        if old is None:
            (proof.new_failing if new in bad else proof.new_passing).append(name)
        elif old in bad and new == "passed":
            proof.red_to_green.append(name)
        elif old in bad and new in bad:
            proof.still_failing.append(name)
        elif old == "passed" and new in bad:
            proof.regressions.append(name)
    return proof
