"""Scenario: the diff review screen for a two-file, three-hunk diff; hunk 1 already approved."""

from __future__ import annotations

from pathlib import Path

from coder.config import Settings
from coder.diff import parse_patch
from coder.tui import make_app
from coder.tui.app import CoderApp
from coder.tui.screens.review import ReviewScreen

DATA = Path(__file__).parent.parent / "data"
DIFF = (DATA / "fix_both.diff").read_text() + (DATA / "break_report.diff").read_text()

app = make_app(Settings(repo=Path("/home/user/stats"), model="scripted-model", approval="suggest"))


async def open_review(app: CoderApp) -> None:
    """Push the review as the approver would."""
    app.push_screen(ReviewScreen(parse_patch(DIFF)))


if __name__ == "__main__":
    app.run()
