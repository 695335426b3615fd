"""StatusBar: one line with model, approval mode, agent state, turn, tokens, cost and checks."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
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
        tokens = f"{_short(self.prompt_tokens)} in · {_short(self.completion_tokens)} out"
        return Content.assemble(
            (self.model, "bold"),
            " │ ",
            (self.approval, "$accent"),
            " │ ",
            (self.state, state_style),
            " │ ",
            f"turn {self.turn}",
            " │ ",
            tokens,
            " │ ",
            cost,
            " │ ",
            checks,
        )


def _short(count: int) -> str:
    return f"{count / 1000:.1f}k" if count >= 10_000 else str(count)
