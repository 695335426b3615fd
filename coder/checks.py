"""The project's checks: detect sensible default commands, run them, trim their output.

A check passes when its command exits 0. What the model sees of a failure is trimmed to
the failing part (pytest's FAILURES section and summary, else head and tail). A
`CheckRunner` is handed to the agent, the tools and the profiles: the one way to run them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import sys
import threading
from collections.abc import Callable

from coder.errors import Interrupted
from coder.results import CheckRun
from coder.workspace import Workspace, head_tail

MAX_FAILURE_CHARS = 6000

__all__ = ["CheckRun", "CheckRunner", "describe_runs", "detect", "failing_count"]


def _python_test_command() -> str:
    if importlib.util.find_spec("pytest") is not None:
        return f"{shlex.quote(sys.executable)} -m pytest -q --tb=short"
    return "python -m pytest -q --tb=short"


def detect(ws: Workspace) -> tuple[list[str], str]:
    """Default check commands for the project, and a short reason for the choice."""
    files = ws.list_files()
    names = set(files)
    basenames = {name.rsplit("/", 1)[-1] for name in files}
    if "package.json" in names:
        try:
            scripts = json.loads(ws.read_text("package.json")).get("scripts", {})
        except (json.JSONDecodeError, AttributeError):
            scripts = {}
        test = scripts.get("test", "") if isinstance(scripts, dict) else ""
        if test and "no test specified" not in test:
            return ["npm test"], "package.json has a test script"
    if "go.mod" in names:
        return ["go test ./..."], "go.mod found"
    if "Cargo.toml" in names:
        return ["cargo test"], "Cargo.toml found"
    python_tests = [
        name
        for name in files
        if re.search(r"(^|/)(test_[^/]*|[^/]*_test)\.py$", name) or name.startswith("tests/")
    ]
    if python_tests or basenames & {"pytest.ini", "conftest.py"}:
        return [_python_test_command()], "Python tests found: pytest"
    return [], "no test suite detected"


def trim_failure(output: str, max_chars: int = MAX_FAILURE_CHARS) -> str:
    """Keep the failing part of a check's output, within `max_chars`."""
    start = -1
    for marker in ("= FAILURES =", "= ERRORS =", "_ ERROR collecting"):
        found = output.find(marker)
        if found != -1 and (start == -1 or found < start):
            start = found
    if start != -1:
        line_start = output.rfind("\n", 0, start) + 1
        output = output[line_start:]
    return head_tail(output.strip(), max_chars, head_share=0.6)


def run_check(
    ws: Workspace,
    command: str,
    timeout_s: float,
    on_output: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> CheckRun:
    """Run one check command in the workspace root."""
    result = ws.run(command, timeout_s=timeout_s, on_output=on_output, cancel=cancel)
    passed = result.exit_code == 0
    output = result.output
    if result.timed_out:
        output += f"\n[check timed out after {timeout_s:.0f} s]"
    text = head_tail(output.strip(), 2000) if passed else trim_failure(output)
    failing = 0 if passed else failing_tests(text)
    return CheckRun(
        command, passed, result.exit_code, text, result.seconds, result.sandbox, failing
    )


_FAILED_LINE = re.compile(r"^(FAILED|ERROR) (\S+)", re.M)


def failing_tests(output: str) -> int | None:
    """How many tests a pytest run reported failing; None when the output says nothing.

    An error outside any test (a module that does not import) fails them all: it counts
    as more than any number of failing tests.
    """
    found = _FAILED_LINE.findall(output)
    if not found:
        return None
    return sum(1 if kind == "FAILED" or "::" in test else 1000 for kind, test in found)


def failing_count(runs: list[CheckRun]) -> int | None:
    """Failing tests over several checks' runs; None when a failing run does not say."""
    total = 0
    for run in runs:
        if run.passed:
            continue
        if run.failing is None:
            return None
        total += run.failing
    return total


def describe_runs(runs: list[CheckRun]) -> str:
    """The checks' outcome as the model reads it: a verdict per command, failures in full."""
    if not runs:
        return "no checks are configured"
    parts = []
    for run in runs:
        verdict = "PASSED" if run.passed else f"FAILED (exit code {run.exit_code})"
        parts.append(f"$ {run.command}\n{verdict}" + ("" if run.passed else f"\n{run.output}"))
    return "\n\n".join(parts)


class CheckRunner:
    """Runs the project's check commands in the workspace; reports each run as it ends."""

    def __init__(
        self,
        ws: Workspace,
        commands: list[str],
        timeout_s: float = 600.0,
        cancel: threading.Event | None = None,
        on_output: Callable[[str], None] = lambda text: None,
        on_result: Callable[[CheckRun], None] = lambda run: None,
    ) -> None:
        self.ws = ws
        self.commands = commands
        """The check commands, in order (the TUI's /checks replaces them)."""
        self.timeout_s = timeout_s
        self.cancel = cancel or threading.Event()
        self.on_output = on_output
        self.on_result = on_result

    def run(self, quiet: bool = False) -> list[CheckRun]:
        """Every check command's run, in order; `quiet` runs stream and report nothing
        (a profile's trial runs). Raises Interrupted when the user interrupts."""
        runs = []
        for command in self.commands:
            output = None if quiet else self.on_output
            run = run_check(self.ws, command, self.timeout_s, on_output=output, cancel=self.cancel)
            if self.cancel.is_set():
                raise Interrupted("Interrupted by the user.")
            if not quiet:
                self.on_result(run)
            runs.append(run)
        return runs
