"""The Textual face of coder: `make_app(settings)` for the CLI and tests, `main(args)` for `coder`.

Textual is imported only when the app is made, so `coder --help` and `coder run` never pay for it.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

from coder.config import Settings

if TYPE_CHECKING:
    from coder.tui.app import CoderApp


def make_app(settings: Settings, task: str | None = None) -> CoderApp:
    """The app for `settings` (started on `task` when given); the session is built on first
    use, not at start."""
    from coder.tui.app import CoderApp

    return CoderApp(settings, task=task)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from `coder`'s flags; without --approval the TUI starts in `suggest`."""
    from coder.config import flags_from, load
    from coder.errors import UsageError
    from coder.workspace import Workspace

    settings = load(flags_from(args))
    if settings.approval is None:
        # Neither flag nor config chose: a human is watching, so ask first.
        settings = replace(settings, approval="suggest")
    if not Workspace(settings.repo).is_git():
        raise UsageError(f"not a git repository: {settings.repo} (coder needs git to undo)")
    return settings


def main(args: argparse.Namespace) -> int:
    """`coder [TASK]`: open the TUI (started on TASK when given); returns the exit code."""
    from coder.errors import UsageError
    from coder.task_input import read_task

    task = getattr(args, "task", None)
    if task == "-":
        raise UsageError("the TUI reads its keys from standard input: use `coder run -` there")
    first = read_task(task) if task is not None else None
    app = make_app(settings_from_args(args), first)
    return app.run() or 0
