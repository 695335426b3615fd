"""Esc interrupts, typed guidance steers, Ctrl+C twice quits, history, literal model text."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from coder.tui import make_app
from tests.tui.conftest import settings_for, wait_for
from tests.tui.scripts import FINISH, FIX_BOTH, call, turn
from tests.tui.test_review_flow import finish_run, submit

pytestmark = pytest.mark.anyio


def processes_running(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


async def test_escape_stops_a_running_command_quickly_and_guidance_continues_the_work(
    stats_repo: Path, scripted_server: Any
) -> None:
    sleeper = "sleep 37.25"
    server = scripted_server(
        [
            turn("Waiting.", call("run", command=sleeper)),
            turn("Fix.", call("apply_diff", diff=FIX_BOTH)),
            FINISH,
        ]
    )
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto"))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix the statistics")
        await wait_for(pilot, lambda: processes_running(sleeper))
        start = time.monotonic()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.agent_running)
        stopped_after = time.monotonic() - start
        text = app.main_screen.transcript_text()
        assert "interrupted" in text
        assert not processes_running(sleeper)
        assert stopped_after < 1.5
        await submit(pilot, "use sorted() for the median")
        await finish_run(pilot)
        assert "done: the checks pass" in app.main_screen.transcript_text()
    second_request = str(server.received[1]["messages"])
    assert "use sorted() for the median" in second_request
    assert "ordered = sorted(values)" in (stats_repo / "stats" / "center.py").read_text()


async def test_guidance_typed_while_the_agent_works_reaches_its_next_turn(
    stats_repo: Path, scripted_server: Any
) -> None:
    sleeper = "sleep 1.75"
    server = scripted_server(
        [
            turn("Waiting.", call("run", command=sleeper)),
            turn("Fix.", call("apply_diff", diff=FIX_BOTH)),
            FINISH,
        ]
    )
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto"))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix the statistics")
        await wait_for(pilot, lambda: processes_running(sleeper))
        await submit(pilot, "keep the public API unchanged")
        assert app.agent_running
        assert "guidance: keep the public API unchanged" in app.main_screen.transcript_text()
        await finish_run(pilot)
    first, second = (str(body["messages"]) for body in server.received[:2])
    assert "keep the public API unchanged" not in first
    assert "keep the public API unchanged" in second


async def test_ctrl_c_once_warns_and_twice_quits(stats_repo: Path, scripted_server: Any) -> None:
    app = make_app(settings_for(stats_repo, scripted_server([]).base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_up_arrow_recalls_earlier_input(stats_repo: Path, scripted_server: Any) -> None:
    app = make_app(settings_for(stats_repo, scripted_server([]).base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "/help")
        await submit(pilot, "/cost")
        prompt = app.main_screen.prompt
        prompt.value = "draft"
        await pilot.press("up")
        assert prompt.value == "/cost"
        await pilot.press("up")
        assert prompt.value == "/help"
        await pilot.press("down", "down")
        assert prompt.value == "draft"


async def test_markup_in_model_text_is_shown_literally_and_never_runs(
    stats_repo: Path, scripted_server: Any
) -> None:
    text = "Look: [bold]x[/bold] [/] [@click=app.quit]quit[/] done"
    server = scripted_server([{"text": text}])
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto", max_turns=1))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "say something odd")
        await finish_run(pilot)
        assert text in app.main_screen.transcript_text()
        message = app.main_screen.query("AssistantText").last()
        app.main_screen.transcript.scroll_to_widget(message, animate=False, top=True)
        await pilot.pause()
        await pilot.click(message, offset=(30, 0))
        await pilot.pause()
        assert app.is_running
