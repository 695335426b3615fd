"""The run report: one object for every face — what changed, the proof, the cost.

Built by the session at the end of a run from the undo ledger (the agent's own changes, file
by file), the check runs (baseline, final, and with the original tests), the meter and the
sandbox. Headless prints `one_line()` on stderr, writes `to_markdown()` with `--report` (and
to `$GITHUB_STEP_SUMMARY`), and emits `to_dict()` as the final `report` event; the TUI shows
the same report as its end-of-run panel.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from coder.diff import unified_diff
from coder.instructions import is_instructions_path
from coder.proof import Proof, compare, is_test_path
from coder.results import CheckRun


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


_STRING, _INTEGER, _BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_NAMES = {"type": "array", "items": _STRING}
REPORT_SCHEMA: dict[str, Any] = _object(
    outcome={"enum": ["passed", "failed", "budget_exhausted", "interrupted", "error"]},
    exit_code=_INTEGER,
    summary=_STRING,
    turns=_INTEGER,
    model=_STRING,
    profile=_STRING,
    seconds={"type": "number"},
    time_budget_s={"anyOf": [{"type": "number"}, {"type": "null"}]},
    models={"type": "object", "additionalProperties": _INTEGER},
    files={
        "type": "array",
        "items": _object(
            path=_STRING, added=_INTEGER, removed=_INTEGER, test=_BOOLEAN, secret=_BOOLEAN
        ),
    },
    tests_edited=_NAMES,
    instructions_edited=_NAMES,
    executables=_NAMES,
    executables_complete=_BOOLEAN,
    diff=_STRING,
    checks={
        "type": "array",
        "items": _object(command=_STRING, before=_STRING, after=_STRING, passed=_BOOLEAN),
    },
    proof=_object(
        red_to_green=_NAMES,
        still_failing=_NAMES,
        regressions=_NAMES,
        new_passing=_NAMES,
        new_failing=_NAMES,
        per_test=_BOOLEAN,
    ),
    original_tests={
        "anyOf": [
            {"type": "null"},
            {
                "type": "array",
                "items": _object(
                    command=_STRING,
                    passed=_BOOLEAN,
                    failing={"anyOf": [_INTEGER, {"type": "null"}]},
                ),
            },
        ]
    },
    tokens=_object(prompt=_INTEGER, cached=_INTEGER, completion=_INTEGER, reasoning=_INTEGER),
    cost_usd={"anyOf": [{"type": "number"}, {"type": "null"}]},
    sandbox={"type": "object"},
)
"""The JSON Schema of `RunReport.to_dict()` (the `report` event's `report`)."""


@dataclass(frozen=True)
class FileChange:
    """One file the agent changed."""

    path: str
    added: int
    removed: int
    test: bool
    """A test file (listed apart: a reviewer checks these first)."""
    secret: bool = False
    """A secret file: listed, its content never shown."""


@dataclass
class RunReport:
    """Everything a reviewer needs to trust (or not) what the run did."""

    outcome: str
    exit_code: int
    summary: str
    turns: int
    model: str
    profile: str
    seconds: float
    time_budget_s: float | None = None
    """The run's wall-clock budget (`--time-budget`), None when it had none."""
    models: dict[str, int] = field(default_factory=dict)
    """Model → turns it answered (more than one when routing switched models)."""
    files: list[FileChange] = field(default_factory=list)
    executables: list[str] = field(default_factory=list)
    """Executable files made or changed since the run began, anywhere in the tree
    (`.venv` and `node_modules` included), by the agent's commands or anyone else."""
    executables_complete: bool = True
    """False when the tree was too large to look through whole."""
    diff: str = ""
    checks: list[dict[str, Any]] = field(default_factory=list)
    proof: Proof = field(default_factory=Proof)
    original_tests: list[dict[str, Any]] | None = None
    """The checks with the agent's test edits taken out (None: it edited no test)."""
    tokens: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    sandbox: dict[str, Any] = field(default_factory=dict)

    @property
    def tests_edited(self) -> list[str]:
        """Test files the agent changed."""
        return [f.path for f in self.files if f.test]

    @property
    def instructions_edited(self) -> list[str]:
        """Instruction files (AGENTS.md, CLAUDE.md, CONVENTIONS.md) the agent changed: the
        next session reads them into its prompt."""
        return [f.path for f in self.files if is_instructions_path(f.path)]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the `report` event)."""
        return {
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "summary": self.summary,
            "turns": self.turns,
            "model": self.model,
            "profile": self.profile,
            "seconds": round(self.seconds, 1),
            "time_budget_s": self.time_budget_s,
            "models": self.models,
            "files": [vars(f) for f in self.files],
            "tests_edited": self.tests_edited,
            "instructions_edited": self.instructions_edited,
            "executables": self.executables,
            "executables_complete": self.executables_complete,
            "diff": self.diff,
            "checks": self.checks,
            "proof": self.proof.to_dict(),
            "original_tests": self.original_tests,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "sandbox": self.sandbox,
        }

    def one_line(self) -> str:
        """The short summary for a terminal."""
        added = sum(f.added for f in self.files)
        removed = sum(f.removed for f in self.files)
        parts = [
            f"report: {self.outcome}",
            f"{len(self.files)} file(s) changed (+{added} −{removed})",
        ]
        if self.proof.per_test:
            proof = self.proof
            counts = (
                f"red→green {len(proof.red_to_green)}, regressions {len(proof.regressions)}, "
                f"still failing {len(proof.still_failing)}"
            )
            if proof.new_passing or proof.new_failing:  # e.g. the start could not collect them
                counts += (
                    f", not run at the start: {len(proof.new_passing)} pass, "
                    f"{len(proof.new_failing)} fail"
                )
            parts.append(counts)
        if self.instructions_edited:
            parts.append(f"instructions edited: {', '.join(self.instructions_edited)}")
        if self.executables:
            parts.append(f"executables made or changed: {', '.join(self.executables[:5])}")
            if len(self.executables) > 5:
                parts[-1] += f" and {len(self.executables) - 5} more"
        if self.tests_edited:
            verdict = _verdict(self.original_tests)
            parts.append(f"tests edited: {', '.join(self.tests_edited)} ({verdict})")
        tokens = self.tokens.get("prompt", 0) + self.tokens.get("completion", 0)
        cost = f"${self.cost_usd:.4f}" if self.cost_usd is not None else "cost unknown"
        parts += [f"{self.turns} turn(s)", f"{tokens:,} tokens", cost, _time(self.to_dict())]
        return " · ".join(parts)

    def to_markdown(self) -> str:
        """The report for a pull-request comment or a CI job summary."""
        mark = "✅" if self.outcome == "passed" else "❌"
        lines = [f"## {mark} coder: {self.outcome}", "", f"> {_escaped(self.summary)}", ""]
        cost = f"${self.cost_usd:.4f}" if self.cost_usd is not None else "unknown"
        sandbox = self.sandbox
        rows = [
            ("outcome", f"{self.outcome} (exit {self.exit_code})"),
            ("model", f"{_escaped(self.model)} (profile {self.profile})"),
            *(
                [
                    (
                        "turns by model",
                        ", ".join(f"{_escaped(m)} {n}" for m, n in self.models.items()),
                    )
                ]
                if len(self.models) > 1
                else []
            ),
            ("turns", str(self.turns)),
            (
                "tokens",
                f"prompt {self.tokens.get('prompt', 0):,} (cached {self.tokens.get('cached', 0):,})"
                f" · completion {self.tokens.get('completion', 0):,}"
                f" · reasoning {self.tokens.get('reasoning', 0):,}",
            ),
            ("cost", cost),
            ("time", _time(self.to_dict())),
            ("sandbox", f"{sandbox.get('mode')} ({sandbox.get('backend')})"),
        ]
        lines += ["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows), ""]
        lines += ["### Checks", ""]
        for check in self.checks:
            lines.append(
                f"- {_code(check['command'])}: before {check['before']}, after {check['after']}"
            )
        if not self.checks:
            lines.append("- none configured: nothing proves the change")
        lines += ["", "### Tests", ""]
        if self.proof.per_test:
            for title, names in (
                ("red → green", self.proof.red_to_green),
                ("regressions (passed before, fail now)", self.proof.regressions),
                ("still failing", self.proof.still_failing),
                ("new, passing", self.proof.new_passing),
                ("new, failing", self.proof.new_failing),
            ):
                lines.append(f"- {title}: {', '.join(_code(n) for n in names) or 'none'}")
        else:
            lines.append("- per-test results not available for these checks (exit codes only)")
        if self.tests_edited:
            lines += ["", "### ⚠ Test files the agent edited", ""]
            lines += [f"- {_code(path)}" for path in self.tests_edited]
            lines.append(f"- with the test files as they were: {_verdict(self.original_tests)}")
        if self.instructions_edited:
            lines += ["", "### ⚠ Instruction files the agent edited", ""]
            lines += [
                f"- {_code(path)} (the next session reads it into the prompt)"
                for path in self.instructions_edited
            ]
        if self.executables or not self.executables_complete:
            lines += ["", "### ⚠ Executable files made or changed during the run", ""]
            lines += [f"- {_code(path)}" for path in self.executables]
            if not self.executables_complete:
                lines.append("- (the tree was too large to look through whole)")
        lines += ["", "### Files changed", "", "| file | + | − |", "| --- | --- | --- |"]
        for change in self.files:
            note = " (test)" if change.test else " (secret: not shown)" if change.secret else ""
            path = _code(change.path).replace("|", "\\|")
            lines.append(f"| {path}{note} | {change.added} | {change.removed} |")
        if self.diff:
            fence = "`" * max(3, _longest_run(self.diff, "`") + 1)  # the diff cannot close it
            lines += ["", "<details><summary>diff</summary>", "", f"{fence}diff"]
            lines += [self.diff.rstrip(), fence, "", "</details>"]
        return "\n".join(lines) + "\n"


def report_text(data: dict[str, Any]) -> str:
    """The report's JSON form (the `report` event) as a few plain lines: the TUI's
    end-of-run panel. The diff is left out; it is one key away."""
    lines = [f"{data['outcome']} (exit {data['exit_code']}) — {_quote(data['summary'])}"]
    for check in data["checks"]:
        before, after = check["before"], check["after"]
        lines.append(f"check `{check['command']}`: before {before}, after {after}")
    if not data["checks"]:
        lines.append("no checks configured: nothing proves the change")
    proof = data["proof"]
    if proof["per_test"]:
        counts = []
        for title, key in (
            ("red → green", "red_to_green"),
            ("regressions", "regressions"),
            ("still failing", "still_failing"),
        ):
            names = proof[key]
            counts.append(f"{title} {len(names)}" + (f": {', '.join(names[:5])}" if names else ""))
        lines.append(" · ".join(counts))
    if data["tests_edited"]:
        lines.append(
            f"⚠ test files edited: {', '.join(data['tests_edited'])} — with the originals: "
            f"{_verdict(data['original_tests'])}"
        )
    files = [
        f"{f['path']}{' (test)' if f['test'] else ''} +{f['added']} −{f['removed']}"
        for f in data["files"]
    ]
    lines.append(f"files: {', '.join(files) if files else 'none changed'}")
    if data.get("instructions_edited"):
        lines.append(f"⚠ instruction files edited: {', '.join(data['instructions_edited'])}")
    if data.get("executables"):
        lines.append(f"⚠ executables made or changed: {', '.join(data['executables'])}")
    tokens, cost = data["tokens"], data["cost_usd"]
    lines.append(
        f"{data['model']} (profile {data['profile']}) · {data['turns']} turn(s) · prompt "
        f"{tokens.get('prompt', 0):,} (cached {tokens.get('cached', 0):,}) · completion "
        f"{tokens.get('completion', 0):,} · reasoning {tokens.get('reasoning', 0):,} · "
        f"{f'${cost:.4f}' if cost is not None else 'cost unknown'} · {_time(data)} · "
        f"sandbox {data['sandbox'].get('mode')}"
    )
    return "\n".join(lines)


def _time(data: dict[str, Any]) -> str:
    budget = data.get("time_budget_s")
    spent = f"{data['seconds']:.0f} s"
    return spent if budget is None else f"{spent} of a {budget:.0f} s budget"


def _quote(text: str) -> str:
    return " ".join(text.split()) or "(no summary)"


def _escaped(text: str) -> str:
    """Model or repository text as inert Markdown: no HTML, no mention, no link, no table
    cell break."""
    text = html.escape(_quote(text), quote=False).replace("@", "@\u200b")
    return re.sub(r"([\\`*_\[\]|#])", r"\\\1", text)


def _code(text: str) -> str:
    """`text` as a Markdown code span that its own backticks cannot end."""
    text = " ".join(text.split())
    ticks = "`" * (_longest_run(text, "`") + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


def _verdict(runs: list[dict[str, Any]] | None) -> str:
    if runs is None:
        return "not run"
    return "the checks pass" if all(r["passed"] for r in runs) else "the checks FAIL"


def _run_state(run: CheckRun | None) -> str:
    if run is None:
        return "not run"
    if run.passed:
        return "passed"
    failing = f", {run.failing} failing" if run.failing else ""
    return f"failed (exit {run.exit_code}{failing})"


def file_changes(
    changed: dict[str, tuple[bytes | int | None, bytes | int | None]], secret: set[str]
) -> tuple[list[FileChange], str]:
    """Diffstat rows and the unified diff of the agent's changes (secret files not shown).

    A side given as an int is a file too large to read (its size in bytes); it and binary
    files are named in the diff with their sizes, never shown."""
    rows, parts = [], []
    for path in sorted(changed):
        before, after = changed[path]
        if path in secret:
            rows.append(FileChange(path, 0, 0, is_test_path(path), secret=True))
            continue
        if _unshown(before) or _unshown(after):
            rows.append(FileChange(path, 0, 0, is_test_path(path)))
            parts.append(
                f"Binary or large file {path}: {_size(before)} → {_size(after)}, not shown\n"
            )
            continue
        old = before.decode("utf-8", "replace") if isinstance(before, bytes) else None
        new = after.decode("utf-8", "replace") if isinstance(after, bytes) else None
        text = unified_diff(path, old, new)
        added = sum(
            1 for line in text.splitlines() if line.startswith("+") and not line.startswith("+++")
        )
        removed = sum(
            1 for line in text.splitlines() if line.startswith("-") and not line.startswith("---")
        )
        rows.append(FileChange(path, added, removed, is_test_path(path)))
        parts.append(text)
    return rows, "".join(parts)


def _unshown(side: bytes | int | None) -> bool:
    return isinstance(side, int) or (side is not None and b"\0" in side[:8000])


def _size(side: bytes | int | None) -> str:
    if side is None:
        return "absent"
    return f"{side if isinstance(side, int) else len(side):,} bytes"


def check_rows(
    commands: list[str], baseline: list[CheckRun] | None, final: list[CheckRun] | None
) -> tuple[list[dict[str, Any]], Proof]:
    """Per check command: its state before and after; and the proof over all of them."""
    before = {run.command: run for run in baseline or []}
    after = {run.command: run for run in final or []}
    rows = [
        {
            "command": command,
            "before": _run_state(before.get(command)),
            "after": _run_state(after.get(command)),
            "passed": bool(after.get(command) and after[command].passed),
        }
        for command in commands
    ]
    old: dict[str, str] | None = {}
    new: dict[str, str] | None = {}
    for command in commands:
        b, a = before.get(command), after.get(command)
        if b is None or a is None or b.tests is None or a.tests is None:
            old = new = None
            break
        assert old is not None and new is not None
        old.update({f"{command}::{k}" if len(commands) > 1 else k: v for k, v in b.tests.items()})
        new.update({f"{command}::{k}" if len(commands) > 1 else k: v for k, v in a.tests.items()})
    return rows, compare(old, new)
