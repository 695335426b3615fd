"""The agent loop: model turn → tool calls → observations → … until `finish` passes the checks.

`Agent.run(task)` returns an `Outcome`; the control exceptions of coder.errors end a run
and are mapped to outcomes in `run` (and outcomes to exit codes in `errors.EXIT_CODES`).
The agent never knows who is watching (it emits events and asks the approver through the
tools) nor how large the model is: the `Profile` decides what the model is offered, what
the provider sees and how a refused `finish` is answered.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, replace

from coder import prompts
from coder.budgets import Budgets
from coder.checks import describe_runs, failing_count
from coder.compaction import Compactor, state_note
from coder.conversation import Conversation, SystemText, ToolCall, ToolResultItem, UserText
from coder.errors import (
    EXIT_CODES,
    BudgetExhausted,
    FinishRequested,
    Interrupted,
    ProviderError,
    RepeatedCall,
)
from coder.events import (
    AssistantDelta,
    AssistantMessage,
    Compacted,
    Finished,
    Notice,
    ToolCalled,
    ToolResult,
)
from coder.meter import Meter
from coder.protocols import EventSink, Profile, Provider, Refusal
from coder.repeats import RepeatGuard
from coder.results import CheckRun, Outcome, ToolOutcome
from coder.tools import ToolContext, ToolRegistry
from coder.turns import ask


@dataclass
class AgentConfig:
    """Knobs of the loop."""

    max_turns: int = 30
    """Model turns per run before it stops."""
    model_timeout_s: float = 600.0
    """Longest one model call may take, the SDK's retries included."""
    max_repeats: int = 3
    """The same call this many times in a row, with nothing changed, is not run again."""
    budgets: Budgets = Budgets()
    """Time per run, tokens and cost per session (see `coder.budgets`)."""


