"""The project's checks: run them, read their per-test results, trim their output.

A check passes when its command exits 0. What the model sees of a failure is trimmed to
the failing part (pytest's FAILURES section and summary, else head and tail). A
`CheckRunner` is handed to the agent, the tools and the profiles: the one way to run them.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from coder.detect import detect
from coder.errors import ConfigError, Interrupted
from coder.journal import Change
from coder.proof import (
    TestResults,
    is_go_test,
    is_pytest,
    is_test_path,
    read_go_json,
    read_junit,
    read_output,
    with_go_json,
    with_junit,
)
from coder.results import CheckRun
from coder.workspace import Workspace, head_tail

MAX_FAILURE_CHARS = 6000
BASELINE_BUDGET_SHARE = 0.25
BASELINE_MIN_S = 30.0
"""With a time budget, the baseline may take this share of it (but at least this long)."""
CANDIDATE_EPOCH = 1_000_000_000
"""Candidate files checked in the sandbox get mtimes from here (2001), one second apart."""

__all__ = ["CheckRun", "CheckRunner", "describe_runs", "detect", "failing_count"]


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


_JUNIT_NOTE = re.compile(r"^-* ?generated xml file: .*$\n?", re.M)


def run_check(
    ws: Workspace,
    command: str,
    timeout_s: float,
    on_output: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
    overlays: dict[str, Path] | None = None,
    phase: str = "check",
) -> CheckRun:
    """Run one check command in the workspace root; a pytest check also reports per test
    (its JUnit XML, written to a folder of coder's that the sandbox lets it write)."""
    folder = Path(tempfile.mkdtemp(prefix="coder-junit-")) if is_pytest(command) else None
    go_json = is_go_test(command)
    actual = with_junit(command, folder / "results.xml") if folder else command
    if folder:  # a test that hangs has its stack dumped before the kill: the model sees where
        actual += f" -o faulthandler_timeout={max(1, int(timeout_s - max(3.0, timeout_s / 10)))}"
    actual = with_go_json(actual) if go_json else actual
    if go_json and on_output is not None:
        on_output = _go_text(on_output)
    try:
        result = ws.run(
            actual,
            timeout_s=timeout_s,
            on_output=on_output,
            cancel=cancel,
            writable=(folder,) if folder else (),
            overlays=overlays,
        )
        output = result.output
        tests: TestResults | None = None
        if folder:
            tests = read_junit(folder / "results.xml")
        elif go_json:
            tests, output = read_go_json(output)
        else:
            tests = read_output(command, output)
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    passed = result.exit_code == 0
    output = _JUNIT_NOTE.sub("", output)
    if result.timed_out:
        hung = hang_summary(output, ws.root)
        output += f"\n[check timed out after {timeout_s:.0f} s" + (f"; {hung}]" if hung else "]")
    text = head_tail(output.strip(), 2000) if passed else trim_failure(output)
    failing = 0 if passed else failing_tests(output, tests)  # counted before trimming
    return CheckRun(
        command,
        passed,
        result.exit_code,
        text,
        result.seconds,
        result.sandbox,
        failing,
        tests,
        phase,
        result.timed_out,
    )


_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+) in (\S+)', re.M)


def hang_summary(output: str, root: Path) -> str | None:
    """From pytest's traceback dump at a timeout (faulthandler): which test hung and where
    it was stuck, in one line; None when the output holds no such dump."""
    start = output.rfind("Timeout (")
    if start == -1:
        return None
    prefix = str(root).rstrip("/") + "/"
    for block in output[start:].split("Thread 0x"):
        frames = [
            (path.removeprefix(prefix), int(line), name)
            for path, line, name in _FRAME.findall(block)
        ]
        test = next((f for f in frames if is_test_path(f[0]) and f[2].startswith("test")), None)
        if test is None:
            continue
        where = frames[0]
        stuck = f"stuck at {where[0]} line {where[1]} in {where[2]}" if where != test else ""
        return " ".join(
            filter(None, (f"the test that hung: {test[0]}::{test[2]} (line {test[1]})", stuck))
        )
    return None


def _go_text(on_output: Callable[[str], None]) -> Callable[[str], None]:
    """Stream `go test -json` as the text plain `go test -v` would show, line by line."""
    pending = [""]

    def feed(chunk: str) -> None:
        pending[0] += chunk
        *lines, pending[0] = pending[0].split("\n")
        text = read_go_json("".join(f"{line}\n" for line in lines))[1]
        if text:
            on_output(text)

    return feed


