"""StatusBar: one line with model, approval mode, agent state, turn, tokens, cost and checks.

While the agent works a spinner turns beside what it is doing (the model thinking, a command
running, a question waiting) with the seconds it has taken, and the model's tokens per second
while it streams.
"""

from __future__ import annotations

import time
from typing import Any

from textual.content import Content
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget


class StatusBar(Widget):
    """Read-only status line; the app sets its reactive attributes."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    model: reactive[str] = reactive("")
    approval: reactive[str] = reactive("suggest")
    state: reactive[str] = reactive("idle")
    turn: reactive[int] = reactive(0)
    prompt_tokens: reactive[int] = reactive(0)
    completion_tokens: reactive[int] = reactive(0)
    cost_usd: reactive[float | None] = reactive(None)
    checks_passed: reactive[int] = reactive(0)
    checks_total: reactive[int] = reactive(0)
    activity: reactive[str] = reactive("")
    """What the agent is doing now ("model", "run pytest -q", …); set by the app."""
    spinning: reactive[bool] = reactive(True)
    """Whether the spinner turns (off for snapshots, as a cursor's blink is)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._frame = 0
        self._since = time.monotonic()
        self._stream_started: float | None = None
        self._stream_last = 0.0
        self._fragments = 0
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self._timer = self.set_interval(SPIN_S, self._spin, pause=self.state == "idle")

    def watch_state(self, old: str, new: str) -> None:
        if self._timer is None:
            return
        if new == "idle":
            self._timer.pause()
        elif old == "idle":
            self._since = time.monotonic()
            self._timer.resume()

    def watch_activity(self, old: str, new: str) -> None:
        self._since = time.monotonic()
        self._stream_started = None

    def streamed(self, fragments: int) -> None:
        """The model streamed `fragments` more pieces (about one token each)."""
        now = time.monotonic()
        if self._stream_started is None or now - self._stream_last > STREAM_GAP_S:
            self._stream_started, self._fragments = now, 0
        self._fragments += fragments
        self._stream_last = now

    def _spin(self) -> None:
        if self.spinning:
            self._frame += 1
        self.refresh()

    def busy_text(self) -> str:
        """The spinner, the activity, its seconds and the streaming rate."""
        now = time.monotonic()
        spinner = SPINNER[self._frame % len(SPINNER)]
        doing = self.activity or "working"
        if self.state not in ("working", "idle"):
            doing = self.state
        if not self.spinning:  # a still frame: nothing that moves with the clock
            return f"{spinner} {doing}"
        text = f"{spinner} {doing} {now - self._since:.0f}s"
        started = self._stream_started
        if started is not None and now - self._stream_last < STREAM_GAP_S:
            seconds = self._stream_last - started
            if seconds > 0.5:
                text += f" · {self._fragments / seconds:.1f} tok/s"
        return text

    def render(self) -> Content:
        """Compose the line from literal pieces (the model name is user text, not markup)."""
        cost = "—" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        if self.checks_total == 0:
            checks: tuple[str, str] = ("checks —", "$text-muted")
        elif self.checks_passed == self.checks_total:
            checks = (f"checks ✓ {self.checks_passed}/{self.checks_total}", "$success")
        else:
            failing = self.checks_total - self.checks_passed
            checks = (f"checks ✗ {failing} failing", "$error")
        state_style = {"working": "$warning", "waiting for you": "$accent"}.get(
            self.state, "$text-muted"
        )
        state = self.state if self.state == "idle" else self.busy_text()
        tokens = f"{_short(self.prompt_tokens)} in · {_short(self.completion_tokens)} out"
        return Content.assemble(
            (self.model, "bold"),
            " │ ",
            (self.approval, "$accent"),
            " │ ",
            (state, state_style),
            " │ ",
            f"turn {self.turn}",
            " │ ",
            tokens,
            " │ ",
            cost,
            " │ ",
            checks,
        )


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPIN_S = 0.1
STREAM_GAP_S = 1.5
"""A pause this long in the stream starts a new rate measurement."""


def _short(count: int) -> str:
    return f"{count / 1000:.1f}k" if count >= 10_000 else str(count)
