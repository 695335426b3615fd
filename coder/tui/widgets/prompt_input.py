"""PromptInput: the multi-line input for tasks, guidance and slash commands.

Enter sends; Ctrl+J, Alt+Enter or Shift+Enter (where the terminal tells it apart), or a
backslash before Enter, start a new line; a paste keeps every line. Up/Down walk through the
history from the first or last line. Tab completes a `/command` or an `@path`; Page Up/Down
scroll the transcript.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

MAX_COMPLETIONS = 8


@dataclass(frozen=True)
class Completion:
    """What the word at the cursor could become."""

    start: int
    """Column where the word being completed starts (on the cursor's line)."""
    candidates: tuple[str, ...]


class PromptInput(TextArea):
    """A TextArea whose Enter submits; with history and completion."""

    class Submitted(Message):
        """Enter was pressed: `value` is the whole text."""

        def __init__(self, prompt: PromptInput, value: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.value = value

    class CompletionsChanged(Message):
        """The candidates for the word at the cursor changed (empty: none to show)."""

        def __init__(self, candidates: tuple[str, ...], selected: int) -> None:
            super().__init__()
            self.candidates = candidates
            self.selected = selected

    class Scroll(Message):
        """Page Up (-1) or Page Down (+1) was pressed: for the transcript."""

        def __init__(self, pages: int) -> None:
            super().__init__()
            self.pages = pages

    BINDINGS = [
        Binding("up", "history(-1)", "Previous", show=False),
        Binding("down", "history(1)", "Next", show=False),
    ]
    NEWLINE_KEYS = frozenset({"ctrl+j", "alt+enter", "shift+enter"})
    """Keys that start a new line. Handled with the key itself, not as bindings: a binding
    runs once the key has bubbled up to the app, after the keys typed behind it."""

    DEFAULT_CSS = """
    PromptInput {
        border: tall $accent;
        height: auto;
        min-height: 3;
        max-height: 12;
    }
    """

    def __init__(
        self,
        placeholder: str = "",
        commands: Sequence[str] = (),
        paths: Callable[[], Sequence[str]] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(
            placeholder=placeholder,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            highlight_cursor_line=False,
            compact=True,
            **kwargs,  # type: ignore[arg-type]
        )
        self.past: list[str] = []
        self._cursor = 0
        self._draft = ""
        self.commands = tuple(commands)
        self._paths = paths
        self.completion: Completion | None = None
        self.selected = 0

    # ---- the text ------------------------------------------------------------------------

    @property
    def value(self) -> str:
        """The whole text."""
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    def clear(self) -> None:  # type: ignore[override]
        """Empty the input (after a submit)."""
        self.value = ""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            # The text may have changed since the last Changed message was handled.
            self._set_completion(self._completion_at_cursor())
            if self.completion is not None:
                self.action_complete()
                return
            row, column = self.cursor_location
            line = self.document.get_line(row)
            if column > 0 and line[column - 1] == "\\":  # `\` then Enter: a new line
                self.replace("\n", (row, column - 1), (row, column))
                return
            self.post_message(self.Submitted(self, self.text))
            return
        if event.key in self.NEWLINE_KEYS or event.key == "tab":
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                self.action_complete()
            else:
                self.action_newline()
            return
        if event.key in ("pageup", "pagedown"):
            # The prompt is a few lines high: Page Up/Down scroll the transcript above it.
            event.stop()
            event.prevent_default()
            self.post_message(self.Scroll(-1 if event.key == "pageup" else 1))
            return
        if event.key == "escape" and self.completion is not None:
            event.stop()
            event.prevent_default()
            self._set_completion(None)
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        """Insert a line break at the cursor."""
        start, end = self.selection
        self.replace("\n", start, end)

    # ---- history -----------------------------------------------------------------------

    def remember(self, text: str) -> None:
        """Add a submitted text to the history (consecutive duplicates kept once)."""
        if text and (not self.past or self.past[-1] != text):
            self.past.append(text)
        self._cursor = len(self.past)
        self._draft = ""

    def action_history(self, step: int) -> None:
        """Up/Down: inside a multi-line text move the cursor; from its first (last) line,
        or with completions open, walk the history (the completions)."""
        if self.completion is not None:
            count = len(self.completion.candidates)
            self.selected = (self.selected + step) % count
            self.post_message(self.CompletionsChanged(self.completion.candidates, self.selected))
            return
        row = self.cursor_location[0]
        last = self.document.line_count - 1
        if (step < 0 and row > 0) or (step > 0 and row < last):
            self.action_cursor_up() if step < 0 else self.action_cursor_down()
            return
        if not self.past:
            return
        if self._cursor == len(self.past):
            self._draft = self.text
        self._cursor = max(0, min(len(self.past), self._cursor + step))
        at_end = self._cursor == len(self.past)
        self.value = self._draft if at_end else self.past[self._cursor]

    # ---- completion --------------------------------------------------------------------

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Offer completions for the word being typed."""
        self._set_completion(self._completion_at_cursor())

    def _completion_at_cursor(self) -> Completion | None:
        row, column = self.cursor_location
        before = self.document.get_line(row)[:column]
        word_start = max(before.rfind(" "), before.rfind("\t")) + 1
        word = before[word_start:]
        if row == 0 and word_start == 0 and word.startswith("/"):
            found = [c for c in self.commands if c.startswith(word.lower()) and c != word]
        elif word.startswith("@") and self._paths is not None:
            typed = word[1:]
            paths = self._paths()
            found = [p for p in paths if p.startswith(typed) and p != typed]
            if not found and typed:  # no prefix match: any path containing what was typed
                found = [p for p in paths if typed in p and p != typed]
            found = ["@" + p for p in found]
        else:
            return None
        if not found:
            return None
        return Completion(word_start, tuple(found[:MAX_COMPLETIONS]))

    def _set_completion(self, completion: Completion | None) -> None:
        if completion == self.completion:
            return
        self.completion = completion
        self.selected = 0
        candidates = completion.candidates if completion else ()
        self.post_message(self.CompletionsChanged(candidates, 0))

    def action_complete(self) -> None:
        """Tab: replace the word at the cursor with the chosen candidate."""
        current = self._completion_at_cursor()
        if current is None or self.completion is None or current != self.completion:
            self._set_completion(current)
        completion = self.completion
        if completion is None:
            return
        choice = completion.candidates[self.selected]
        row, column = self.cursor_location
        suffix = "" if choice.endswith("/") else " "
        self.replace(choice + suffix, (row, completion.start), (row, column))
        self._set_completion(None)
