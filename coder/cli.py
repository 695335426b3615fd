"""Command-line entry point: argument parsing and the one place errors become exit codes.

Each subcommand's handler is imported lazily, so `coder --help` stays fast and never
imports openai, textual, tree_sitter or llama_cpp.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from coder import __version__
from coder.errors import EXIT_FAILED, EXIT_USAGE, CoderError, UsageError
from coder.roots import locate

HANDLERS: dict[str, str] = {
    "tui": "coder.tui:main",
    "run": "coder.headless:run_command",
    "apply": "coder.diff.command:apply_command",
    "map": "coder.repomap.command:map_command",
    "resume": "coder.session_commands:resume_command",
    "sessions": "coder.session_commands:sessions_command",
    "replay": "coder.session_commands:replay_command",
    "undo": "coder.headless:undo_command",
    "redo": "coder.headless:redo_command",
    "trust": "coder.headless:trust_command",
    "init": "coder.instructions:init_command",
    "model install": "coder.providers.weights:install_command",
    "model status": "coder.providers.weights:status_command",
}
"""Subcommand → "module:function" taking the parsed namespace and returning an exit code."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


AGENT_COMMANDS = ("tui", "run", "resume")
"""The commands the agent options apply to."""


def _agent_options(parser: argparse.ArgumentParser, inherit: bool = False) -> None:
    """The options of a run; `inherit`: on a subcommand, where an option the user gave
    before the subcommand must not be overwritten by the subcommand's default."""

    def add(*names: str, **kwargs: object) -> None:
        if inherit:
            kwargs["default"] = argparse.SUPPRESS
        parser.add_argument(*names, **kwargs)  # type: ignore[arg-type]

    add("--repo", help="the repository, or any directory inside it (default: here)")
    add(
        "--check",
        dest="checks",
        action="append",
        metavar="CMD",
        help="check command that must pass (repeatable; default: detected)",
    )
    add("--model", help="model name (default: the embedded local model)")
    add("--base-url", help="OpenAI-compatible endpoint, e.g. http://host/v1")
    add("--api-key", help="API key (prefer OPENAI_API_KEY: flags are visible to other users)")
    add("--api", choices=["chat", "responses", "local"], help="wire format")
    add("--reasoning-effort", choices=["low", "medium", "high"])
    add("--max-turns", type=int, metavar="N", help="model turn budget")
    add("--weak-model", metavar="NAME", help="a cheap model for first attempts (local: embedded)")
    add("--weak-base-url", metavar="URL", help="the weak model's endpoint (default: the same)")
    add(
        "--route",
        choices=["auto", "off"],
        help="auto: escalate effort, then weak → strong, while the checks fail",
    )
    add(
        "--service-tier",
        choices=["flex", "auto", "default"],
        help="OpenAI service tier (flex: cheaper, for runs that can wait)",
    )
    add("--max-cost", type=float, metavar="USD", help="stop before a model call would cross it")
    add("--max-tokens", type=int, metavar="N", help="stop before a model call would cross it")
    add(
        "--time-budget",
        dest="time_budget_s",
        type=float,
        metavar="SECONDS",
        help="wall-clock budget of the run (config time-budget-s)",
    )
    add(
        "--approval",
        choices=["suggest", "auto-edit", "full-auto"],
        help="what asks before running (headless default: full-auto)",
    )
    add(
        "--profile",
        choices=["auto", "default", "small"],
        help="model-size profile (default: auto, decided from the model)",
    )
    add(
        "--sandbox",
        choices=["workspace-write", "read-only", "off"],
        help="what confines the model's commands (default: workspace-write)",
    )
    add(
        "--sandbox-network",
        action="store_true",
        default=None,
        help="let sandboxed commands reach the network",
    )
    add(
        "--read-secrets",
        action="store_true",
        default=None,
        help="let sandboxed commands read secret files (.env, keys; masked by default)",
    )
    add(
        "--trust",
        action="store_true",
        default=None,
        help="trust the repository's .coder.toml for this run",
    )
    add(
        "--protect-tests",
        action="store_true",
        default=None,
        help="refuse edits to test files; finish only if the original tests pass",
    )


