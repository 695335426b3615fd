"""The end-of-run report panel in the TUI, and the run's whole diff one key (Ctrl+O) away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coder.tui import make_app
from coder.tui.screens.main import MainScreen
from coder.tui.screens.run_diff import RunDiffScreen
from tests.tui.conftest import settings_for, wait_for
from tests.tui.scripts import whole_fix
from tests.tui.test_review_flow import finish_run, submit

pytestmark = pytest.mark.anyio


async def test_the_report_panel_shows_the_proof_and_ctrl_o_opens_the_diff(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(whole_fix())
    app = make_app(settings_for(stats_repo, server.base_url, approval="auto-edit"))
    async with app.run_test(size=(110, 45)) as pilot:
        await pilot.press("ctrl+o")  # before any run: a notice, no screen
        assert isinstance(app.screen, MainScreen)
        await submit(pilot, "fix the statistics")
        await wait_for(pilot, lambda: app.main_screen.last_report is not None, timeout=60)
        await finish_run(pilot)
        text = app.main_screen.transcript_text()
        assert "run report" in text
        assert "passed (exit 0) — fixed mean and median" in text
        green = "tests.test_center.test_mean, tests.test_center.test_median_of_unsorted_values"
        assert f"red → green 3: {green}, tests.test_report.test_summary" in text
        assert "before failed (exit 1, 3 failing), after passed" in text
        assert "regressions 0" in text and "files: stats/center.py +2 −2" in text
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDiffScreen))
        shown = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        assert "--- a/stats/center.py" in shown and "+    return sum(values) / len(values)" in shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
