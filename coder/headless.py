"""`coder run` and `coder undo`: the agent without a TUI, for terminals and CI.

Events go to stdout as JSON Lines with `--json`; readable progress always goes to stderr.
The approval mode is answered here: full-auto approves everything, auto-edit approves
diffs and allow-listed commands, suggest asks on the terminal (declines without one).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TextIO

from coder import config, session_log, trust, undo
from coder.approval import CommandDecision, DiffDecision
from coder.diff import Patch
from coder.errors import UsageError
from coder.events import (
    AssistantDelta,
    AssistantMessage,
    CheckResult,
    Compacted,
    Event,
    Finished,
    Notice,
    Report,
    SessionStarted,
    ToolCalled,
    ToolResult,
    Usage,
)
from coder.policy import needs_asking
from coder.protocols import FanOutSink
from coder.task_input import read_task
from coder.textsafe import json_line, printable
from coder.workspace import Workspace


class JsonLinesSink:
    """Writes every event except streamed deltas as one JSON line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def emit(self, event: Event) -> None:
        """Write one line and flush, so CI logs stay live."""
        if isinstance(event, AssistantDelta):
            return
        self.stream.write(json_line(event.to_json()) + "\n")
        self.stream.flush()


class ProgressSink:
    """Readable progress for a person watching a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._streaming = False

    def emit(self, event: Event) -> None:
        """Print a short line (or streamed text) for the event."""
        line = self._format(event)
        if line is None:
            return
        line = printable(line)
        if isinstance(event, AssistantDelta):
            self.stream.write(line)
            self._streaming = True
        else:
            if self._streaming:
                self.stream.write("\n")
                self._streaming = False
            self.stream.write(line + "\n")
        self.stream.flush()

    def _format(self, event: Event) -> str | None:
        if isinstance(event, SessionStarted):
            checks = ", ".join(event.checks) or "none"
            sandbox = event.sandbox or {}
            if sandbox.get("mode") == "off":
                confined = "off (commands run unconfined)"
            else:
                network = "network allowed" if sandbox.get("network") else "no network"
                backend = " ".join(filter(None, (sandbox.get("backend"), sandbox.get("program"))))
                confined = f"{sandbox.get('mode')} ({backend}, {network})"
            return (
                f"coder: {event.model} ({event.provider}) in {event.repo}\n"
                f"profile: {event.profile} ({event.profile_reason})\n"
                f"checks: {checks} [{event.checks_source}]\nsandbox: {confined}\n"
                f"checkpoint: {event.checkpoint}"
            )
        if isinstance(event, AssistantDelta):
            return event.text
        if isinstance(event, ToolCalled):
            args = ", ".join(f"{k}={short(v)}" for k, v in event.arguments.items())
            return f"→ {event.name}({args})"
        if isinstance(event, ToolResult):
            first = event.output.strip().splitlines()[0] if event.output.strip() else ""
            return f"  {'ok' if event.ok else 'error'}: {short(first, 100)}"
        if isinstance(event, CheckResult):
            verdict = "pass" if event.passed else f"FAIL (exit {event.exit_code})"
            what = "candidate check" if event.phase == "candidate" else "check"
            return f"  {what} {verdict}: {event.command} [{event.seconds:.1f} s]"
        if isinstance(event, Usage):
            cost = f", ${event.cost_usd:.4f}" if event.cost_usd is not None else ""
            return (
                f"  turn {event.turn}: {event.prompt_tokens} prompt "
                f"({event.cached_tokens} cached), {event.completion_tokens} completion{cost}"
            )
        if isinstance(event, Report):
            return event.line
        if isinstance(event, Compacted):
            return (
                f"  compacted: {event.dropped_items} old item(s), {event.removed_characters} "
                f"characters, to fit a context of {event.context_window} tokens"
            )
        if isinstance(event, Notice):
            return f"{event.level}: {event.message}"
        if isinstance(event, Finished):
            return f"finished: {event.outcome} after {event.turns} turn(s): {event.summary}"
        if isinstance(event, AssistantMessage):
            return None
        return None


def short(value: object, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = text.replace("\n", "⏎")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class HeadlessApprover:
    """Answers approval requests according to the approval mode, without a TUI."""

    def __init__(self, mode: str, allowed: tuple[str, ...], ask: TextIO | None) -> None:
        self.mode, self.allowed, self.ask = mode, allowed, ask

    def review_diff(self, patch: Patch) -> DiffDecision:
        """full-auto and auto-edit apply; suggest asks on the terminal."""
        if self.mode != "suggest":
            return DiffDecision(approved_hunks=None)
        if self._yes(f"{printable(patch.text)}\nApply this diff? [y/N] "):
            return DiffDecision(approved_hunks=None)
        return DiffDecision(approved_hunks=frozenset(), comment="declined by the user")

    def confirm_command(self, command: str) -> CommandDecision:
        """full-auto runs; otherwise allow-listed commands run and the rest ask."""
        if not needs_asking(self.mode, command, self.allowed):
            return CommandDecision(approved=True)
        if self._yes(f"Run `{printable(command)}`? [y/N] "):
            return CommandDecision(approved=True)
        return CommandDecision(approved=False, comment="not approved (no terminal to ask)")

    def _yes(self, question: str) -> bool:
        if self.ask is None:
            return False
        sys.stderr.write(question)
        sys.stderr.flush()
        return self.ask.readline().strip().lower() in {"y", "yes"}


def _log_to_stderr(name: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def run_command(args: argparse.Namespace) -> int:
    """`coder run TASK`: returns 0 checks pass, 1 not done, 2 usage, 3 provider."""
    task = read_task(args.task)
    check_report_path(getattr(args, "report", None))
    return run_session(args, config.load(config.flags_from(args)), task)


def run_session(
    args: argparse.Namespace,
    settings: config.Settings,
    task: str,
    recorded: session_log.Recorded | None = None,
) -> int:
    """Run `task` headless (carrying on `recorded` when given); the exit code."""
    from coder.session import build_session

    sinks = [ProgressSink(sys.stderr)]
    if settings.json:
        sinks.insert(0, JsonLinesSink(sys.stdout))  # type: ignore[arg-type]
    else:
        _log_to_stderr("coder.local")  # the embedded model's "prefilled N, reused M" per turn
    ask = sys.stdin if sys.stdin is not None and sys.stdin.isatty() else None
    if args.task == "-":
        ask = None  # the task came through standard input: no one is there to answer
    allowed = (*settings.allowed_commands, *trust.remembered_commands(settings.repo))
    approver = HeadlessApprover(settings.approval or "full-auto", allowed, ask)
    session = build_session(settings, FanOutSink(*sinks), approver)
    if recorded is not None:
        session.resume(recorded)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        sys.stderr.write("\ncoder: stopping (Ctrl-C again to quit at once)\n")
        session.interrupt()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        outcome = session.run(task)
    finally:
        signal.signal(signal.SIGINT, previous)
    if session.report is not None:
        markdown = session.clean(session.report.to_markdown())  # secrets out, as everywhere
        write_report(markdown, getattr(args, "report", None))
    if outcome.status == "error":
        print(f"coder: error: {printable(outcome.summary)}", file=sys.stderr)
    return outcome.exit_code


def check_report_path(path: str | None) -> None:
    """Refuse a `--report` file that cannot be written before the run, not after it."""
    if not path:
        return
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"--report {path}: is a directory")
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--report {path}: cannot write in {folder}")


def write_report(markdown: str, path: str | None) -> None:
    """The Markdown report to `--report FILE` (whole or not at all), and appended to
    `$GITHUB_STEP_SUMMARY`."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    target = Path(path) if path else None
    try:
        if target is not None:
            staged = target.with_name(f".{target.name}.coder-tmp")
            staged.write_text(markdown, encoding="utf-8")
            os.replace(staged, target)
        if summary:
            target = Path(summary)
            with target.open("a", encoding="utf-8") as handle:
                handle.write(markdown)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {target}: {exc.strerror}") from None


