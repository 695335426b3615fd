"""The tool registry: typed functions whose JSON schema comes from signature and docstring.

A tool is a plain function `(ctx: ToolContext, arg: type, …) -> str | ToolOutcome`. Its
docstring's first line describes it; lines of the form `name: text` describe parameters.
`dispatch` is the one place where a tool's errors become an error outcome for the model.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
import time
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from coder.approval import Approver, CommandDecision, DiffDecision
from coder.checks import CheckRunner
from coder.conversation import ToolCall, ToolSpec
from coder.diff import Patch
from coder.errors import AgentControl, CoderError
from coder.results import CheckRun, ToolOutcome
from coder.workspace import Workspace, head_tail

if TYPE_CHECKING:
    from coder.repomap import RepoMap

MAX_RESULT_CHARS = 40_000
"""Characters of one tool result sent to the model, at most (its head and tail)."""
OVERRUN_S = 30.0
"""A command or check the model causes may run this long past the time budget's end, no
longer (a check that starts as the budget ends still gets to say whether the code passes)."""

_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", bool: "boolean", float: "number"}


@dataclass
class ToolContext:
    """What tools may use: the workspace, the approver, live output and cancellation."""

    ws: Workspace
    approver: Approver
    checks: CheckRunner
    """The project's checks (run_checks and finish run them)."""
    command_timeout_s: float = 120.0
    on_output: Callable[[str, str], None] = lambda call_id, text: None
    """Receives live output chunks of a running command, with the tool call's id."""
    on_notice: Callable[[str], None] = lambda message: None
    """Tells the user something a profile did beside the tools (a change taken back)."""
    on_plan: Callable[[list[dict[str, str]]], None] = lambda steps: None
    """Receives the model's plan (steps with status) each time it updates it."""
    cancel: threading.Event = field(default_factory=threading.Event)
    call_id: str = ""
    """Id of the call being executed (set by dispatch)."""
    edited_paths: list[str] = field(default_factory=list)
    """Files changed by edit tools this session, most recent last."""
    protect_tests: bool = False
    """Refuse edits to test files (`--protect-tests`)."""
    originals: dict[str, str | None] = field(default_factory=dict)
    """Each file's text before the edit tools first changed it since the last reset
    (None: it did not exist); what a small model's failed attempt is narrowed against."""
    repo_map: RepoMap | None = None
    """The repository map, when one could be built."""
    repo_map_tokens: int = 1024
    """Token budget of a rendered map (the profile's)."""
    seen: dict[str, str] = field(default_factory=dict)
    """Per file, the digest of the content the model last read or wrote."""
    baseline: Callable[[str], str | None] = lambda path: None
    """The digest of a file as the session found it (what the model may know unread)."""
    deadline: float | None = None
    """`time.monotonic()` at which the run's time budget ends (None: no time budget)."""

    def time_left(self) -> float | None:
        """Seconds left of the run's time budget (None: no time budget)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def budget_limit(self, timeout_s: float) -> float:
        """`timeout_s` shortened to the time budget's end, `OVERRUN_S` at least: a command or
        check the model causes must not run on for minutes after the budget is spent."""
        left = self.time_left()
        return timeout_s if left is None else min(timeout_s, max(left, OVERRUN_S))

    def run_checks(self) -> list[CheckRun]:
        """The checks' runs, cut off at the time budget's end (see `budget_limit`); the
        baseline's when nothing changed since it ran (the same tree gives the same answer,
        and a suite that hangs is not waited on twice)."""
        checks = self.checks
        if checks.baseline is not None and checks.last is None and checks.current("baseline"):
            return checks.baseline
        return checks.run(timeout_s=self.budget_limit(checks.timeout_s))

    def saw(self, path: str, data: bytes) -> None:
        """Record that the model has seen `path` holding `data`."""
        self.seen[path] = content_digest(data)


def content_digest(data: bytes) -> str:
    """git's blob id of `data`, the digest `seen` and `baseline` compare."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class AutoApprover:
    """Approves every diff and command: headless full-auto mode and tests."""

    def review_diff(self, patch: Patch) -> DiffDecision:
        """Apply every hunk."""
        return DiffDecision(approved_hunks=None)

    def confirm_command(self, command: str) -> CommandDecision:
        """Run every command."""
        return CommandDecision(approved=True)


@dataclass(frozen=True)
class Tool:
    """A registered tool: its spec for the model and the function that runs it."""

    spec: ToolSpec
    function: Callable[..., str | ToolOutcome]


