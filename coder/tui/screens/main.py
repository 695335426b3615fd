"""MainScreen: transcript above, prompt and status bar below; renders agent events.

The app hands every agent event to `show_event`; this screen decides which widget shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from coder.events import (
    AssistantDelta,
    AssistantMessage,
    CheckResult,
    Compacted,
    Event,
    Finished,
    Notice,
    Plan,
    Report,
    SessionStarted,
    ToolCalled,
    ToolOutput,
    ToolResult,
    Usage,
)
from coder.report import report_text
from coder.textsafe import printable
from coder.tui.widgets.diff_view import render_diff
from coder.tui.widgets.prompt_input import PromptInput
from coder.tui.widgets.status_bar import StatusBar
from coder.tui.widgets.tool_block import summarize_call
from coder.tui.widgets.transcript import Transcript

PLACEHOLDER = "Describe a task · Enter sends, Ctrl+J new line · /help · @file adds a file"
WELCOME = {
    "suggest": "proposed diffs open for review (y/n per hunk, a all) and commands ask first",
    "auto-edit": "diffs apply without asking (/undo takes them back); commands ask first "
    "unless allowed",
    "full-auto": "diffs and commands run without asking, inside the sandbox (/undo takes the "
    "edits back)",
}
"""What the first line promises, per approval mode (Shift+Tab changes the mode)."""
OUTCOME_TEXT = {
    "passed": "✓ done: the checks pass",
    "failed": "✗ stopped: the checks still fail",
    "budget_exhausted": "✗ stopped: the turn budget is spent",
    "interrupted": "■ interrupted: type guidance and press Enter to continue",
    "error": "✗ the model failed",
}


class MainScreen(Screen[None]):
    """The one main screen of the app."""

    def __init__(
        self,
        model: str,
        approval: str,
        repo: str,
        commands: Sequence[str] = (),
        paths: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.approval = approval
        self.repo = repo
        self._commands = commands
        self._paths = paths
        self._checks: dict[str, bool] = {}
        self.last_report: dict[str, Any] | None = None
        """The last run's report (the `report` event's JSON form)."""

    def compose(self) -> ComposeResult:
        welcome = (
            f"coder in {self.repo} ({self.approval}): {WELCOME[self.approval]}. "
            "/help lists commands."
        )
        yield Transcript(Static(Content(welcome), classes="notice"), id="transcript")
        completions = Static(Content(""), id="completions")
        completions.display = False
        yield completions
        yield PromptInput(
            placeholder=PLACEHOLDER, commands=self._commands, paths=self._paths, id="prompt"
        )
        status = StatusBar(id="status")
        status.model = self.model
        status.approval = self.approval
        yield status
        yield Footer()

    AUTO_FOCUS = "#prompt"
    """The prompt has the focus from the first frame (not the transcript, which comes first)."""

    DEFAULT_CSS = """
    #completions { height: auto; max-height: 8; background: $panel; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.query_one(PromptInput).focus()

    def on_key(self, event: events.Key) -> None:
        """Typing always reaches the prompt, wherever the focus went (a click, a Tab)."""
        prompt = self.prompt
        if self.focused is prompt:
            return
        if event.key == "ctrl+j":
            text = "\n"
        elif event.is_printable and event.character is not None:
            text = event.character
        else:
            return
        event.stop()
        event.prevent_default()
        self.set_focus(prompt)
        prompt.insert(text)

    def on_paste(self, event: events.Paste) -> None:
        """A paste anywhere on the screen goes into the prompt, every line of it."""
        if self.focused is not self.prompt:
            event.stop()
            self.prompt.focus()
            self.prompt.insert(event.text)

    @on(PromptInput.Scroll)
    def _scroll(self, message: PromptInput.Scroll) -> None:
        transcript = self.transcript
        if message.pages < 0:
            transcript.scroll_page_up()
        else:
            transcript.scroll_page_down()

    @on(PromptInput.CompletionsChanged)
    def _completions(self, message: PromptInput.CompletionsChanged) -> None:
        view = self.query_one("#completions", Static)
        view.display = bool(message.candidates)
        lines = [
            ("› " if i == message.selected else "  ") + candidate
            for i, candidate in enumerate(message.candidates)
        ]
        if lines:
            lines.append("Tab or Enter completes · Up/Down choose · Esc closes")
        view.update(Content("\n".join(lines)))

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    def transcript_text(self) -> str:
        """The transcript as plain text."""
        return self.transcript.plain_text()

    def standing(self) -> bool:
        """Whether the widgets are mounted (they are removed before queued messages end).
        Called at every stream drain: only the screen's own children are looked at, not
        the transcript's many blocks."""
        return bool(self.query_children(StatusBar)) and bool(self.query_children(Transcript))

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    async def show_event(self, event: Event) -> None:
        """Render one agent event."""
        transcript, status = self.transcript, self.status
        if isinstance(event, AssistantDelta):
            await transcript.stream_assistant(event.text)
        elif isinstance(event, ToolOutput):
            transcript.tool_output(event.call_id, event.text)
        elif isinstance(event, AssistantMessage):
            await transcript.end_assistant(event.text)
            status.turn = event.turn
            status.activity = "model"
        elif isinstance(event, ToolCalled):
            await transcript.add_tool(event.call_id, event.name, event.arguments)
            status.activity = summarize_call(event.name, event.arguments)
        elif isinstance(event, ToolResult):
            transcript.tool_result(event.call_id, event.ok, event.output)
            status.activity = "model"
        elif isinstance(event, CheckResult):
            candidate = event.phase == "candidate"
            if not candidate:  # the status bar tells of the tree, not of a candidate
                self._checks[event.command] = event.passed
                status.checks_total = len(self._checks)
                status.checks_passed = sum(self._checks.values())
            await transcript.add_check(
                event.command, event.passed, event.exit_code, event.output, candidate
            )
        elif isinstance(event, Usage):
            status.turn = event.turn
            status.prompt_tokens = event.total_prompt_tokens
            status.completion_tokens = event.total_completion_tokens
            status.cost_usd = event.cost_usd
        elif isinstance(event, SessionStarted):
            checks = ", ".join(event.checks) or "none"
            instructions = ", ".join(event.instructions) or "none"
            await transcript.add_notice(
                f"model {event.model} via {event.provider} · profile {event.profile} "
                f"({event.profile_reason}) · checks: {checks} ({event.checks_source}) · "
                f"instructions: {instructions}"
            )
        elif isinstance(event, Compacted):
            await transcript.add_notice(
                f"compacted the conversation: {event.dropped_items} old item(s) and "
                f"{event.removed_characters} characters gave way to a note of where the work "
                f"stands (context {event.context_window} tokens)"
            )
        elif isinstance(event, Notice):
            await transcript.add_notice(event.message, event.level)
        elif isinstance(event, Plan):
            await transcript.add_plan(event.steps)
        elif isinstance(event, Finished):
            text = OUTCOME_TEXT.get(event.outcome, event.outcome)
            level = "info" if event.outcome in ("passed", "interrupted") else "warning"
            await transcript.add_notice(f"{text} — {event.summary}", level)
        elif isinstance(event, Report):
            self.last_report = event.report
            body = f"{report_text(event.report)}\nctrl+o: the whole diff"
            await transcript.add_panel("run report", Content(printable(body)))

    async def show_reply(self, title: str, body: str, kind: str) -> None:
        """Render a slash command's reply."""
        if kind == "notice" or not body:
            await self.transcript.add_notice(title)
        elif kind == "diff":
            await self.transcript.add_panel(title, render_diff(body))
        else:
            await self.transcript.add_panel(title, Content(printable(body)))

    def forget_checks(self) -> None:
        """Reset the check tally (after /checks or /clear)."""
        self._checks.clear()
        self.status.checks_total = self.status.checks_passed = 0
