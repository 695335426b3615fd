"""The model's plan: `update_plan` becomes `plan` events in the JSON Lines and a checklist in
the TUI (the real app driven with Pilot, the scripted server over real HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coder.tools.plan import parse_plan
from coder.tui import make_app
from tests.runs import coder_run, events
from tests.tui.conftest import settings_for, wait_for
from tests.tui.scripts import call, turn
from tests.tui.test_everyday import send

PLAN = "[x] read the tests\n[~] fix mean\n[ ] fix median"
UPDATE = turn("Planning.", call("update_plan", plan=PLAN))
GIVE_UP = turn("I stop here.", call("finish", summary="planned"))


def test_a_plan_is_read_from_checkbox_lines_or_json() -> None:
    assert parse_plan(PLAN) == [
        {"step": "read the tests", "status": "done"},
        {"step": "fix mean", "status": "in_progress"},
        {"step": "fix median", "status": "pending"},
    ]
    as_json = '[{"step": "a", "status": "done"}, {"step": "b", "status": "weird"}]'
    assert parse_plan(as_json) == [
        {"step": "a", "status": "done"},
        {"step": "b", "status": "pending"},
    ]
    assert isinstance(parse_plan("just words"), str)  # an error for the model


def test_the_plan_is_a_plan_event_in_the_json_lines(stats_repo: Path, scripted_server: Any) -> None:
    server = scripted_server([UPDATE, GIVE_UP, {**GIVE_UP, "repeat": True}])
    proc = coder_run(stats_repo, server.base_url, "--max-turns", "2")

    plans = [e for e in events(proc) if e["type"] == "plan"]
    assert plans and plans[0]["steps"][1] == {"step": "fix mean", "status": "in_progress"}
    results = [e for e in events(proc) if e["type"] == "tool_result" and e["name"] == "update_plan"]
    assert results[0]["output"] == "plan updated: 1 of 3 steps done"


@pytest.mark.anyio
async def test_the_tui_shows_the_plan_as_a_checklist(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([UPDATE, GIVE_UP, {**GIVE_UP, "repeat": True}])
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto", max_turns=2))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "fix the statistics")
        await wait_for(pilot, lambda: "turn budget" in app.main_screen.transcript_text().lower())
        await pilot.app.workers.wait_for_complete()
        shown = app.main_screen.transcript_text()
        assert "☑ read the tests" in shown and "◐ fix mean" in shown and "☐ fix median" in shown
