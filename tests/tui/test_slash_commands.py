"""Every slash command, against a real session on the fixture repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coder.tui import make_app
from tests.tui.conftest import settings_for, wait_for
from tests.tui.scripts import FINISH, call, turn, whole_fix
from tests.tui.test_review_flow import finish_run, submit

pytestmark = pytest.mark.anyio


async def command(pilot: Any, line: str) -> str:
    """Run a slash command to completion; return the transcript text."""
    await submit(pilot, line)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return pilot.app.main_screen.transcript_text()


async def fixed(pilot: Any) -> None:
    """Run the whole fix (full-auto) to the end."""
    await submit(pilot, "fix the statistics")
    await finish_run(pilot)


def full_auto(repo: Path, server: Any, **extra: Any) -> Any:
    return make_app(settings_for(repo, server.base_url, approval="full-auto", **extra))


async def test_help_lists_every_command_and_key(stats_repo: Path, scripted_server: Any) -> None:
    app = full_auto(stats_repo, scripted_server([]))
    async with app.run_test(size=(100, 40)) as pilot:
        text = await command(pilot, "/help")
    for name in ("/help", "/undo", "/diff", "/model", "/checks", "/clear", "/cost", "/map"):
        assert name in text
    assert "Esc" in text and "Shift+Tab" in text and "Ctrl+C twice" in text


async def test_unknown_command_is_named_and_nothing_runs(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([])
    app = full_auto(stats_repo, server)
    async with app.run_test(size=(100, 40)) as pilot:
        text = await command(pilot, "/frobnicate now")
    assert "unknown command /frobnicate" in text
    assert server.received == []


async def test_diff_shows_everything_changed_this_session(
    stats_repo: Path, scripted_server: Any
) -> None:
    app = full_auto(stats_repo, scripted_server(whole_fix()))
    async with app.run_test(size=(100, 40)) as pilot:
        assert "no changes in this session" in await command(pilot, "/diff")
        await fixed(pilot)
        text = await command(pilot, "/diff")
    assert "changes this session" in text
    assert "+    ordered = sorted(values)" in text
    assert "+    return sum(values) / len(values)" in text


async def test_undo_restores_the_tree_from_before_the_first_edit(
    stats_repo: Path, scripted_server: Any
) -> None:
    center = stats_repo / "stats" / "center.py"
    before = center.read_text()
    (stats_repo / "notes.txt").write_text("the user's own work\n")
    app = full_auto(stats_repo, scripted_server(whole_fix()))
    async with app.run_test(size=(100, 40)) as pilot:
        await fixed(pilot)
        assert center.read_text() != before
        await command(pilot, "/undo")
    assert center.read_text() == before
    assert (stats_repo / "notes.txt").read_text() == "the user's own work\n"


async def test_model_switches_the_model_for_the_next_turn(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([turn("One.", call("read_file", path="stats/center.py")), FINISH])
    app = full_auto(stats_repo, server, max_turns=1)
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "look around")
        await finish_run(pilot)
        text = await command(pilot, "/model other-model-7")
        assert app.main_screen.status.model == "other-model-7"
        assert "model set to other-model-7" in text
        await submit(pilot, "go on")
        await finish_run(pilot)
    assert [body["model"] for body in server.received] == ["gpt-4.1-mini", "other-model-7"]


async def test_checks_replaces_the_check_command(stats_repo: Path, scripted_server: Any) -> None:
    app = full_auto(stats_repo, scripted_server([FINISH]))
    async with app.run_test(size=(100, 40)) as pilot:
        assert "pytest" in await command(pilot, "/checks")
        await command(pilot, "/checks echo all-good")
        await submit(pilot, "finish up")
        await finish_run(pilot)
        text = app.main_screen.transcript_text()
    assert "check echo all-good" in text
    assert "done: the checks pass" in text


async def test_cost_reports_the_tokens_used(stats_repo: Path, scripted_server: Any) -> None:
    usage = {"usage": {"prompt_tokens": 900, "completion_tokens": 20, "cached_tokens": 512}}
    app = full_auto(stats_repo, scripted_server([{**FINISH, **usage}]), checks=["true"])
    async with app.run_test(size=(100, 40)) as pilot:
        assert "no tokens used yet" in await command(pilot, "/cost")
        await submit(pilot, "finish up")
        await finish_run(pilot)
        text = await command(pilot, "/cost")
    assert "prompt tokens      900 (512 cached)" in text
    assert "completion tokens  20" in text


async def test_clear_empties_the_transcript_and_starts_a_new_conversation(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([FINISH, FINISH])
    app = full_auto(stats_repo, server, checks=["true"])
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "first task")
        await finish_run(pilot)
        text = await command(pilot, "/clear")
        assert "first task" not in text and "cleared" in text
        await submit(pilot, "second task")
        await finish_run(pilot)
    second = str(server.received[1]["messages"])
    assert "second task" in second and "first task" not in second


async def test_map_shows_the_repository_map(stats_repo: Path, scripted_server: Any) -> None:
    app = full_auto(stats_repo, scripted_server([]))
    async with app.run_test(size=(100, 40)) as pilot:
        text = await command(pilot, "/map")
        await wait_for(pilot, lambda: "repository map" in app.main_screen.transcript_text())
    assert "stats/center.py" in text
    assert "median" in text
