"""CoderApp: wires the agent session, the bridge and the screens; owns the global keys.

The agent runs in a thread worker (`Session.run` blocks); its events arrive as messages from
`bridge.TuiEventSink` and its questions as modal screens pushed by `bridge.TuiApprover`.
At start, when the embedded model is the provider and its weights are missing, the app offers
to install them (`screens.install`).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from coder import config, trust
from coder.config import Settings
from coder.errors import CoderError, UsageError
from coder.events import Finished
from coder.providers import weights
from coder.providers.weights import ModelSpec
from coder.tui import commands
from coder.tui.bridge import (
    AgentEvent,
    DiffApplied,
    DrainStream,
    StreamReady,
    TuiApprover,
    TuiEventSink,
    Waiting,
)
from coder.tui.screens.install import InstallOutcome, InstallScreen
from coder.tui.screens.main import MainScreen
from coder.tui.screens.run_diff import RunDiffScreen
from coder.tui.screens.trust import TrustScreen
from coder.tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from coder.approval import Approver
    from coder.protocols import EventSink
    from coder.session import Session
    from coder.workspace import Workspace

SessionFactory = Callable[["Settings", "EventSink", "Approver"], "Session"]
QUIT_WINDOW_S = 2.0
STREAM_BATCH_S = 0.15
"""How long streamed fragments may wait to be drawn together."""
PATHS_TTL_S = 5.0
"""How long the list of files `@path` completes from is kept."""
FIRST_TASK_POLL_S = 0.2
"""How often `coder TASK` looks whether the questions at start are answered."""


def _build_session(settings: Settings, sink: EventSink, approver: Approver) -> Session:
    from coder.session import build_session

    return build_session(settings, sink, approver)


class CoderApp(App[int]):
    """The TUI around one coding session in one repository."""

    CSS_PATH = "app.tcss"
    TITLE = "coder"
    BINDINGS = [
        Binding("escape", "interrupt", "interrupt"),
        Binding("shift+tab", "cycle_approval", "approval mode", priority=True),
        Binding("ctrl+c", "quit_twice", "quit (twice)", priority=True),
        Binding("ctrl+o", "run_diff", "diff of the run"),
    ]

    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory | None = None,
        model_spec: ModelSpec = weights.QWEN_CODER_1_5B,
        task: str | None = None,
    ) -> None:
        super().__init__()
        self._first_task = task
        """`coder TASK`: started once no question (trust, install) is open."""
        if settings.approval is None:
            settings = replace(settings, approval="suggest")
        self.settings = settings
        self.sink = TuiEventSink(self)
        self.approver = TuiApprover(
            self,
            settings.approval or "suggest",
            settings.allowed_commands,
            settings.repo,
            self.sink,
        )
        self.agent_running = False
        self._factory = session_factory or _build_session
        self._session: Session | None = None
        self._session_lock = threading.Lock()
        self._carried_ledger: Any = None
        self._last_ctrl_c = 0.0
        self._drain_scheduled = False
        self._paths: tuple[float, list[str]] | None = None
        self._browse: Workspace | None = None
        self._fragments_seen = 0
        self.model_spec = model_spec
        """The embedded model's weights that the install screen offers (tests pass tiny ones)."""

    # ---- wiring ------------------------------------------------------------------------

    def get_default_screen(self) -> MainScreen:
        return MainScreen(
            self.settings.model_name,
            self.approver.mode,
            str(self.settings.repo),
            commands=sorted(commands.COMMANDS),
            paths=self.repository_paths,
        )

    def repository_paths(self) -> list[str]:
        """The files an `@path` may name (secret files left out); listed at most every few
        seconds while the user types."""
        now = time.monotonic()
        if self._paths is None or now - self._paths[0] > PATHS_TTL_S:
            ws = self._browsing()
            try:
                listed = [p for p in ws.list_files() if not ws.is_secret(p)]
            except CoderError:
                listed = []
            self._paths = (now, listed)
        return self._paths[1]

    def _browsing(self) -> Workspace:
        """The repository as the prompt's completion and the first lines read it (the same
        guard and secret deny-list as the session's)."""
        from coder.workspace import Workspace

        if self._browse is None:
            self._browse = Workspace(self.settings.repo, secret_files=self.settings.secret_files)
        return self._browse

    def tree_changed(self) -> None:
        """After /undo or /redo: the check tally described another tree."""
        self._on_ui(self.main_screen.forget_checks)

    def quit(self) -> None:
        """/exit, /quit: stop the agent, leave."""
        self.stop_agent()
        self.exit(0)

    @property
    def main_screen(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def _drawable_screen(self) -> MainScreen | None:
        """The main screen while its widgets stand; None once the app shuts down, when
        messages still queued (an agent's last event) arrive after the widgets are gone."""
        if not self.screen_stack or self._exit:
            return None
        screen = self.main_screen
        return screen if screen.standing() else None

    @property
    def current_model(self) -> str:
        """The model the next turn uses."""
        return self.settings.model_name

    def has_session(self) -> bool:
        """Whether the session has been built."""
        return self._session is not None

    def get_session(self) -> Session:
        """The session, built on first use; blocks (imports, git), so call it from a worker."""
        with self._session_lock:
            if self._session is None:
                session = self._factory(self.settings, self.sink, self.approver)
                if self._carried_ledger is not None:
                    session.adopt(self._carried_ledger)
                self._session = session
            return self._session

    def start_over(self) -> None:
        """New conversation on the next task; /undo and /diff keep covering the old edits."""
        with self._session_lock:
            if self._session is not None:
                self._carried_ledger = self._session.ledger or self._carried_ledger
            self._session = None
        self.main_screen.forget_checks()
        status = self.main_screen.status
        status.turn = status.prompt_tokens = status.completion_tokens = 0
        status.cost_usd = None

    def model_changed(self, name: str) -> None:
        """Later sessions and the status bar use `name`."""
        self.settings = replace(self.settings, model=name)
        self._on_ui(lambda: setattr(self.main_screen.status, "model", name))

    def checks_changed(self, commands_: list[str]) -> None:
        """Later sessions use these checks."""
        self.settings = replace(self.settings, checks=tuple(commands_), checks_source="flag")
        self._on_ui(self.main_screen.forget_checks)

    # ---- the embedded model's weights ---------------------------------------------------

    def on_mount(self) -> None:
        # After the first refresh the main screen's transcript exists to take a notice.
        self.call_after_refresh(self._check_trust)
        self.call_after_refresh(self._check_local_model)
        self.call_after_refresh(self._show_instructions)
        if self._first_task:  # after the questions above have been put on screen
            self.call_after_refresh(self._start_first_task)

    async def _show_instructions(self) -> None:
        """The first lines name the project instructions the model will read."""
        from coder.instructions import find

        subdir = self.settings.focus[0] if self.settings.focus else None
        try:
            found = find(self._browsing(), subdir, limit_chars=1 << 20)
        except CoderError:
            return
        if found:
            names = ", ".join(item.source for item in found)
            await self.main_screen.transcript.add_notice(f"project instructions: {names}")

    async def _start_first_task(self) -> None:
        if len(self.screen_stack) > 1:  # a question is open: its answer decides the settings
            self.set_timer(FIRST_TASK_POLL_S, self._start_first_task)
            return
        task, self._first_task = self._first_task, None
        if task:
            await self.submit(task)

    # ---- trust in the repository's .coder.toml -----------------------------------------

    async def _check_trust(self) -> None:
        """Ask once per repository (per config content) whether its .coder.toml is trusted."""
        repo = self.settings.repo
        if not self.settings.ignored_keys:
            return
        if trust.was_declined(repo, self.settings.project_config_digest):
            for warning in self.settings.warnings:
                await self.main_screen.transcript.add_notice(warning, "warning")
            return
        path = str(repo / trust.CONFIG_NAME)
        self.push_screen(TrustScreen(path, self.settings.ignored_values), self._trust_answered)

    async def _trust_answered(self, trusted: bool | None) -> None:
        repo = self.settings.repo
        transcript = self.main_screen.transcript
        if not trusted:
            trust.decline(repo, self.settings.project_config_digest)
            for warning in self.settings.warnings:
                await transcript.add_notice(warning, "warning")
            return
        trust.trust(repo, self.settings.project_config_digest)  # the bytes the prompt showed
        keys = ", ".join(self.settings.ignored_keys)
        approval = self.approver.mode
        reloaded = config.load(self.settings.flags, repo=repo)
        if reloaded.approval is None:
            reloaded = replace(reloaded, approval=approval)
        self.settings = reloaded
        self.approver.mode = reloaded.approval or approval
        self.approver.allowed_commands = (
            *reloaded.allowed_commands,
            *trust.remembered_commands(repo),
        )
        self.main_screen.status.approval = self.approver.mode
        await transcript.add_notice(
            f"trusted {repo / trust.CONFIG_NAME}: it may now set {keys}; "
            "if it changes, coder asks again"
        )

    async def _check_local_model(self) -> None:
        """Before the first task: can the embedded model run? Cheap checks, no model load."""
        if self.settings.provider_name != "local":
            return
        problem: str | None = None
        if importlib.util.find_spec("llama_cpp") is None:
            from coder.providers import get_provider

            try:  # the provider names the missing package before it looks at any weights
                get_provider(self.settings)
            except UsageError as exc:
                problem = str(exc)
        elif self.settings.model_path is not None:
            try:
                weights.require_model_path(self.settings.model_path)
            except UsageError as exc:
                problem = str(exc)
        elif weights.installed_model_path(self.model_spec) is None:
            self.offer_model_install()
        if problem:
            await self.main_screen.transcript.add_notice(problem, "warning")

    def offer_model_install(self, start: bool = False) -> str:
        """Open the install screen (`start`: install at once) unless the weights are installed;
        returns a line for the transcript."""
        installed = weights.installed_model_path(self.model_spec)
        if installed is not None:
            return f"the embedded model's weights are installed and verified: {installed}"
        self.push_screen(InstallScreen(self.model_spec, start=start), self._model_install_ended)
        return "installing the embedded model's weights (Esc cancels)"

    async def _model_install_ended(self, outcome: InstallOutcome | None) -> None:
        transcript = self.main_screen.transcript
        if outcome is None or outcome.status == "declined":
            await transcript.add_notice(
                "the embedded model's weights are not installed: "
                "/install (or `coder model install`) installs them",
                "warning",
            )
        elif outcome.status == "installed":
            self.notify("model installed", timeout=4, markup=False)
            await transcript.add_notice(
                f"model installed: {outcome.detail} (size and sha256 verified)"
            )
        elif outcome.status == "cancelled":
            await transcript.add_notice(
                "model install cancelled: nothing was kept; /install starts it again", "warning"
            )
        else:
            line = " ".join(outcome.detail.split())
            self.notify(
                line, title="model install failed", severity="error", timeout=8, markup=False
            )
            await transcript.add_notice(f"model install failed: {line}", "warning")

    def _on_ui(self, fn: Callable[[], object]) -> None:
        if threading.get_ident() == self._thread_id:
            fn()
        else:
            self.call_from_thread(fn)

    # ---- agent events ------------------------------------------------------------------

    async def _drain_stream(self) -> None:
        screen = self._drawable_screen()
        if screen is None:
            return  # shutting down: nothing left to draw on
        fragments = self.sink.fragments
        if fragments > self._fragments_seen:
            screen.status.streamed(fragments - self._fragments_seen)
            self._fragments_seen = fragments
        for item in self.sink.take_stream():
            if isinstance(item, Waiting):
                self._show_waiting(item)
            elif isinstance(item, DiffApplied):
                block = screen.transcript.newest_tool()
                if block is not None:
                    block.show_applied(item.diff)
            else:
                await screen.show_event(item)

    @on(StreamReady)
    def _stream_ready(self, message: StreamReady) -> None:
        # Streamed text and live output are drawn in batches: a repaint of a busy screen
        # costs tens of milliseconds, so one per fragment would starve the event loop.
        if not self._drain_scheduled:
            self._drain_scheduled = True
            self.set_timer(STREAM_BATCH_S, lambda: self.post_message(DrainStream()))

    @on(DrainStream)
    async def _scheduled_drain(self, message: DrainStream) -> None:
        # A message, not the timer's own task: drains and agent events then take turns in
        # the app's queue, so a message never ends while its earlier fragments are half drawn.
        self._drain_scheduled = False
        await self._drain_stream()

    def _show_waiting(self, item: Waiting) -> None:
        screen = self.main_screen
        block = screen.transcript.newest_tool()
        if block is not None:
            block.set_waiting(item.waiting)
        if self.agent_running:
            screen.status.state = "waiting for you" if item.waiting else "working"
        if item.ask is not None:
            item.ask()

    @on(AgentEvent)
    async def _agent_event(self, message: AgentEvent) -> None:
        await self._drain_stream()  # the event itself is drawn there, in its place
        screen = self._drawable_screen()
        if isinstance(message.event, Finished) and screen is not None:
            screen.status.state = "idle"

    # ---- input -------------------------------------------------------------------------

    @on(PromptInput.Submitted)
    async def _submitted(self, message: PromptInput.Submitted) -> None:
        prompt = self.main_screen.prompt
        prompt.clear()
        await self.submit(message.value)

    async def submit(self, value: str) -> None:
        """What Enter does with the prompt's text: a /command, guidance, or a task."""
        text = value.strip()
        if not text:
            return
        self.main_screen.prompt.remember(text)
        if text.startswith("/"):
            await self.run_slash_command(text)
        elif self.agent_running:
            self.get_session().steer(text)
            await self.main_screen.transcript.add_user(text, "guidance")
            await self.main_screen.transcript.add_notice("the model reads this at its next turn")
        else:
            self.start_task(text)
            await self.main_screen.transcript.add_user(text)

    def start_task(self, text: str) -> None:
        """Run the agent on `text` (a new task or a follow-up) in a thread worker."""
        self.agent_running = True
        self.main_screen.status.state = "working"
        self.main_screen.status.activity = "model"
        self.run_worker(
            partial(self._run_agent, text),
            name="agent",
            group="agent",
            thread=True,
            exit_on_error=False,
        )

    def _run_agent(self, text: str) -> Any:
        return self.get_session().run(text)

    async def run_slash_command(self, line: str) -> None:
        """Run one `/command`; slow ones go to a thread worker."""
        command, name, arg = commands.parse(line)
        screen = self.main_screen
        if command is None:
            await screen.transcript.add_notice(
                f"unknown command {name}: /help lists them", "warning"
            )
            return
        if command.idle_only and self.agent_running:
            await screen.transcript.add_notice(
                f"{name} waits until the agent stops (Esc interrupts it)", "warning"
            )
            return
        if command.blocking:
            self.run_worker(
                partial(command.handler, self, arg),
                name=name,
                group="command",
                thread=True,
                exit_on_error=False,
            )
        else:
            await self._show_reply(command.handler(self, arg))

    async def _show_reply(self, reply: commands.Reply) -> None:
        screen = self._drawable_screen()
        if screen is None:
            return
        if reply.clear:
            await screen.transcript.clear()
        await screen.show_reply(reply.title, reply.body, reply.kind)

    @on(Worker.StateChanged)
    async def _worker_changed(self, message: Worker.StateChanged) -> None:
        worker, state = message.worker, message.state
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        screen = self._drawable_screen()
        if screen is None:
            return  # shutting down: nothing left to draw on
        if worker.group == "agent":
            self.agent_running = False
            screen.status.state = "idle"
        if state == WorkerState.ERROR:
            error = worker.error
            text = str(error)
            if not isinstance(error, CoderError):
                text = f"{type(error).__name__}: {error}"
            elif text == weights.INSTALL_HINT:
                text += " or type /install"
            await screen.transcript.add_notice(f"error: {text}", "warning")
        elif state == WorkerState.SUCCESS and worker.group == "command":
            reply = worker.result
            assert isinstance(reply, commands.Reply)
            await self._show_reply(reply)

    # ---- keys --------------------------------------------------------------------------

    async def action_interrupt(self) -> None:
        """Esc: stop the current model turn or command; the tree stays consistent."""
        if not self.agent_running or self._session is None:
            return
        self._session.interrupt()
        self.approver.cancel_pending()
        self.main_screen.status.state = "interrupting"
        await self.main_screen.transcript.add_notice("interrupting…")

    async def action_run_diff(self) -> None:
        """Ctrl+O: the last run's whole diff, from its report."""
        report = self.main_screen.last_report
        if report is None:
            self.notify("no run has ended yet", timeout=2)
            return
        files = len(report["files"])
        title = f"the run's changes: {files} file(s) · {report['outcome']} · Esc closes"
        await self.push_screen(RunDiffScreen(str(report["diff"]), title))

    def action_cycle_approval(self) -> None:
        """Shift+Tab: suggest → auto-edit → full-auto → suggest."""
        mode = self.approver.cycle()
        self.main_screen.status.approval = mode
        self.notify(f"approval mode: {mode}", timeout=2)

    def action_quit_twice(self) -> None:
        """Ctrl+C: the first press warns, a second within two seconds quits."""
        now = time.monotonic()
        if now - self._last_ctrl_c <= QUIT_WINDOW_S:
            self.stop_agent()
            self.exit(0)
            return
        self._last_ctrl_c = now
        self.notify("press Ctrl+C again to quit", timeout=QUIT_WINDOW_S)

    def stop_agent(self) -> None:
        """Interrupt the agent and answer open questions, so its thread can end."""
        if self._session is not None and self.agent_running:
            self._session.interrupt()
        self.approver.cancel_pending()

    async def on_unmount(self) -> None:
        self.stop_agent()