def undo_command(args: argparse.Namespace) -> int:
    """`coder undo [--redo]`: take back the last run's changes (or bring them back)."""
    root = Path(args.repo) if args.repo else Path(".")
    if not root.is_dir():
        raise UsageError(f"repository directory not found: {root}")
    ws = Workspace(root)
    if getattr(args, "redo", False):
        print(printable(undo.redo(ws).summary("redone")))
    else:
        print(printable(undo.undo(ws).summary()))
        print("(coder redo brings it back)")
    return 0


def redo_command(args: argparse.Namespace) -> int:
    """`coder redo`: bring back what the last `coder undo` took back."""
    args.redo = True
    return undo_command(args)


def trust_command(args: argparse.Namespace) -> int:
    """`coder trust`: trust the repository's `.coder.toml` as it is now."""
    root = Path(args.repo) if args.repo else Path(".")
    if not root.is_dir():
        raise UsageError(f"repository directory not found: {root}")
    digest, values = config.project_config(root)
    if digest is None:
        print(f"{root.resolve()} has no {trust.CONFIG_NAME}: nothing to trust")
        return 0
    trust.trust(root, digest)
    print(f"trusted {root.resolve() / trust.CONFIG_NAME} (sha256 {digest[:12]}…), which sets:")
    for key, value in values:
        print(f"  {printable(key)} = {printable(value)}")
    print("if it changes, it is untrusted again")
    return 0
