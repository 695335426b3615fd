"""Approval modes: suggest asks for diffs and commands, auto-edit asks only for commands that
are not allow-listed, full-auto never asks; Shift+Tab cycles the mode."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from coder.tui import make_app
from coder.tui.screens.confirm import CommandScreen
from coder.tui.screens.review import ReviewScreen
from tests.tui.conftest import sent_to_model, settings_for
from tests.tui.scripts import FINISH, FIX_BOTH, call, turn
from tests.tui.test_review_flow import finish_run, submit

pytestmark = pytest.mark.anyio


def script(*commands: str) -> list[dict[str, Any]]:
    """Run each command, then apply the fix, then finish."""
    turns = [turn(f"Running {c}.", call("run", command=c)) for c in commands]
    return [*turns, turn("Fixing.", call("apply_diff", diff=FIX_BOTH)), FINISH]


def asked(app: Any, seen: list[str]) -> None:
    """Record which kind of question is on screen (called while polling)."""
    if isinstance(app.screen, ReviewScreen) and "diff" not in seen:
        seen.append("diff")
    if isinstance(app.screen, CommandScreen) and app.screen.command not in seen:
        seen.append(app.screen.command)


async def run_answering(pilot: Any, seen: list[str], answers: dict[str, str]) -> None:
    """Run the agent to the end, answering each question with the key in `answers`."""
    app = pilot.app
    deadline = time.monotonic() + 60
    while app.agent_running:
        if time.monotonic() > deadline:
            raise AssertionError("agent still running:\n" + app.main_screen.transcript_text())
        asked(app, seen)
        screen = app.screen
        if isinstance(screen, ReviewScreen):
            await pilot.press(answers["diff"])
        elif isinstance(screen, CommandScreen):
            await pilot.press(answers[screen.command])
        await pilot.pause(0.05)
    await finish_run(pilot)


async def test_suggest_asks_for_every_command_and_diff(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(script("echo hello", "rm -rf stats"))
    app = make_app(settings_for(stats_repo, server.base_url, approval="suggest"))
    seen: list[str] = []
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix it")
        await run_answering(pilot, seen, {"echo hello": "y", "rm -rf stats": "n", "diff": "a"})
    assert seen == ["echo hello", "rm -rf stats", "diff"]
    assert (stats_repo / "stats" / "center.py").is_file()
    told = sent_to_model(server)
    assert "exit code 0" in told and "hello" in told
    assert "The user declined to run this command." in told


async def test_auto_edit_applies_diffs_and_asks_only_for_commands_not_allow_listed(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(script("echo allowed", "ls stats"))
    settings = settings_for(
        stats_repo, server.base_url, approval="auto-edit", allowed_commands=["echo"]
    )
    app = make_app(settings)
    seen: list[str] = []
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix it")
        await run_answering(pilot, seen, {"ls stats": "y"})
    assert seen == ["ls stats"]
    assert "ordered = sorted(values)" in (stats_repo / "stats" / "center.py").read_text()
    assert "center.py" in sent_to_model(server)


async def test_full_auto_never_asks(stats_repo: Path, scripted_server: Any) -> None:
    server = scripted_server(script("echo one", "ls stats"))
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto"))
    seen: list[str] = []
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix it")
        await run_answering(pilot, seen, {})
        assert "done: the checks pass" in app.main_screen.transcript_text()
    assert seen == []
    assert "ordered = sorted(values)" in (stats_repo / "stats" / "center.py").read_text()


async def test_shift_tab_cycles_the_mode_and_the_next_diff_follows_it(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(script())
    app = make_app(settings_for(stats_repo, server.base_url, approval="suggest"))
    seen: list[str] = []
    async with app.run_test(size=(100, 40)) as pilot:
        status = app.main_screen.status
        modes = []
        for _ in range(4):
            await pilot.press("shift+tab")
            modes.append(status.approval)
        assert modes == ["auto-edit", "full-auto", "suggest", "auto-edit"]
        await pilot.press("shift+tab")  # full-auto: the diff must not ask
        await submit(pilot, "fix it")
        await run_answering(pilot, seen, {})
    assert seen == []
    assert "ordered = sorted(values)" in (stats_repo / "stats" / "center.py").read_text()
