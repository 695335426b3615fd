"""The agent loop: model turn → tool calls → observations → … until `finish` passes the checks.

`Agent.run(task)` returns an `Outcome`; the control exceptions of coder.errors end a run
and are mapped to outcomes in one table here. The agent never knows who is watching: it
only emits events and asks the approver (through the tools).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from coder import prompts
from coder.cancellable import run_cancellable
from coder.checks import CheckRun, describe_runs, failing_count, run_check
from coder.conversation import (
    AssistantTurn,
    Conversation,
    TokenUsage,
    ToolCall,
    ToolResultItem,
    UserText,
)
from coder.diff import parse_patch
from coder.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PROVIDER,
    BudgetExhausted,
    CoderError,
    ContextOverflow,
    FinishRequested,
    Interrupted,
    ProviderError,
    RepeatedCall,
)
from coder.events import (
    AssistantDelta,
    AssistantMessage,
    CheckResult,
    Finished,
    Notice,
    ToolCalled,
    ToolResult,
    Usage,
)
from coder.narrow import narrow
from coder.protocols import EventSink, Provider
from coder.textsafe import map_strings, valid_utf8
from coder.tools import ToolContext, ToolRegistry

EXIT_CODES = {
    "passed": EXIT_OK,
    "failed": EXIT_FAILED,
    "budget_exhausted": EXIT_FAILED,
    "interrupted": EXIT_FAILED,
    "error": EXIT_PROVIDER,
}
"""The one table from outcome to exit code."""
COMPACTION_STEPS = ((6, 400), (2, 150), (0, 60))
"""(turns kept whole, characters kept of older tool outputs) tried in turn on an overflow."""


@dataclass(frozen=True)
class Outcome:
    """How a run ended."""

    status: str
    """passed, failed, budget_exhausted, interrupted or error."""
    exit_code: int
    summary: str
    turns: int


@dataclass
class AgentConfig:
    """Knobs of the loop."""

    max_turns: int = 30
    """Model turns per run before it stops."""
    prompt_variant: str | None = None
    """Prompt file variant (e.g. "small" for the embedded model)."""
    check_after_edit: bool = False
    """Run the checks after every applied edit and append the result (helps small models)."""
    narrow_failed_edits: bool = False
    """When the checks refuse `finish`, take back each hunk of this run's edits whose removal
    makes fewer tests fail (helps small models, which bundle needless rewrites)."""
    model_timeout_s: float = 600.0
    """Longest one model call may take, the SDK's retries included."""
    max_repeats: int = 3
    """The same call this many times in a row, with nothing changed, is not run again."""


def valid_turn(turn: AssistantTurn) -> AssistantTurn:
    """The model's turn with any lone surrogate (from a JSON `\\ud800`) escaped, so it can be
    sent back and written to JSON Lines."""
    text = valid_utf8(turn.text)
    calls = tuple(
        replace(call, arguments=map_strings(call.arguments, valid_utf8)) for call in turn.tool_calls
    )
    if text == turn.text and calls == turn.tool_calls:
        return turn
    return replace(turn, text=text, tool_calls=calls)


