"""/resume in the TUI carries on a recorded session: the same conversation goes to the model
(the real app driven with Pilot; the first run a real `coder run` subprocess; the scripted
server over real HTTP)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coder.tui import make_app
from tests.runs import coder_run
from tests.tui.conftest import settings_for, wait_for
from tests.tui.scripts import call, turn
from tests.tui.test_everyday import send

pytestmark = pytest.mark.anyio
LOOK = turn("Looking at the code first.", call("read_file", path="stats.py"))
STOP = turn("Stopping.", call("finish", summary="stopping"))


async def test_resume_carries_on_the_recorded_conversation(
    stats_repo: Path, scripted_server: Any
) -> None:
    first = scripted_server([LOOK, STOP, {**STOP, "repeat": True}])
    coder_run(stats_repo, first.base_url, "--max-turns", "2", task="fix the statistics")

    server = scripted_server([STOP, {**STOP, "repeat": True}])
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto", max_turns=1))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "/resume")
        await wait_for(pilot, lambda: "resumed session" in app.main_screen.transcript_text())
        await send(pilot, "now fix median too")
        await wait_for(pilot, lambda: server.received)
        await wait_for(pilot, lambda: not app.agent_running)
    sent = json.dumps(server.received[0]["messages"])
    assert "fix the statistics" in sent and "Looking at the code first." in sent
    assert "now fix median too" in sent


async def test_resume_without_any_session_says_so(stats_repo: Path, scripted_server: Any) -> None:
    server = scripted_server([STOP])
    app = make_app(settings_for(stats_repo, server.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "/resume")
        await wait_for(pilot, lambda: "no session" in app.main_screen.transcript_text())
    assert not server.received
