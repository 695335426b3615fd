"""PromptInput: the one-line input for tasks, guidance and slash commands, with history."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class PromptInput(Input):
    """An Input whose Up/Down keys walk back and forth through what was submitted before."""

    BINDINGS = [
        Binding("up", "history(-1)", "Previous", show=False),
        Binding("down", "history(1)", "Next", show=False),
    ]

    DEFAULT_CSS = """
    PromptInput {
        border: tall $accent;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history: list[str] = []
        self._cursor = 0
        self._draft = ""

    def remember(self, text: str) -> None:
        """Add a submitted line to the history (consecutive duplicates kept once)."""
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._cursor = len(self.history)
        self._draft = ""

    def action_history(self, step: int) -> None:
        """Show the previous (-1) or next (+1) history entry; past the end, the draft."""
        if not self.history:
            return
        if self._cursor == len(self.history):
            self._draft = self.value
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        at_end = self._cursor == len(self.history)
        self.value = self._draft if at_end else self.history[self._cursor]
        self.cursor_position = len(self.value)