class Agent:
    """Runs tasks against a provider with a tool registry, emitting events to a sink."""

    def __init__(
        self,
        provider: Provider,
        tools: ToolRegistry,
        ctx: ToolContext,
        sink: EventSink,
        conversation: Conversation,
        config: AgentConfig,
        price: Callable[[TokenUsage], float | None] = lambda usage: None,
    ) -> None:
        self.provider, self.tools, self.ctx, self.sink = provider, tools, ctx, sink
        self.conversation, self.config, self.price = conversation, config, price
        self.turns = 0
        self.totals = [0, 0, 0]
        self.cost: float | None = None
        self._steering: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._last_call: tuple[str, str] | None = None
        self._last_generation = -1
        self._same_calls = 0
        ctx.run_check_commands = lambda: describe_runs(self.run_checks())

    def steer(self, text: str) -> None:
        """Queue user guidance for the next turn boundary (thread-safe)."""
        self._steering.put(text)

    def run(self, task: str) -> Outcome:
        """Work on `task` until finished, out of budget, interrupted or failing."""
        self.ctx.cancel.clear()
        self._originals: dict[str, str] = {}
        """Files this run edits, as they were before its first edit of each."""
        self._add_task(task)
        limit = self.turns + self.config.max_turns
        try:
            while True:
                self.step(limit)
        except FinishRequested as done:
            return self._end("passed", done.summary)
        except BudgetExhausted:
            runs = self.run_checks() if self.ctx.checks else []
            if runs and all(run.passed for run in runs):
                return self._end("passed", "The checks pass (the model did not call finish).")
            return self._end("budget_exhausted", f"Turn budget of {self.config.max_turns} spent.")
        except Interrupted as stop:
            return self._end("interrupted", str(stop) or "Interrupted by the user.")
        except RepeatedCall as stuck:
            return self._end("failed", str(stuck))
        except ProviderError as exc:
            return self._end("error", str(exc))

    def step(self, limit: int) -> None:
        """One model turn and the tool calls it makes."""
        self._check_interrupt()
        if self.turns >= limit:
            raise BudgetExhausted()
        while not self._steering.empty():
            text = prompts.render(
                "steer", self.config.prompt_variant, guidance=self._steering.get()
            )
            self.conversation.append(UserText(text))
        turn = valid_turn(self._ask_model())
        self.turns += 1
        self.conversation.append(turn)
        self.sink.emit(AssistantMessage(turn.text, self.turns))
        self._account(turn.usage)
        if not turn.tool_calls:
            names = ", ".join(spec.name for spec in self.tools.specs())
            hint = prompts.render("no_tool_call", self.config.prompt_variant, tools=names)
            self.conversation.append(UserText(hint))
            return
        for index, call in enumerate(turn.tool_calls):
            try:
                self._execute(call)
            except (Interrupted, FinishRequested):
                for skipped in turn.tool_calls[index + 1 :]:
                    self._answer(skipped, False, "not run: the turn ended before this call")
                raise

    def _ask_model(self) -> AssistantTurn:
        """The provider's next turn; a context overflow compacts the conversation and asks again."""
        steps = list(COMPACTION_STEPS)
        while True:
            try:
                return self._call_model()
            except ContextOverflow as exc:
                removed = 0
                while steps and not removed:
                    keep_last, max_chars = steps.pop(0)
                    removed = self.conversation.compact(keep_last=keep_last, max_chars=max_chars)
                if not removed:
                    raise ProviderError(f"{exc} (compacting did not help)") from None
                self.sink.emit(
                    Notice(
                        f"the conversation was too long for the model: compacted {removed} "
                        "characters of old tool output; asking again",
                        "warning",
                    )
                )

    def _call_model(self) -> AssistantTurn:
        """One provider call: an interrupt returns at once, even before the first token, and
        a call past `model_timeout_s` ends the run (exit 3)."""
        snapshot = replace(self.conversation, turns=list(self.conversation.turns))

        def work(abandoned: threading.Event) -> AssistantTurn:
            def on_delta(text: str) -> None:
                if abandoned.is_set():
                    raise Interrupted("abandoned")
                self._on_delta(text)

            def on_notice(message: str) -> None:
                self.sink.emit(Notice(message, "warning"))

            return self.provider.complete(snapshot, self.tools.specs(), on_delta, on_notice)

        limit = self.config.model_timeout_s
        return run_cancellable(
            work,
            self.ctx.cancel,
            deadline_s=limit,
            on_deadline=lambda: ProviderError(
                f"the model did not answer within {limit:.0f} s (model-timeout-s)"
            ),
        )

    def _execute(self, call: ToolCall) -> None:
        self.sink.emit(ToolCalled(call.id, call.name, call.arguments))
        repeated = self._repeats(call)
        if repeated:
            self._answer(call, False, repeated)
            return
        if self.config.narrow_failed_edits:
            self._remember_originals(call)
        commands_before = self.ctx.ws.commands_run
        try:
            ok, output = self.tools.dispatch(self.ctx, call)
        except Interrupted:
            self._answer(call, False, "interrupted by the user", commands_before)
            raise
        except FinishRequested as request:
            runs = self.run_checks()
            if all(run.passed for run in runs):
                self._answer(call, True, "finished: all checks pass", commands_before)
                raise
            note = ""
            if self.config.narrow_failed_edits:
                note, runs = self._narrow(runs)
                if runs and all(run.passed for run in runs):
                    note = f"finished: all checks pass. {note}".strip()
                    self._answer(call, True, note, commands_before)
                    raise
            failures = describe_runs(runs)
            ok, output = (
                False,
                prompts.render("finish_refused", self.config.prompt_variant, failures=failures),
            )
            output = f"{note}\n\n{output}" if note else output
            del request
        if ok and call.name == "apply_diff" and self.config.check_after_edit and self.ctx.checks:
            output += "\n\n" + describe_runs(self.run_checks())
        self._answer(call, ok, output, commands_before)

    def _repeats(self, call: ToolCall) -> str:
        """Why `call` is not run again (empty: run it): the same call, with the same
        arguments, `max_repeats` times in a row with nothing changed in between."""
        key = (call.name, json.dumps(call.arguments, sort_keys=True, default=str))
        generation = self.ctx.ws.generation
        if key != self._last_call or generation != self._last_generation:
            self._last_call, self._last_generation, self._same_calls = key, generation, 0
        self._same_calls += 1
        if self._same_calls < self.config.max_repeats:
            return ""
        if self._same_calls >= self.config.max_repeats + 2:
            raise RepeatedCall(
                f"the model repeated {call.name} with the same arguments "
                f"{self._same_calls} times and would not change course"
            )
        return (
            f"Not run: you made exactly this {call.name} call {self._same_calls} times in a "
            "row and nothing changed in between, so its result would not change. Do something "
            "different: change the code, look elsewhere, or call finish."
        )

    def _remember_originals(self, call: ToolCall) -> None:
        if call.name == "write_file":
            paths = [str(call.arguments.get("path", ""))]
        elif call.name == "apply_diff":
            try:
                patch = parse_patch(str(call.arguments.get("diff", "")))
            except CoderError:
                return  # the tool will say what is wrong with the diff
            paths = [file.path for file in patch.files]
        else:
            return
        for path in paths:
            if path and path not in self._originals:
                try:
                    self._originals[path] = self.ctx.ws.read_text(path)
                except CoderError:
                    pass  # a new file or a bad path: nothing to take back

    def _narrow(self, runs: list[CheckRun]) -> tuple[str, list[CheckRun]]:
        """Take back the hunks whose removal makes fewer tests fail; (note, final runs)."""
        start = failing_count(runs)
        if start is None or not self._originals:
            return "", runs

        def failing() -> int | None:
            quiet = [
                run_check(self.ctx.ws, c, self.ctx.check_timeout_s, cancel=self.ctx.cancel)
                for c in self.ctx.checks
            ]
            return None if self.ctx.cancel.is_set() else failing_count(quiet)

        dropped, _ = narrow(
            self._originals, self.ctx.ws.read_text, self.ctx.ws.write_text, failing, start
        )
        self._check_interrupt()
        if not dropped:
            return "", runs
        where = ", ".join(f"{d.path} line {d.line}" for d in dropped)
        note = f"Took back your change at {where}: the tests fail less without it."
        return note, self.run_checks()

    def _answer(self, call: ToolCall, ok: bool, output: str, commands_before: int = -1) -> None:
        ran = commands_before >= 0 and self.ctx.ws.commands_run > commands_before
        sandbox = self.ctx.ws.sandbox.state.to_dict() if ran else None
        self.conversation.append(ToolResultItem(call.id, call.name, output))
        self.sink.emit(ToolResult(call.id, call.name, ok, output, sandbox))

    def run_checks(self) -> list[CheckRun]:
        """Run every check command, emitting a CheckResult for each."""
        runs = []
        call_id = self.ctx.call_id
        for command in self.ctx.checks:
            run = run_check(
                self.ctx.ws,
                command,
                self.ctx.check_timeout_s,
                on_output=lambda text: self.ctx.on_output(call_id, text),
                cancel=self.ctx.cancel,
            )
            self._check_interrupt()
            sandbox = run.sandbox.to_dict() if run.sandbox else None
            self.sink.emit(
                CheckResult(command, run.passed, run.exit_code, run.output, run.seconds, sandbox)
            )
            runs.append(run)
        return runs

    def _add_task(self, task: str) -> None:
        checks = ", ".join(f"`{c}`" for c in self.ctx.checks) or "none configured"
        if self.conversation.task is None and not self.conversation.turns:
            text = prompts.render("task", self.config.prompt_variant, task=task, checks=checks)
            self.conversation.set_section("task", UserText(text))
        else:
            text = prompts.render("follow_up", self.config.prompt_variant, task=task)
            self.conversation.append(UserText(text))

    def _on_delta(self, text: str) -> None:
        self._check_interrupt()
        self.sink.emit(AssistantDelta(text))

    def _check_interrupt(self) -> None:
        if self.ctx.cancel.is_set():
            self.ctx.cancel.clear()
            raise Interrupted("Interrupted by the user.")

    def _account(self, usage: TokenUsage) -> None:
        self.totals[0] += usage.prompt_tokens
        self.totals[1] += usage.completion_tokens
        self.totals[2] += usage.cached_tokens
        cost = self.price(usage)
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost
        self.sink.emit(
            Usage(
                self.turns,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cached_tokens,
                self.totals[0],
                self.totals[1],
                self.cost,
            )
        )

    def _end(self, status: str, summary: str) -> Outcome:
        outcome = Outcome(status, EXIT_CODES[status], summary, self.turns)
        self.sink.emit(Finished(status, outcome.exit_code, summary, self.turns))
        return outcome