class Agent:
    """Runs tasks against a provider with a profile's tools, emitting events to a sink."""

    def __init__(
        self,
        provider: Provider,
        profile: Profile,
        tools: ToolRegistry,
        ctx: ToolContext,
        sink: EventSink,
        conversation: Conversation,
        config: AgentConfig,
        meter: Meter | None = None,
    ) -> None:
        self.provider, self.profile, self.tools, self.ctx = provider, profile, tools, ctx
        self.sink, self.conversation, self.config = sink, conversation, config
        self.meter = meter or Meter()
        self.turns = 0
        self.compactor = Compactor(provider.context_window)
        self.repeats = RepeatGuard(config.max_repeats)
        self._steering: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._task = ""
        self._failures = ""

    def steer(self, text: str) -> None:
        """Queue user guidance for the next turn boundary (thread-safe)."""
        self._steering.put(text)

    def run(self, task: str) -> Outcome:
        """Work on `task` until finished, out of budget, interrupted or failing."""
        self.ctx.cancel.clear()
        self.ctx.originals.clear()  # this run's edits are measured from here
        self.ctx.deadline = self.config.budgets.deadline()
        self._add_task(task)
        limit = self.turns + self.config.max_turns
        try:
            while True:
                self.step(limit)
        except FinishRequested as done:
            return self._end("passed", done.summary)
        except BudgetExhausted as spent:
            runs = self.ctx.run_checks() if self.ctx.checks.commands else []
            if runs and all(run.passed for run in runs) and not self._tests_edited_to_pass():
                return self._end("passed", "The checks pass (the model did not call finish).")
            why = str(spent) or f"Turn budget of {self.config.max_turns} spent."
            return self._end("budget_exhausted", why)
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
                "steer", self.profile.prompt_variant, guidance=self._steering.get()
            )
            self.conversation.append(UserText(text, kind="steer"))
        self._compact_if_needed()
        left = self.ctx.time_left()
        next_prompt = int(self.conversation.char_count() / self.compactor.chars_per_token)
        self.config.budgets.before_call(left, self.meter, next_prompt)
        timeout_s, on_timeout = self.config.budgets.call_limit(left, self.config.model_timeout_s)
        specs = self.tools.specs()
        turn = ask(
            self.provider,
            lambda: self.profile.view(self.conversation),
            self.conversation,
            specs,
            self.ctx.cancel,
            self._on_delta,
            lambda message: self.sink.emit(Notice(message, "warning")),
            timeout_s,
            on_timeout,
        )
        self.ctx.checks.ready()  # a check that cannot start ends the run before any edit
        turn = self.profile.interpret(turn, specs, self.conversation)
        self.turns += 1
        self.compactor.calibrate(turn.usage.prompt_tokens, self.conversation.char_count())
        self.conversation.append(turn)
        self.sink.emit(AssistantMessage(turn.text, self.turns))
        self.sink.emit(self.meter.add(self.turns, turn.usage, self.provider.model))
        if not turn.tool_calls:
            self.conversation.append(self.profile.no_calls(turn, self.conversation))
            return
        for index, call in enumerate(turn.tool_calls):
            try:
                self._execute(call)
            except (Interrupted, FinishRequested):
                for skipped in turn.tool_calls[index + 1 :]:
                    self._answer(
                        skipped, ToolOutcome("error", "not run: the turn ended before this call")
                    )
                raise

    def _compact_if_needed(self) -> None:
        state = state_note(self._task, self.ctx.edited_paths, self._failures)
        done = self.compactor.compact(self.conversation, self.conversation.char_count(), state)
        if done is not None and (done.items or done.characters):
            self.sink.emit(Compacted(done.items, done.characters, self.compactor.window))

    def _execute(self, call: ToolCall) -> None:
        self.sink.emit(ToolCalled(call.id, call.name, call.arguments))
        refused = self.repeats.check(call, self.ctx.ws.generation)
        if refused:
            self._answer(call, ToolOutcome("error", refused))
            return
        commands_before = self.ctx.ws.commands_run
        try:
            outcome = self.tools.dispatch(self.ctx, call)
        except Interrupted:
            self._answer(call, ToolOutcome("error", "interrupted by the user"), commands_before)
            raise
        except FinishRequested:
            self._finish(call, commands_before)
            return
        if outcome.failing is not None or call.name == "run_checks":
            self._failures = outcome.text
        self._answer(call, outcome, commands_before)

    def _finish(self, call: ToolCall, commands_before: int) -> None:
        """`finish` was called: it stands only if the checks pass (raises FinishRequested)."""
        runs = self.ctx.run_checks()
        passed = all(run.passed for run in runs)
        refusal = Refusal(runs) if passed else self.profile.finish_refused(runs, self.conversation)
        if all(run.passed for run in refusal.runs):
            cheat = self._tests_edited_to_pass()
            if cheat:
                text = prompts.render("tests_protected", failures=describe_runs(cheat))
                self._answer(call, ToolOutcome("finish_refused", text), commands_before)
                return
            text = f"finished: all checks pass. {refusal.note}".strip()
            self._answer(call, ToolOutcome("finished", text, 0), commands_before)
            raise FinishRequested(str(call.arguments.get("summary", "")))
        self._failures = failures = describe_runs(refusal.runs)
        text = prompts.render("finish_refused", self.profile.prompt_variant, failures=failures)
        text = f"{refusal.note}\n\n{text}" if refusal.note else text
        outcome = ToolOutcome("finish_refused", text, failing_count(refusal.runs))
        self._answer(call, outcome, commands_before)
        if refusal.follow_up is not None:
            self.conversation.append(refusal.follow_up)

    def _tests_edited_to_pass(self) -> list[CheckRun]:
        """With protect_tests: the failing runs of the checks with the original tests."""
        original = self.ctx.checks.run_with_original_tests() if self.ctx.protect_tests else []
        return original if original and not all(r.passed for r in original) else []

    def _answer(self, call: ToolCall, outcome: ToolOutcome, commands_before: int = -1) -> None:
        ran = commands_before >= 0 and self.ctx.ws.commands_run > commands_before
        sandbox = self.ctx.ws.sandbox.state.to_dict() if ran else None
        item = ToolResultItem(call.id, call.name, outcome.text, outcome.status, outcome.failing)
        self.conversation.append(item)
        result = ToolResult(call.id, call.name, outcome.ok, outcome.text, sandbox, outcome.status)
        self.sink.emit(replace(result, failing=outcome.failing))

    def _add_task(self, task: str) -> None:
        if self.conversation.task is None and not self.conversation.turns:
            self._task = task
            checks = ", ".join(f"`{c}`" for c in self.ctx.checks.commands) or "none configured"
            system, item = self.profile.head(task, checks, self.tools.specs())
            if self.conversation.system is None:
                self.conversation.set_section("system", SystemText(system))
            self.conversation.set_section("task", item)
        else:
            text = prompts.render("follow_up", self.profile.prompt_variant, task=task)
            self.conversation.append(UserText(text))

    def _on_delta(self, text: str) -> None:
        self._check_interrupt()
        self.sink.emit(AssistantDelta(text))

    def _check_interrupt(self) -> None:
        if self.ctx.cancel.is_set():
            self.ctx.cancel.clear()
            raise Interrupted("Interrupted by the user.")

    def _end(self, status: str, summary: str) -> Outcome:
        outcome = Outcome(status, EXIT_CODES[status], summary, self.turns)
        self.sink.emit(Finished(status, outcome.exit_code, summary, self.turns))
        return outcome