def _repo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        default=argparse.SUPPRESS,
        help="the repository, or any directory inside it (default: here)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole `coder` command line (options go before or after the subcommand)."""
    parser = _Parser(
        prog="coder",
        description=(
            "A terminal coding assistant. `coder [TASK]` opens the TUI (and starts on TASK)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"coder {__version__}")
    _agent_options(parser)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run the agent headless on TASK (for CI)")
    run.add_argument(
        "task", metavar="TASK", help="what to do: text, @FILE to read it, - for standard input"
    )
    _agent_options(run, inherit=True)
    run.add_argument("--json", action="store_true", help="JSON Lines events on stdout")
    run.add_argument(
        "--report", metavar="FILE.md", help="write the run report as Markdown (for a PR or CI)"
    )

    resume = sub.add_parser(
        "resume", help="carry on a session headless (the latest without ID; see `coder sessions`)"
    )
    resume.add_argument("id", metavar="ID", nargs="?", help="the session (a unique prefix)")
    resume.add_argument(
        "--continue", dest="latest", action="store_true", help="the latest session (no ID)"
    )
    resume.add_argument(
        "--task", metavar="TASK", help="what to do next (default: carry on where it stopped)"
    )
    _agent_options(resume, inherit=True)
    resume.add_argument("--json", action="store_true", help="JSON Lines events on stdout")
    resume.add_argument("--report", metavar="FILE.md", help="write the run report as Markdown")

    sessions = sub.add_parser("sessions", help="list this repository's sessions")
    _repo_option(sessions)

    replay = sub.add_parser("replay", help="print a session's recorded events again")
    replay.add_argument("id", metavar="ID", help="the session (a unique prefix)")
    replay.add_argument("--json", action="store_true", help="as JSON Lines")
    _repo_option(replay)

    apply = sub.add_parser("apply", help="apply a unified diff like `git apply`, tolerantly")
    apply.add_argument("patch", metavar="PATCH", help="diff file, or - for standard input")
    apply.add_argument("--check", action="store_true", help="report without writing")
    _repo_option(apply)

    repo_map = sub.add_parser("map", help="print the ranked repository map")
    _repo_option(repo_map)
    repo_map.add_argument("--tokens", type=int, default=1024, metavar="N", help="token budget")
    repo_map.add_argument(
        "--focus", action="append", default=[], metavar="PATH_OR_SYMBOL", help="rank around it"
    )
    repo_map.add_argument("--stats", action="store_true", help="add files, tags and timings")

    undo = sub.add_parser("undo", help="take back the last run's changes (yours are kept)")
    _repo_option(undo)
    undo.add_argument("--redo", action="store_true", help="bring back what undo took back")

    redo = sub.add_parser("redo", help="bring back what the last undo took back")
    _repo_option(redo)

    trusted = sub.add_parser("trust", help="trust the repository's .coder.toml as it is now")
    _repo_option(trusted)

    init = sub.add_parser("init", help="write an AGENTS.md for this repository (never overwrites)")
    _repo_option(init)

    model = sub.add_parser("model", help="manage the embedded local model")
    model_sub = model.add_subparsers(dest="model_command", required=True, parser_class=_Parser)
    model_sub.add_parser("install", help="download, join and verify the weights")
    model_sub.add_parser("status", help="show what is installed")
    return parser


def _tui_parser() -> argparse.ArgumentParser:
    """`coder [options] TASK`: the TUI, started on TASK."""
    parser = _Parser(prog="coder", description="Open the TUI and start on TASK.")
    _agent_options(parser)
    parser.add_argument("task", metavar="TASK", help="what to do (text, or @FILE to read it)")
    return parser


def _first_positional(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The first word of `argv` that is not an option or an option's value."""
    takes_value = {
        name
        for action in parser._actions  # noqa: SLF001 - argparse has no public view of these
        if action.nargs != 0
        for name in action.option_strings
    }
    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, None)
        if word.startswith("-") and word != "-":
            if word in takes_value:
                next(words, None)
            continue
        return word
    return None


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse `argv`; a first word that is no subcommand is a task for the TUI."""
    parser = build_parser()
    subcommands = next(
        a
        for a in parser._actions
        if isinstance(a, argparse._SubParsersAction)  # noqa: SLF001
    ).choices
    first = _first_positional(parser, argv)
    if first is not None and first not in subcommands:
        args = _tui_parser().parse_args(argv)
        args.command = None
    else:
        args = parser.parse_args(argv)
        args.task = getattr(args, "task", None)
    command = args.command or "tui"
    if command not in AGENT_COMMANDS:
        given = [
            action.option_strings[0]
            for action in parser._actions  # noqa: SLF001
            if action.option_strings
            and action.dest not in ("help", "version", "repo", "command")
            and getattr(args, action.dest, None) is not None
        ]
        if given:
            parser.error(f"{', '.join(given)} does not apply to `coder {command}`")
    args.repo, args.subdir, args.is_git = _located(getattr(args, "repo", None))
    return args


def _located(repo: str | None) -> tuple[str, str | None, bool]:
    start = Path(repo or ".")
    if not start.is_dir():
        raise UsageError(f"repository directory not found: {start}")
    found = locate(start)
    return str(found.root), found.subdir, found.is_git


def _handler(name: str) -> Callable[[argparse.Namespace], int]:
    module_name, _, function = HANDLERS[name].partition(":")
    return getattr(importlib.import_module(module_name), function)  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `coder`; returns the process exit code."""
    try:
        args = parse(sys.argv[1:] if argv is None else argv)
        command = args.command or "tui"
        if command == "model":
            command = f"model {args.model_command}"
        code = _handler(command)(args)
        sys.stdout.flush()
        return code
    except CoderError as exc:
        return _error(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        print("coder: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`coder map | head`): nothing more to say, and no traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _error(f"{exc.strerror or exc}{where}", EXIT_FAILED)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a trace
        if os.environ.get("CODER_DEBUG"):
            raise
        name = type(exc).__name__
        return _error(f"internal error ({name}: {exc}); CODER_DEBUG=1 shows where", EXIT_FAILED)


def _error(message: str, code: int) -> int:
    from coder.textsafe import printable

    print(f"coder: error: {' '.join(printable(message).split())}", file=sys.stderr)
    return code
