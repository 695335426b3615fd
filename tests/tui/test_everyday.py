"""Everyday TUI behaviour, driven with Pilot against the scripted server: multi-line input,
keys that always reach the prompt, completion and @mentions, status that stays true, and the
order in which streamed text is drawn."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.content import Content

from coder.events import AssistantDelta, AssistantMessage, Finished
from coder.tui import make_app
from coder.tui.app import STREAM_BATCH_S
from coder.tui.bridge import AgentEvent
from coder.tui.screens.review import ReviewScreen
from tests.tui.conftest import sent_to_model, settings_for, wait_for
from tests.tui.scripts import FINISH, FIX_BOTH, call, turn, two_hunk_fix, whole_fix

pytestmark = pytest.mark.anyio


async def send(pilot: Any, text: str) -> None:
    """Put `text` in the prompt and press Enter."""
    pilot.app.main_screen.prompt.value = text
    await pilot.press("enter")


def done(app: Any) -> bool:
    """The run ended with the checks passing."""
    return "done: the checks pass" in app.main_screen.transcript_text()


def status_line(app: Any) -> str:
    return str(app.main_screen.status.render())


async def test_a_pasted_three_line_task_keeps_every_line(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(whole_fix())
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto"))
    task = "fix the statistics\nthe mean is off\nand so is the median"
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.post_message(events.Paste(task))  # as the terminal driver delivers a paste
        await wait_for(pilot, lambda: app.main_screen.prompt.value == task)
        await pilot.press("enter")
        await wait_for(pilot, lambda: done(app))
    assert json.dumps(task)[1:-1] in sent_to_model(server)  # every line reached the model


async def test_ctrl_j_starts_a_new_line_and_enter_sends(stats_repo: Path) -> None:
    app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(100, 40)) as pilot:
        prompt = app.main_screen.prompt
        await pilot.press(*"one", "ctrl+j", *"two")
        assert prompt.value == "one\ntwo"
        await pilot.press("backslash", "enter", *"three")
        assert prompt.value == "one\ntwo\nthree"


async def test_typed_keys_reach_the_prompt_after_tab_and_after_a_click(
    stats_repo: Path, scripted_server: Any
) -> None:
    app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(100, 40)) as pilot:
        prompt = app.main_screen.prompt
        await pilot.press("tab", "tab", *"abc")
        assert app.focused is prompt
        assert prompt.value == "abc"
        await app.main_screen.transcript.add_panel("a panel", Content("x"))
        await pilot.pause()
        app.main_screen.query("CollapsibleTitle").last().focus()
        await pilot.pause()
        assert app.focused is not prompt
        await pilot.press(*"def")
        assert app.focused is prompt
        assert prompt.value == "abcdef"
        await pilot.press("shift+tab")  # still the approval mode, and focus stays
        assert app.main_screen.status.approval == "auto-edit"
        assert app.focused is prompt


async def test_page_up_and_down_scroll_the_transcript_from_the_prompt(stats_repo: Path) -> None:
    app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(100, 30)) as pilot:
        transcript = app.main_screen.transcript
        for line in range(80):
            await transcript.add_notice(f"line {line}")
        await pilot.pause(0.3)
        bottom = transcript.scroll_y
        assert bottom > 0
        await pilot.press("pageup")
        await pilot.pause(0.3)
        assert transcript.scroll_y < bottom
        assert app.focused is app.main_screen.prompt
        await pilot.press("pagedown")
        await pilot.pause(0.3)
        assert transcript.scroll_y == bottom


async def test_slash_commands_and_paths_complete_with_tab(stats_repo: Path) -> None:
    app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(100, 40)) as pilot:
        prompt = app.main_screen.prompt
        await pilot.press(*"/ex")
        await pilot.pause()
        shown = app.main_screen.query_one("#completions")
        assert shown.display and "/exit" in str(shown.render())
        await pilot.press("tab")
        assert prompt.value == "/exit "
        prompt.value = ""
        await pilot.press(*"fix @stats/ce")
        await pilot.pause()
        await pilot.press("tab")
        assert prompt.value == "fix @stats/center.py "
        assert not app.main_screen.query_one("#completions").display


async def test_an_at_mention_puts_the_file_in_the_models_context(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(whole_fix())
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto"))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "fix the median in @stats/center.py please")
        await wait_for(pilot, lambda: done(app))
        assert "in the model's context with the task: stats/center.py" in (
            app.main_screen.transcript_text()
        )
    sent = sent_to_model(server)
    assert "stats/center.py:\\n```" in sent  # (JSON-escaped)
    assert "def median(" in sent


async def test_exit_and_quit_leave_the_app(stats_repo: Path) -> None:
    for word in ("/exit", "/quit"):
        app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, word)
            await pilot.pause()
            assert app._exit  # noqa: SLF001 - what App.exit() sets
        assert app.return_code == 0


async def test_checks_tally_is_reset_by_undo(stats_repo: Path, scripted_server: Any) -> None:
    server = scripted_server(whole_fix())
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto"))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "fix the statistics")
        await wait_for(pilot, lambda: done(app))
        await pilot.app.workers.wait_for_complete()
        assert "checks ✓" in status_line(app)
        await send(pilot, "/undo")
        await wait_for(pilot, lambda: "checks —" in status_line(app))


async def test_a_question_shows_waiting_for_approval_not_running(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([turn("Checking.", call("run", command="echo hello")), *whole_fix()])
    app = make_app(settings_for(stats_repo, server.base_url, approval="suggest"))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "fix the statistics")
        await wait_for(
            pilot,
            lambda: (
                "waiting for approval" in app.main_screen.transcript_text()
                or _title_has(app, "waiting for approval")
            ),
        )
        assert "waiting for you" in status_line(app)
        assert not _title_has(app, "running…")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert _title_has(app, "waiting for approval")  # drawn before the review opens
        await pilot.press("a")
        await wait_for(pilot, lambda: done(app))


def _title_has(app: Any, text: str) -> bool:
    return any(text in str(t.label) for t in app.main_screen.query("CollapsibleTitle"))


async def test_after_a_partial_review_the_block_shows_the_applied_diff(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(two_hunk_fix())
    app = make_app(settings_for(stats_repo, server.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "fix the statistics")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await pilot.press("y", "n")
        await wait_for(pilot, lambda: _title_has(app, "as applied"))
        block = next(b for b in app.main_screen.query("ToolBlock") if "as applied" in str(b.title))
        shown = str(block.diff_view.render())
        assert "return sum(values) / len(values)" in shown  # the approved hunk
        assert "stats/report.py" not in shown  # the rejected hunk
        await pilot.press("a")
        await pilot.app.workers.wait_for_complete()


@pytest.mark.parametrize(
    "mode, promise",
    [
        ("suggest", "proposed diffs open for review"),
        ("auto-edit", "diffs apply without asking"),
        ("full-auto", "diffs and commands run without asking, inside the sandbox"),
    ],
)
async def test_the_welcome_line_says_what_the_approval_mode_does(
    stats_repo: Path, mode: str, promise: str
) -> None:
    app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1", approval=mode))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        first = app.main_screen.transcript_text().splitlines()[0]
        assert f"({mode})" in first and promise in first
        if mode != "suggest":
            assert "review" not in first


async def test_the_status_spins_with_elapsed_time_while_the_model_works(
    stats_repo: Path,
) -> None:
    app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(100, 40)) as pilot:
        status = app.main_screen.status
        status.state = "working"
        status.activity = "model"
        first = status_line(app)
        await pilot.pause(0.3)
        status.streamed(5)
        await pilot.pause(0.7)
        status.streamed(6)
        line = status_line(app)
        assert line != first  # the spinner turned
        assert "model 1s" in line and "tok/s" in line
        status.state = "idle"
        assert "idle" in status_line(app)


async def test_a_check_ending_mid_stream_does_not_split_or_repeat_the_message(
    stats_repo: Path, scripted_server: Any
) -> None:
    """The baseline check runs beside the first model turn and ends while the model's text
    is still streaming: the message must stay one block, shown once."""
    words = " ".join(f"word{i}" for i in range(60))
    text = f"Streaming slowly: {words} end."
    slow = {**turn(text, call("apply_diff", diff=FIX_BOTH)), "piece_delay_s": 0.05}
    server = scripted_server([slow, FINISH])
    app = make_app(settings_for(stats_repo, server.base_url, approval="full-auto"))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "fix the statistics")
        await wait_for(pilot, lambda: done(app))
        await pilot.app.workers.wait_for_complete()
        blocks = [w.text for w in app.main_screen.query("AssistantText")]
        children = list(app.main_screen.transcript.children)
    joined = "\n".join(blocks)
    assert joined.count("Streaming slowly") == 1, blocks
    assert joined.count("word59 end.") == 1, blocks
    assert any(b.strip() == text for b in blocks), blocks
    kinds = [type(w).__name__ for w in children]
    assert "Collapsible" in kinds[: kinds.index("AssistantText")]  # the check came mid-stream


async def test_streamed_text_is_drawn_once_and_in_order(stats_repo: Path) -> None:
    """Fragments and the message that ends them, as the agent thread emits them, with the
    end arriving just as a batch of fragments is being drawn."""
    app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
    messages = [f"message {i:02d} " + " ".join(f"w{i}x{j}" for j in range(8)) for i in range(24)]

    def agent() -> None:
        rng = random.Random(7)
        for turn_number, text in enumerate(messages, 1):
            for word in text.split(" "):
                app.sink.emit(AssistantDelta(word + " "))
            time.sleep(STREAM_BATCH_S + rng.uniform(-0.01, 0.01))
            app.sink.emit(AssistantMessage(text, turn_number))

    async with app.run_test(size=(100, 40)) as pilot:
        thread = threading.Thread(target=agent)
        thread.start()
        while thread.is_alive():
            await pilot.pause(0.05)
        await pilot.pause(STREAM_BATCH_S * 3)
        shown = [w.text for w in app.main_screen.query("AssistantText")]
    assert [t.strip() for t in shown] == messages


async def test_an_agent_event_queued_behind_shutdown_is_dropped(stats_repo: Path) -> None:
    # A run's last event can still be queued when the app shuts down and removes its
    # widgets first (seen once in CI: NoMatches for StatusBar ended the test in error).
    app = make_app(settings_for(stats_repo, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(100, 40)) as pilot:
        await app.main_screen.status.remove()
        app.post_message(AgentEvent(Finished("passed", 0, "done", 1)))
        await pilot.pause()
        assert not app.main_screen.standing()
