"""`coder resume`, `coder sessions` and `coder replay`: recorded sessions, carried on
headless, listed, and shown again."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from coder import config, session_log
from coder.errors import UsageError
from coder.headless import check_report_path, run_session, short
from coder.task_input import read_task
from coder.textsafe import json_line, printable


def resume_command(args: argparse.Namespace) -> int:
    """`coder resume [ID] [--task TASK]`: carry on a session (the latest without ID) headless,
    with its conversation and its checkpoint for undo; exit codes as `coder run`."""
    flags = config.flags_from(args)
    settings = config.load(flags)
    ident = getattr(args, "id", None)
    if ident and getattr(args, "latest", False):
        raise UsageError("give a session ID or --continue (the latest), not both")
    recorded = session_log.find(settings.repo, ident)
    settings = resumed_settings(settings, flags, recorded)
    task = read_task(args.task) if getattr(args, "task", None) else RESUME_TASK
    check_report_path(getattr(args, "report", None))
    return run_session(args, settings, task, recorded)


RESUME_TASK = "Carry on with the task where you stopped."


def resumed_settings(
    settings: config.Settings, flags: dict[str, object], recorded: session_log.Recorded
) -> config.Settings:
    """The recorded session's model, checks and profile choices, where no flag overrides
    them (endpoints, keys, approval and sandbox always come from the user's own config)."""
    from coder.session import RESUMED_SETTINGS

    kept = dict(recorded.start.get("settings") or {})
    changes: dict[str, object] = {}
    if "model" not in flags and recorded.start.get("model"):
        changes["model"] = str(recorded.start["model"])
    for name in RESUMED_SETTINGS:
        if name not in flags and kept.get(name) is not None:
            changes[name] = kept[name]
    if "checks" not in flags and kept.get("checks"):
        changes["checks"] = tuple(str(c) for c in kept["checks"])  # type: ignore[union-attr]
        changes["checks_source"] = "session"
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def sessions_command(args: argparse.Namespace) -> int:
    """`coder sessions`: the repository's sessions, oldest first."""
    root = _root(args)
    found = session_log.all_sessions(root)
    if not found:
        print("no sessions in this repository yet")
    for recorded in found:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(recorded.start.get("created", 0)))
        cost = recorded.cost_usd
        price = f"${cost:.4f}" if cost is not None else "cost unknown"
        first = recorded.task.strip().splitlines()[0] if recorded.task.strip() else ""
        damaged = " (record cut short)" if recorded.damaged else ""
        print(
            printable(
                f"{recorded.ident}  {when}  {recorded.outcome:<16} {price:>12}  "
                f"{short(first, 60)}{damaged}"
            )
        )
    return 0


def replay_command(args: argparse.Namespace) -> int:
    """`coder replay ID [--json]`: a session's events again, as JSON Lines or as progress."""
    recorded = session_log.find(_root(args), args.id)
    for data in recorded.events:
        if getattr(args, "json", False):
            print(json_line(json.dumps(data, ensure_ascii=False)))
        else:
            line = _replayed(data)
            if line:
                print(printable(line))
    return 0


def _replayed(data: dict[str, object]) -> str | None:
    """A recorded event as one readable line (None: not worth a line)."""
    kind = data.get("type")
    if kind == "assistant_message":
        return str(data.get("text", "")).strip() or None
    if kind == "tool_called":
        return f"→ {data.get('name')}({short(json.dumps(data.get('arguments')), 80)})"
    if kind == "tool_result":
        output = str(data.get("output", "")).strip()
        first = output.splitlines()[0] if output else ""
        return f"  {'ok' if data.get('ok') else 'error'}: {short(first, 100)}"
    if kind == "check_result":
        return f"  check {'pass' if data.get('passed') else 'FAIL'}: {data.get('command')}"
    if kind in ("notice", "finished", "session_started"):
        detail = data.get("message") or data.get("summary") or data.get("task")
        return f"{kind}: {short(str(detail), 100)}"
    return None


def _root(args: argparse.Namespace) -> Path:
    root = Path(getattr(args, "repo", None) or ".")
    if not root.is_dir():
        raise UsageError(f"repository directory not found: {root}")
    return root
