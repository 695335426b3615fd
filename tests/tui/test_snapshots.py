"""SVG snapshots of the main screen and the diff review (pytest-textual-snapshot).

Update only after looking at the report: `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

APPS = Path(__file__).parent / "snapshot_apps"
SIZE = (100, 40)


async def _no_blink(pilot: Any) -> None:
    # The prompt is a TextArea: without this its cursor's blink phase decides the frame.
    for widget in pilot.app.query("Input, TextArea"):
        widget.cursor_blink = False


def test_main_screen_after_one_turn(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        from tests.tui.snapshot_apps import main_screen

        await _no_blink(pilot)
        await pilot.pause()
        await main_screen.play(pilot.app)
        await pilot.pause(0.3)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(APPS / "main_screen.py", run_before=run_before, terminal_size=SIZE)


def test_diff_review_first_hunk_approved(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        from tests.tui.snapshot_apps import review_screen

        await review_screen.open_review(pilot.app)
        await pilot.pause()
        await _no_blink(pilot)

    assert snap_compare(
        APPS / "review_screen.py", press=["y"], run_before=run_before, terminal_size=SIZE
    )
