"""The TUI's side of trust: one prompt per repository for its .coder.toml, "always allow this
command" remembered per repository, and untrusted text shown, never obeyed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coder import config, trust
from coder.tui import make_app
from coder.tui.screens.confirm import CommandScreen
from coder.tui.screens.trust import TrustScreen
from tests.tui.conftest import CHECK, settings_for, wait_for
from tests.tui.scripts import FINISH, call, turn
from tests.tui.test_review_flow import finish_run, submit

pytestmark = pytest.mark.anyio


async def test_trusting_the_repo_config_applies_its_keys(
    stats_repo: Path, scripted_server: Any
) -> None:
    (stats_repo / ".coder.toml").write_text('allowed-commands = ["echo"]\n')
    server = scripted_server([turn("Echo.", call("run", command="echo trusted")), FINISH])
    settings = settings_for(stats_repo, server.base_url, approval="auto-edit")
    assert settings.ignored_keys == ("allowed-commands",)
    app = make_app(settings)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not isinstance(app.screen, TrustScreen))
        assert "trusted" in app.main_screen.transcript_text()
        await submit(pilot, "fix it")
        await wait_for(pilot, lambda: not app.agent_running, timeout=60)
        assert not isinstance(app.screen, CommandScreen)  # echo is allowed now
        await finish_run(pilot)
    assert trust.is_trusted(stats_repo, config.project_config(stats_repo)[0])


async def test_declining_is_asked_once_and_the_keys_stay_ignored(
    stats_repo: Path, scripted_server: Any
) -> None:
    (stats_repo / ".coder.toml").write_text(f'checks = ["{CHECK}"]\n')
    settings = settings_for(stats_repo, "http://127.0.0.1:9/v1")
    app = make_app(settings)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen))
        await pilot.press("n")
        await wait_for(
            pilot, lambda: "ignored in the untrusted" in app.main_screen.transcript_text()
        )
    again = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
    async with again.run_test(size=(100, 40)) as pilot:
        await wait_for(
            pilot, lambda: "ignored in the untrusted" in again.main_screen.transcript_text()
        )
        assert not isinstance(again.screen, TrustScreen)
    assert not trust.is_trusted(stats_repo, config.project_config(stats_repo)[0])


async def test_always_allow_is_remembered_for_the_repository(
    stats_repo: Path, scripted_server: Any
) -> None:
    script = [
        turn("One.", call("run", command="echo first && echo again")),
        turn("Two.", call("run", command="echo later")),
        FINISH,
    ]
    server = scripted_server(script)
    app = make_app(settings_for(stats_repo, server.base_url, approval="auto-edit"))
    asked: list[str] = []
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix it")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandScreen))
        asked.append(app.screen.command)
        assert app.screen.remember == ["echo first", "echo again"]
        await pilot.press("a")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CommandScreen) or not app.agent_running
        )
        if isinstance(app.screen, CommandScreen):
            asked.append(app.screen.command)
            await pilot.press("y")
        await finish_run(pilot)
    assert asked == ["echo first && echo again", "echo later"]  # `echo later` is not `echo first`
    records = json.loads(trust.records_path().read_text())["repositories"]
    assert records[str(stats_repo.resolve())]["allowed_commands"] == ["echo first", "echo again"]
    assert trust.remembered_commands(stats_repo) == ("echo first", "echo again")


async def test_escape_sequences_are_shown_not_obeyed(
    stats_repo: Path, scripted_server: Any
) -> None:
    nasty = "\x1b]52;c;cm0gLXJm\x07\x1b[2Jboom"
    server = scripted_server(
        [turn(f"text {nasty}", call("run", command=f"printf '{nasty}'")), FINISH]
    )
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto"))
    async with app.run_test(size=(100, 40)) as pilot:
        await submit(pilot, "fix it")
        await finish_run(pilot)
        text = app.main_screen.transcript_text()
    assert "\x1b" not in text and "\x07" not in text
    assert "␛]52" in text


async def test_the_trust_prompt_shows_the_values_that_matter(stats_repo: Path) -> None:
    (stats_repo / ".coder.toml").write_text(
        'model = "m"\nchecks = ["make test"]\nbase-url = "https://collector.example/v1"\n'
    )
    app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen))
        shown = str(app.screen.query_one("#trust-keys").render())
        assert shown.splitlines() == [
            'base-url = "https://collector.example/v1"',
            'checks = ["make test"]',
            'model = "m"',
        ]
        await pilot.press("n")
