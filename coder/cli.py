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
from typing import NoReturn

from coder import __version__
from coder.errors import EXIT_FAILED, EXIT_USAGE, CoderError

HANDLERS: dict[str, str] = {
    "tui": "coder.tui:main",
    "run": "coder.headless:run_command",
    "apply": "coder.diff.command:apply_command",
    "map": "coder.repomap.command:map_command",
    "undo": "coder.headless:undo_command",
    "redo": "coder.headless:redo_command",
    "trust": "coder.headless:trust_command",
    "model install": "coder.providers.weights:install_command",
    "model status": "coder.providers.weights:status_command",
}
"""Subcommand → "module:function" taking the parsed namespace and returning an exit code."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _agent_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", help="repository root (default: current directory)")
    parser.add_argument(
        "--check",
        dest="checks",
        action="append",
        metavar="CMD",
        help="check command that must pass (repeatable; default: detected)",
    )
    parser.add_argument("--model", help="model name (default: the embedded local model)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://host/v1")
    parser.add_argument(
        "--api-key", help="API key (prefer OPENAI_API_KEY: flags are visible to other users)"
    )
    parser.add_argument("--api", choices=["chat", "responses", "local"], help="wire format")
    parser.add_argument("--reasoning-effort", choices=["low", "medium", "high"])
    parser.add_argument("--max-turns", type=int, metavar="N", help="model turn budget")
    parser.add_argument(
        "--approval",
        choices=["suggest", "auto-edit", "full-auto"],
        help="what asks before running (headless default: full-auto)",
    )
    parser.add_argument(
        "--profile",
        choices=["auto", "default", "small"],
        help="model-size profile (default: auto, decided from the model)",
    )
    parser.add_argument(
        "--sandbox",
        choices=["workspace-write", "read-only", "off"],
        help="what confines the model's commands (default: workspace-write)",
    )
    parser.add_argument(
        "--sandbox-network",
        action="store_true",
        default=None,
        help="let sandboxed commands reach the network",
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        default=None,
        help="trust the repository's .coder.toml for this run",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole `coder` command line."""
    parser = _Parser(
        prog="coder",
        description="A terminal coding assistant. Without a subcommand, opens the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"coder {__version__}")
    _agent_options(parser)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run the agent headless on TASK (for CI)")
    run.add_argument("task", metavar="TASK", help="what to do (text, or @FILE to read it)")
    _agent_options(run)
    run.add_argument("--json", action="store_true", help="JSON Lines events on stdout")
    run.add_argument(
        "--report", metavar="FILE.md", help="write the run report as Markdown (for a PR or CI)"
    )
    run.add_argument(
        "--protect-tests",
        action="store_true",
        default=None,
        help="refuse edits to test files; finish only if the original tests pass",
    )

    apply = sub.add_parser("apply", help="apply a unified diff like `git apply`, tolerantly")
    apply.add_argument("patch", metavar="PATCH", help="diff file, or - for standard input")
    apply.add_argument("--check", action="store_true", help="report without writing")
    apply.add_argument("--repo", help="repository root (default: current directory)")

    repo_map = sub.add_parser("map", help="print the ranked repository map")
    repo_map.add_argument("--repo", help="repository root (default: current directory)")
    repo_map.add_argument("--tokens", type=int, default=1024, metavar="N", help="token budget")
    repo_map.add_argument(
        "--focus", action="append", default=[], metavar="PATH_OR_SYMBOL", help="rank around it"
    )
    repo_map.add_argument("--stats", action="store_true", help="add files, tags and timings")

    undo = sub.add_parser("undo", help="take back the last run's changes (yours are kept)")
    undo.add_argument("--repo", help="repository root (default: current directory)")
    undo.add_argument("--redo", action="store_true", help="bring back what undo took back")

    redo = sub.add_parser("redo", help="bring back what the last undo took back")
    redo.add_argument("--repo", help="repository root (default: current directory)")

    trusted = sub.add_parser("trust", help="trust the repository's .coder.toml as it is now")
    trusted.add_argument("--repo", help="repository root (default: current directory)")

    model = sub.add_parser("model", help="manage the embedded local model")
    model_sub = model.add_subparsers(dest="model_command", required=True, parser_class=_Parser)
    model_sub.add_parser("install", help="download, join and verify the weights")
    model_sub.add_parser("status", help="show what is installed")
    return parser


def _handler(name: str) -> Callable[[argparse.Namespace], int]:
    module_name, _, function = HANDLERS[name].partition(":")
    return getattr(importlib.import_module(module_name), function)  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `coder`; returns the process exit code."""
    args = build_parser().parse_args(argv)
    command = args.command or "tui"
    if command == "model":
        command = f"model {args.model_command}"
    try:
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