def startup_problem(run: CheckRun) -> str | None:
    """Why a check command could not even start (a configuration error), else None."""
    text = run.output.strip()
    last = text.splitlines()[-1] if text else f"exit code {run.exit_code}"
    runner = re.search(r"-m\s+([\w.]+)", run.command)
    if run.exit_code in (126, 127) or re.search(r"command not found|: not found$", text, re.M):
        reason = last
    elif run.exit_code != 0 and runner and f"No module named {runner[1]}" in text:
        reason = f"{runner[1]} is not installed for that interpreter"
    else:
        return None
    return (
        f"the check `{run.command}` cannot start ({reason}); set the right command with "
        "--check or `checks` in .coder.toml"
    )


_FAILED_LINE = re.compile(r"^(FAILED|ERROR) (\S+)", re.M)


def failing_tests(output: str, tests: TestResults | None = None) -> int | None:
    """How many tests a run reported failing; None when it says nothing. Counted from the
    per-test results when there are any, else from pytest's FAILED/ERROR lines, in the
    whole output (a trimmed one names only the first few dozen, so every run with more
    failures would count the same).

    An error outside any test (a module that does not import) fails them all: it counts
    as more than any number of failing tests.
    """
    found = _FAILED_LINE.findall(output)
    broken = sum(1 for kind, test in found if kind == "ERROR" and "::" not in test)
    failed = sum(1 for status in (tests or {}).values() if status in ("failed", "error"))
    if failed:
        return 1000 * broken + failed
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


