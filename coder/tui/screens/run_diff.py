"""RunDiffScreen: the whole diff of the last run (the report's), scrollable; Esc closes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from coder.tui.widgets.diff_view import render_diff


class RunDiffScreen(ModalScreen[None]):
    """What the agent changed in its last run, as one highlighted unified diff."""

    DEFAULT_CSS = """
    RunDiffScreen { align: center middle; }
    RunDiffScreen > Vertical {
        width: 95%; height: 90%; border: round $primary; background: $surface;
    }
    RunDiffScreen #run-diff-title { padding: 0 1; text-style: bold; }
    """
    BINDINGS = [
        Binding("escape,q,ctrl+o", "close", "close"),
        Binding("up,k", "scroll(-1)", "up", show=False),
        Binding("down,j", "scroll(1)", "down", show=False),
    ]

    def __init__(self, diff: str, title: str) -> None:
        super().__init__()
        self.diff = diff
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self.title_text), id="run-diff-title")
            with VerticalScroll(id="run-diff-body"):
                yield Static(render_diff(self.diff) if self.diff else Content("(no changes)"))
        yield Footer()

    def action_scroll(self, lines: int) -> None:
        self.query_one("#run-diff-body", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
