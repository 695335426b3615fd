"""A whole fix through the TUI with per-hunk approval, driven by the scripted model server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coder.tui import make_app
from coder.tui.screens.review import ReviewScreen
from tests.tui.conftest import sent_to_model, settings_for, wait_for
from tests.tui.scripts import two_hunk_fix

pytestmark = pytest.mark.anyio


async def submit(pilot: Any, text: str) -> None:
    """Type `text` into the prompt and press Enter."""
    pilot.app.main_screen.prompt.value = text
    await pilot.press("enter")


async def test_approved_hunk_is_applied_and_rejected_hunk_is_not(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(two_hunk_fix())
    report_before = (stats_repo / "stats" / "report.py").read_text()
    app = make_app(settings_for(stats_repo, server.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix the statistics")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await pilot.press("y", "n")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ReviewScreen)
                and app.screen.current == 0
                and len(app.screen.hunks) == 1
            ),
        )
        await pilot.press("a")
        await app.workers.wait_for_complete()
        await pilot.pause()
    center = (stats_repo / "stats" / "center.py").read_text()
    assert "return sum(values) / len(values)" in center
    assert "ordered = sorted(values)" in center
    assert (stats_repo / "stats" / "report.py").read_text() == report_before
    told = sent_to_model(server)
    assert "approved hunk(s) 1 and rejected hunk(s) 2" in told
