"""CommandScreen: asks whether a shell command the model wants to run may run."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from coder.approval import CommandDecision
from coder.textsafe import printable

KEY_HINTS = "y run it · n don't run · r don't run, with a comment for the model"
ALWAYS_HINT = " · a always allow {what} in this repository"


class CommandScreen(ModalScreen[CommandDecision]):
    """The command, literally, and three answers."""

    AUTO_FOCUS = None
    """Keys go to the screen's bindings, not to the (hidden) comment box."""

    BINDINGS = [
        Binding("y", "answer(True)", "run it"),
        Binding("a", "always", "always allow"),
        Binding("n", "answer(False)", "don't run"),
        Binding("r", "comment", "don't run, with comment"),
        Binding("escape", "cancel", "don't run"),
    ]

    DEFAULT_CSS = """
    CommandScreen { align: center middle; }
    CommandScreen > Vertical {
        width: 90%; height: auto; max-height: 80%; border: thick $warning;
        background: $surface; padding: 0 1;
    }
    CommandScreen #command { margin: 1 0; text-style: bold; }
    CommandScreen #confirm-keys { color: $accent; }
    CommandScreen #comment { display: none; }
    CommandScreen #comment.-visible { display: block; }
    """

    def __init__(self, command: str, remember: list[str] | None = None) -> None:
        super().__init__()
        self.command = command
        self.remember = list(remember or [])
        """What "always allow" would add; empty when the command can only be allowed once."""

    def compose(self) -> ComposeResult:
        hints = KEY_HINTS
        if self.remember:
            what = " and ".join(f"`{printable(entry)}`" for entry in self.remember)
            hints += ALWAYS_HINT.format(what=what)
        with Vertical():
            yield Static(Content("The model wants to run a command in the repository:"))
            yield Static(Content("$ " + printable(self.command)), id="command")
            yield Static(Content(hints), id="confirm-keys")
            yield Input(
                placeholder="why not? (Enter sends it to the model)", id="comment", disabled=True
            )
        yield Footer()

    def action_answer(self, approved: bool) -> None:
        """Run (True) or refuse (False) the command."""
        self.dismiss(CommandDecision(approved))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`a` exists only when the command can be remembered."""
        return bool(self.remember) if action == "always" else True

    def action_always(self) -> None:
        """Run it, and never ask again for these commands in this repository."""
        if self.remember:
            self.dismiss(CommandDecision(True, always=tuple(self.remember)))

    def action_comment(self) -> None:
        """Open the comment box; Enter refuses the command with the comment."""
        box = self.query_one("#comment", Input)
        box.disabled = False
        box.add_class("-visible")
        box.focus()

    def action_cancel(self) -> None:
        """Esc: close the comment box if open, else refuse the command."""
        box = self.query_one("#comment", Input)
        if box.has_class("-visible"):
            box.remove_class("-visible")
            box.disabled = True
            self.set_focus(None)
            return
        self.dismiss(CommandDecision(False))

    @on(Input.Submitted, "#comment")
    def _submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self.dismiss(CommandDecision(False, message.value.strip()))
