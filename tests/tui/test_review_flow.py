"""A whole fix through the TUI with hunk-by-hunk review, driven by the scripted model server.

Each test asserts on the files in the fixture repository and on what the model was told
(the request bodies the scripted server received).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from coder.tui import make_app
from coder.tui.screens.review import ReviewScreen
from tests.tui.conftest import sent_to_model, settings_for, wait_for
from tests.tui.scripts import FINISH, FIX_MEDIAN, call, turn, two_hunk_fix, whole_fix

pytestmark = pytest.mark.anyio


async def submit(pilot: Any, text: str) -> None:
    """Type `text` into the prompt and press Enter."""
    prompt = pilot.app.main_screen.prompt
    prompt.value = text
    await pilot.press("enter")
    await wait_for(pilot, lambda: prompt.value == "")


def reviewing(app: Any, hunks: int) -> bool:
    """A review of a diff with `hunks` hunks is on screen."""
    return isinstance(app.screen, ReviewScreen) and len(app.screen.hunks) == hunks


async def finish_run(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_approved_hunk_is_applied_and_rejected_hunk_is_not(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(two_hunk_fix())
    report_before = (stats_repo / "stats" / "report.py").read_text()
    app = make_app(settings_for(stats_repo, server.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix the statistics")
        await wait_for(pilot, lambda: reviewing(app, 2))
        await pilot.press("y", "n")
        await wait_for(pilot, lambda: reviewing(app, 1))
        await pilot.press("a")
        await finish_run(pilot)
        assert "done: the checks pass" in app.main_screen.transcript_text()
    center = (stats_repo / "stats" / "center.py").read_text()
    assert "return sum(values) / len(values)" in center
    assert "ordered = sorted(values)" in center
    assert (stats_repo / "stats" / "report.py").read_text() == report_before
    assert "approved hunk(s) 1 and rejected hunk(s) 2" in sent_to_model(server)


async def test_edited_hunk_is_applied_as_edited_and_model_is_told(
    stats_repo: Path, scripted_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('/ len(values)\\n', '/ len(values)  # by hand\\n'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    server = scripted_server(
        [*whole_fix()[:1], turn("The median.", call("apply_diff", diff=FIX_MEDIAN)), FINISH]
    )
    app = make_app(settings_for(stats_repo, server.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix the statistics")
        await wait_for(pilot, lambda: reviewing(app, 2))
        await pilot.press("e")
        await wait_for(pilot, lambda: app.screen.decisions[0] == "edited")
        await pilot.press("n")
        await wait_for(pilot, lambda: reviewing(app, 1))

        def applied() -> list[str]:
            blocks = app.main_screen.query("ToolBlock")
            return [str(b.diff_view.render()) for b in blocks if "as applied" in str(b.title)]

        await wait_for(pilot, applied)
        assert len(applied()) == 1 and "# by hand" in applied()[0]  # the block shows the edit
        await pilot.press("y")
        await finish_run(pilot)
    center = (stats_repo / "stats" / "center.py").read_text()
    assert "return sum(values) / len(values)  # by hand\n" in center
    told = sent_to_model(server)
    assert "edited hunk(s) 1" in told
    assert "approved hunk(s) 1 and rejected hunk(s) 2" in told


async def test_reject_with_comment_sends_the_comment_to_the_model(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([*whole_fix()[:1], FINISH])
    before = (stats_repo / "stats" / "center.py").read_text()
    app = make_app(settings_for(stats_repo, server.base_url, max_turns=2))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix the statistics")
        await wait_for(pilot, lambda: reviewing(app, 2))
        await pilot.press("r")
        await pilot.press(*"divide by n")
        await pilot.press("enter")
        await pilot.press("escape")
        await finish_run(pilot)
    assert (stats_repo / "stats" / "center.py").read_text() == before
    told = sent_to_model(server)
    assert "rejected all 2 hunk(s)" in told
    assert "divide by n" in told


async def test_markup_in_a_diff_is_shown_literally_and_never_runs(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(two_hunk_fix())
    app = make_app(settings_for(stats_repo, server.base_url, max_turns=1))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix the statistics")
        await wait_for(pilot, lambda: reviewing(app, 2))
        await pilot.press("down")
        for view in app.screen.query("DiffView"):
            view.on_click()  # clicking a hunk selects it; the markup inside must stay inert
        text = "\n".join(str(v.render()) for v in app.screen.query("DiffView"))
        assert '"[bold]all good[/bold] [@click=app.quit]x[/]"' in text
        await pilot.press("a")
        await finish_run(pilot)
        assert app.is_running
