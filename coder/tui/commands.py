"""Slash commands: an explicit table from name to handler, plus the text of /help.

A handler takes the host (the app, seen through `CommandHost`) and the argument string and
returns a `Reply` for the transcript. Handlers marked `blocking` may build the session, run
git or render the repo map, so the app runs them in a thread worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from coder.session import Session


@dataclass(frozen=True)
class Reply:
    """What a command shows: a title and a body (plain text or a diff)."""

    title: str
    body: str = ""
    kind: str = "text"
    """text (literal), diff (highlighted unified diff) or notice (one line, no body)."""
    clear: bool = False
    """Clear the transcript before showing it."""


class CommandHost(Protocol):
    """What commands may use of the app."""

    agent_running: bool

    @property
    def current_model(self) -> str:
        """The model the next turn uses."""
        ...

    def get_session(self) -> Session:
        """The session, built on first use (may block: call from a worker)."""
        ...

    def has_session(self) -> bool:
        """Whether a session exists yet (without building one)."""
        ...

    def start_over(self) -> None:
        """Forget the conversation (the next task starts a new one); keep the checkpoint."""
        ...

    def model_changed(self, name: str) -> None:
        """Record a model switch (status bar, later sessions)."""
        ...

    def checks_changed(self, commands: list[str]) -> None:
        """Record new check commands (later sessions)."""
        ...

    def offer_model_install(self, start: bool = False) -> str:
        """Open the weights install screen unless installed; a line saying which it did."""
        ...

    def tree_changed(self) -> None:
        """The tree changed outside a run (undo, redo): what the checks said no longer holds."""
        ...

    def quit(self) -> None:
        """Stop the agent and leave the app."""
        ...


Handler = Callable[[CommandHost, str], Reply]


@dataclass(frozen=True)
class Command:
    """One slash command."""

    usage: str
    help: str
    handler: Handler
    blocking: bool = True
    """Runs in a thread worker (touches the session, git or the repo map)."""
    idle_only: bool = False
    """Refused while the agent is working (it would change the tree under it)."""


def _help(host: CommandHost, arg: str) -> Reply:
    lines = [f"{cmd.usage:<14} {cmd.help}" for cmd in COMMANDS.values()]
    lines += [
        "",
        "Enter          send a task; while the agent works, send guidance it reads next turn",
        "Ctrl+J         a new line (also Alt+Enter, Shift+Enter, or \\ then Enter)",
        "Tab            complete a /command or an @path (an @path puts that file in context)",
        "Esc            interrupt the current model turn or command",
        "Shift+Tab      cycle approval mode: suggest → auto-edit → full-auto",
        "Up / Down      walk through what you typed before",
        "Ctrl+O         the whole diff of the last run",
        "Ctrl+C twice   quit (or /exit, /quit)",
        "",
        "In a diff review: y approve hunk, n reject hunk, a approve all,",
        "e edit the hunk in $EDITOR then approve it, r reject with a comment, Esc reject the rest.",
    ]
    return Reply("help", "\n".join(lines))


def _undo(host: CommandHost, arg: str) -> Reply:
    if not host.has_session():
        return Reply("nothing to undo: the agent has not run yet", kind="notice")
    reply = host.get_session().undo()
    host.tree_changed()
    return Reply(reply, kind="notice")


def _redo(host: CommandHost, arg: str) -> Reply:
    reply = host.get_session().redo()
    host.tree_changed()
    return Reply(reply, kind="notice")


def _quit(host: CommandHost, arg: str) -> Reply:
    host.quit()
    return Reply("bye", kind="notice")


def _diff(host: CommandHost, arg: str) -> Reply:
    diff = host.get_session().session_diff() if host.has_session() else ""
    if not diff.strip():
        return Reply("no changes in this session", kind="notice")
    return Reply("changes this session", diff, kind="diff")


def _model(host: CommandHost, arg: str) -> Reply:
    name = arg.strip()
    if not name:
        return Reply(f"model: {host.current_model}", kind="notice")
    if host.has_session():
        host.get_session().set_model(name)
    host.model_changed(name)
    return Reply(f"model set to {name} for the following turns", kind="notice")


def _checks(host: CommandHost, arg: str) -> Reply:
    session = host.get_session()
    command = arg.strip()
    if not command:
        shown = ", ".join(session.checks.commands) or "none"
        return Reply(f"checks: {shown} ({session.checks_source})", kind="notice")
    session.set_checks([command])
    host.checks_changed([command])
    return Reply(f"checks set to: {command}", kind="notice")


def _cost(host: CommandHost, arg: str) -> Reply:
    if not host.has_session():
        return Reply("no tokens used yet", kind="notice")
    totals = host.get_session().usage_totals
    cost = "unknown (no price for this model)"
    if totals.cost_usd is not None:
        cost = f"${totals.cost_usd:.4f}"
    body = (
        f"prompt tokens      {totals.prompt_tokens} ({totals.cached_tokens} cached)\n"
        f"completion tokens  {totals.completion_tokens}\n"
        f"cost               {cost}"
    )
    return Reply("cost of this conversation", body)


def _map(host: CommandHost, arg: str) -> Reply:
    text = host.get_session().repo_map()
    return Reply("repository map", text or "(empty: no source files recognised)")


def _install(host: CommandHost, arg: str) -> Reply:
    return Reply(host.offer_model_install(start=True), kind="notice")


def _resume(host: CommandHost, arg: str) -> Reply:
    from coder import session_log

    session = host.get_session()
    if session.conversation.task is not None:
        return Reply(
            "this session has a conversation already: /resume in a fresh coder", kind="notice"
        )
    recorded = session_log.find(session.workspace.root, arg or None)
    session.resume(recorded)
    task = recorded.task.strip().splitlines()[0] if recorded.task.strip() else "(no task)"
    return Reply(
        f"resumed session {recorded.ident} ({recorded.outcome}): {task} — "
        "type what to do next, or just `continue`",
        kind="notice",
    )


def _clear(host: CommandHost, arg: str) -> Reply:
    host.start_over()
    return Reply(
        "cleared: the next task starts a new conversation (/undo still reverts everything)",
        kind="notice",
        clear=True,
    )


COMMANDS: dict[str, Command] = {
    "/help": Command("/help", "this list", _help, blocking=False),
    "/undo": Command(
        "/undo",
        "take back the agent's changes this session (yours since are kept)",
        _undo,
        idle_only=True,
    ),
    "/redo": Command("/redo", "bring back what the last /undo took back", _redo, idle_only=True),
    "/diff": Command("/diff", "everything the agent changed this session", _diff),
    "/model": Command("/model NAME", "switch model for the following turns", _model),
    "/checks": Command("/checks CMD", "set the check command (no CMD: show it)", _checks),
    "/clear": Command(
        "/clear",
        "clear the transcript and start a new conversation",
        _clear,
        blocking=False,
        idle_only=True,
    ),
    "/cost": Command("/cost", "tokens and cost so far", _cost),
    "/resume": Command(
        "/resume [ID]",
        "carry on a recorded session (the latest without ID; `coder sessions` lists them)",
        _resume,
        idle_only=True,
    ),
    "/map": Command("/map", "the ranked repository map the model sees", _map),
    "/install": Command(
        "/install",
        "install the embedded model's weights (as `coder model install`)",
        _install,
        blocking=False,
    ),
    "/exit": Command("/exit", "leave coder (also /quit)", _quit, blocking=False),
    "/quit": Command("/quit", "leave coder", _quit, blocking=False),
}
"""Every slash command, by name."""


def parse(line: str) -> tuple[Command | None, str, str]:
    """Split `/name arg…` into (command or None if unknown, name, argument)."""
    name, _, arg = line.strip().partition(" ")
    return COMMANDS.get(name.lower()), name, arg.strip()