def nothing_passes(runs: list[CheckRun]) -> bool:
    """Whether every run failed with per-test results and not one test passed."""
    return bool(runs) and all(
        not run.passed
        and run.tests is not None
        and all(state != "passed" for state in run.tests.values())
        for run in runs
    )


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
        time_budget_s: float | None = None,
    ) -> None:
        self.ws = ws
        self.commands = commands
        """The check commands, in order (the TUI's /checks replaces them)."""
        self.timeout_s = timeout_s
        self.baseline_timeout_s = (
            timeout_s
            if time_budget_s is None
            else min(timeout_s, max(BASELINE_MIN_S, BASELINE_BUDGET_SHARE * time_budget_s))
        )
        """The baseline's cut-off: a share of the time budget (it runs before the first
        edit, so a suite that hangs must not hold the run); also every later run's once the
        baseline met it (the suite is known to hang)."""
        self.cancel = cancel or threading.Event()
        self.on_output = on_output
        self.on_result = on_result
        self.baseline: list[CheckRun] | None = None
        """The runs before any edit (the proof's starting point)."""
        self.last: list[CheckRun] | None = None
        """The latest runs the agent asked for."""
        self.restored: list[CheckRun] | None = None
        """The latest runs with the agent's test edits taken out (None: it edited none)."""
        self.original_tests: Callable[[], dict[str, bytes | None]] = lambda: {}
        """The test files the agent changed, as they were before (None: it created them)."""
        self._baseline: threading.Thread | None = None
        self._baseline_error: BaseException | None = None
        self._seen: dict[str, int] = {}
        """Per phase: the workspace generation its latest runs saw."""
        self._stamp = 0

    def run(
        self,
        quiet: bool = False,
        phase: str = "check",
        overlays: dict[str, Path] | None = None,
        timeout_s: float | None = None,
    ) -> list[CheckRun]:
        """Every check command's run, in order; `quiet` runs stream and report nothing
        (a profile's trial runs); `timeout_s` shortens the check timeout. Raises Interrupted
        when the user interrupts."""
        runs = []
        limit = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        if phase == "baseline" or any(run.timed_out for run in self.baseline or []):
            limit = min(limit, self.baseline_timeout_s)
        for command in self.commands:
            output = None if quiet else self.on_output
            run = run_check(self.ws, command, limit, output, self.cancel, overlays, phase)
            if self.cancel.is_set():
                raise Interrupted("Interrupted by the user.")
            if not quiet:
                self.on_result(run)
            runs.append(run)
        if not quiet and phase == "check":
            self.last = runs
        if not quiet:
            self._seen[phase] = self.ws.generation
        return runs

    def current(self, phase: str) -> bool:
        """Whether the latest `phase` runs saw the tree as it is now (no edit since)."""
        return self._seen.get(phase) == self.ws.generation

    def final(self) -> list[CheckRun] | None:
        """The latest runs of the tree as it is now: the last check, else the baseline when
        nothing changed since (None: neither saw it)."""
        if self.last is not None and self.current("check"):
            return self.last
        return self.baseline if self.last is None and self.current("baseline") else None

    def run_with_original_tests(self) -> list[CheckRun] | None:
        """Run the checks with every test file the agent changed as it was before; None
        when it changed none. The user's tree is not touched: in the sandbox the originals
        are mounted over the edited files (a deleted test is written back for the run)."""
        originals = self.original_tests()
        if not originals:
            self.restored = None
            return None
        with tempfile.TemporaryDirectory(prefix="coder-original-tests-") as folder:
            overlays: dict[str, Path] = {}
            written: list[str] = []
            unconfined = self.ws.sandbox.mode == "off"
            for index, (path, data) in enumerate(sorted(originals.items())):
                if data is None:
                    overlays[path] = Path(os.devnull)  # created by the agent: seen empty
                elif unconfined or not self.ws.exists(path):
                    written.append(path)
                else:
                    copy = Path(folder) / str(index)
                    copy.write_bytes(data)
                    overlays[path] = copy
            with _swapped(self.ws, {p: originals[p] for p in written}, unconfined, overlays):
                self.restored = self.run(phase="restored", overlays=overlays)
        self._seen["restored"] = self.ws.generation  # the swap itself is no edit
        return self.restored

    def run_candidate(
        self, files: dict[str, str], report: bool = True, timeout_s: float | None = None
    ) -> list[CheckRun] | None:
        """The checks with `files` (path → text) in place of the tree's, the tree untouched:
        in the sandbox each is mounted over its file; `report`: each run is reported as it
        ends. None when that cannot be done (no sandbox, no checks, a file that is new or
        not a regular file inside the tree)."""
        if self.ws.sandbox.mode == "off" or not self.commands or not files:
            return None
        root = self.ws.root.resolve()
        for path in files:
            target = root / path
            if not target.is_file() or Path(os.path.realpath(target)) != target:
                return None
        with tempfile.TemporaryDirectory(prefix="coder-candidate-") as folder:
            overlays: dict[str, Path] = {}
            for index, (path, text) in enumerate(sorted(files.items())):
                copy = Path(folder) / str(index)
                copy.write_text(text, encoding="utf-8")
                # A stamp no real file has: Python's cached bytecode, keyed by the source's
                # mtime and size, is never taken for another version of the file.
                self._stamp += 1
                os.utime(copy, (CANDIDATE_EPOCH + self._stamp,) * 2)
                overlays[path] = copy
            runs = self.run(quiet=True, phase="candidate", overlays=overlays, timeout_s=timeout_s)
        for run in runs if report else []:
            self.on_result(run)
        return runs

    def replace(self, commands: list[str]) -> None:
        """New check commands; their baseline is run by the next `start_baseline`."""
        if self._baseline is not None:
            self._baseline.join()
        self.commands[:] = commands
        self.baseline = self.last = self.restored = None
        self._baseline, self._baseline_error = None, None
        self._seen.clear()

    def start_baseline(self) -> None:
        """Run the checks once before the first edit, beside a model turn (a thread); once
        per set of commands, again only when an interrupt stopped it."""
        if not self.commands or self.baseline is not None:
            return
        if self._baseline is not None:  # an earlier run ended before it was waited for
            self._baseline.join()
            if self.baseline is not None:
                return
            self._baseline_error = None  # it ended without a result: interrupted

        def work() -> None:
            try:
                self.baseline = self.run(phase="baseline")
            except BaseException as exc:  # handed to ready(), on the agent's thread
                self._baseline_error = exc

        self._baseline = threading.Thread(target=work, name="coder-baseline", daemon=True)
        self._baseline.start()

    def ready(self) -> None:
        """Wait for the baseline; a check that cannot start is a ConfigError (exit 2)."""
        if self._baseline is None:
            return
        self._baseline.join()
        if self._baseline_error is not None:
            error, self._baseline_error = self._baseline_error, None
            raise error
        for run in self.baseline or []:
            problem = startup_problem(run)
            if problem:
                raise ConfigError(problem)


@contextmanager
def _swapped(
    ws: Workspace, originals: dict[str, bytes | None], unconfined: bool, overlays: dict[str, Path]
) -> Iterator[None]:
    """Put `originals` in the tree for one check run and the agent's versions back after
    (unconfined, the created files the overlays would hide are moved aside the same way)."""
    if unconfined:
        originals = {**originals, **{p: None for p in overlays}}
        overlays.clear()
    saved = {path: ws.read_bytes(path) if ws.exists(path) else None for path in originals}
    observer, ws.observer = ws.observer, None  # coder's own check, not the agent's edit
    generation = ws.generation
    try:
        ws.apply_changes([Change(path, data) for path, data in originals.items()])
        yield
    finally:
        ws.apply_changes([Change(path, data) for path, data in saved.items()])
        ws.observer = observer
        ws.generation = generation
