"""TrustScreen: asks once whether a repository's `.coder.toml` may set what it sets."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from coder.textsafe import printable

KEY_HINTS = "y trust this repository · n keep ignoring those keys"


class TrustScreen(ModalScreen[bool]):
    """The config file, what it would set (keys and values), and two answers."""

    BINDINGS = [
        Binding("y", "answer(True)", "trust"),
        Binding("n", "answer(False)", "don't trust"),
        Binding("escape", "answer(False)", "don't trust"),
    ]

    DEFAULT_CSS = """
    TrustScreen { align: center middle; }
    TrustScreen > Vertical {
        width: 90%; height: auto; border: thick $warning; background: $surface; padding: 0 1;
    }
    TrustScreen #trust-keys { margin: 1 0; text-style: bold; }
    TrustScreen #trust-hints { color: $accent; }
    """

    def __init__(self, config_path: str, values: tuple[tuple[str, str], ...]) -> None:
        super().__init__()
        self.config_path = config_path
        self.values = values
        """(key, value) pairs, the ones that decide where the API key goes and what runs first."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content(
                    f"{printable(self.config_path)} is not trusted yet. Until you trust it, "
                    "coder ignores what it sets beyond narrowing your limits (it could send "
                    "your API key elsewhere or run commands):"
                )
            )
            lines = [f"{printable(key)} = {printable(value)}" for key, value in self.values]
            yield Static(Content("\n".join(lines)), id="trust-keys")
            yield Static(
                Content("Trust holds for the file as it is now; if it changes, coder asks again.")
            )
            yield Static(Content(KEY_HINTS), id="trust-hints")
        yield Footer()

    def action_answer(self, trusted: bool) -> None:
        """Trust (True) or keep ignoring (False)."""
        self.dismiss(trusted)