def _json_type(annotation: Any) -> tuple[str, bool]:
    """JSON type name for an annotation, and whether it is optional (`X | None`)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _JSON_TYPES[args[0]], True
    return _JSON_TYPES[annotation], False


def tool(function: Callable[..., str | ToolOutcome]) -> Tool:
    """Build a Tool from a function's signature and docstring."""
    doc = inspect.getdoc(function) or ""
    lines = doc.splitlines()
    described = {}
    for line in lines[1:]:
        name, sep, text = line.strip().partition(":")
        if sep and name.isidentifier():
            described[name] = text.strip()
    hints = typing.get_type_hints(function)
    properties: dict[str, Any] = {}
    required = []
    for name, parameter in list(inspect.signature(function).parameters.items())[1:]:
        json_type, optional = _json_type(hints[name])
        properties[name] = {"type": json_type}
        if name in described:
            properties[name]["description"] = described[name]
        if parameter.default is inspect.Parameter.empty and not optional:
            required.append(name)
    schema = {"type": "object", "properties": properties, "required": required}
    return Tool(ToolSpec(function.__name__, lines[0] if lines else "", schema), function)


class ToolRegistry:
    """An ordered set of tools offered to the model, and their dispatch."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self.tools = {t.spec.name: t for t in tools}

    def specs(self) -> list[ToolSpec]:
        """The specs offered to the model, in registration order."""
        return [t.spec for t in self.tools.values()]

    def dispatch(self, ctx: ToolContext, call: ToolCall) -> ToolOutcome:
        """Run a call; returns its outcome for the model. Control exceptions propagate."""
        found = self.tools.get(call.name)
        if found is None:
            known = ", ".join(self.tools)
            return ToolOutcome("error", f"error: unknown tool {call.name!r}; available: {known}")
        arguments = _coerce_arguments(found.spec, call.arguments)
        if isinstance(arguments, str):
            return ToolOutcome("error", f"error: {arguments}")
        ctx.call_id = call.id
        try:
            result = found.function(ctx, **arguments)
        except CoderError as exc:
            return ToolOutcome("error", f"error: {exc}")
        except AgentControl:
            raise
        except Exception as exc:  # noqa: BLE001 - the one catch-all at the tool boundary
            # A tool's failure is the model's observation, never the end of the run.
            reason = str(exc) or type(exc).__name__
            return ToolOutcome(
                "error", f"error: {call.name} failed ({type(exc).__name__}): {reason}"
            )
        outcome = result if isinstance(result, ToolOutcome) else ToolOutcome("ok", result)
        if len(outcome.text) > MAX_RESULT_CHARS:  # no tool's result is sent whole past this
            outcome = replace(outcome, text=head_tail(outcome.text, MAX_RESULT_CHARS))
        return outcome


def _coerce_arguments(spec: ToolSpec, arguments: dict[str, Any]) -> dict[str, Any] | str:
    """Check arguments against the schema, forgiving what small models get wrong."""
    properties = spec.parameters["properties"]
    out: dict[str, Any] = {}
    for name, value in arguments.items():
        if name not in properties:
            continue  # models invent extra arguments; ignoring them beats failing the call
        kind = properties[name]["type"]
        try:
            if value is None:
                continue
            if kind == "integer" and not isinstance(value, int):
                value = int(str(value).strip())
            elif kind == "number" and not isinstance(value, (int, float)):
                value = float(str(value).strip())
            elif kind == "boolean" and not isinstance(value, bool):
                value = str(value).strip().lower() in {"true", "1", "yes"}
            elif kind == "string" and not isinstance(value, str):
                value = str(value)
        except ValueError:
            return f"argument {name!r} of {spec.name} must be a {kind}, got {value!r}"
        out[name] = value
    missing = [n for n in spec.parameters["required"] if n not in out]
    if missing:
        return f"{spec.name} needs argument(s): {', '.join(missing)}"
    return out


def all_tools() -> list[Tool]:
    """Every tool there is; a profile names those it offers (README documents them)."""
    from coder.tools import checks, context, edit, files, plan, shell

    return [
        files.read_file,
        files.list_files,
        files.search,
        context.repo_map,
        context.find_symbol,
        context.find_references,
        edit.apply_diff,
        edit.write_file,
        shell.run,
        checks.run_checks,
        plan.update_plan,
        checks.finish,
    ]


def registry(names: tuple[str, ...] | list[str]) -> ToolRegistry:
    """The registry of the named tools, in the order given."""
    by_name = {t.spec.name: t for t in all_tools()}
    return ToolRegistry([by_name[name] for name in names])
