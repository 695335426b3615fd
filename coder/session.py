"""Composition root: Settings → workspace, provider, tools, conversation, agent, checkpoint.

The only module that names concrete classes. Both faces (headless and TUI) build a
`Session` with `build_session` and call `run`; the TUI also uses the rest of its methods.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from coder import checkpoints, profiles, prompts
from coder import undo as undo_ledger
from coder.agent import Agent, AgentConfig
from coder.approval import Approver
from coder.budgets import Budgets
from coder.checks import CheckRunner, detect
from coder.config import LOCAL_MODEL, Settings
from coder.conversation import Conversation, TokenUsage, UserText
from coder.errors import CoderError, Interrupted, UsageError
from coder.events import CheckResult, Notice, Plan, Report, SessionStarted, ToolOutput
from coder.executables import changed_executables
from coder.instructions import Instructions, is_instructions_path
from coder.instructions import find as find_instructions
from coder.instructions import render as render_instructions
from coder.limits import Limits
from coder.mentions import mentioned_paths, with_mentioned_files
from coder.meter import Meter
from coder.proof import is_test_path
from coder.protocols import EventSink, FanOutSink, Provider
from coder.providers import get_provider
from coder.repomap import RepoMap, focus_terms
from coder.report import RunReport, check_rows, file_changes
from coder.results import CheckRun, Outcome
from coder.routing import Router, ladder
from coder.sandbox import Sandbox, refused_passthrough
from coder.secrets import Redactor
from coder.secretscan import repository_secrets, secret_files_in
from coder.session_log import Recorded, Recorder, SessionLog
from coder.sinks import RedactingSink
from coder.textsafe import valid_utf8
from coder.tools import ToolContext, registry
from coder.undo import Ledger
from coder.workspace import Workspace

__all__ = ["Outcome", "Session", "build_session"]
RESUMED_SETTINGS = ("profile", "reasoning_effort", "weak_model", "route", "max_turns")
"""What a session record keeps for `coder resume` to apply again (when no flag says
otherwise); never an endpoint, a key, the approval mode or the sandbox."""
TEST_KINDS = ("passed", "failed", "error", "skipped")
MAX_DIFF_FILE = 1 << 20
"""A changed file larger than this (bytes) is named in the report's diff, never read into it."""
INSTRUCTION_CHARS_PER_MAP_TOKEN = 4
"""The project instructions may take as many characters as the repo map has tokens, times
this (16,000 with the default profile, 4,096 with the small one)."""


@dataclass(frozen=True)
class UsageTotals:
    """Token and cost totals of a session."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: float | None


class Session:
    """One user session in one repository: a conversation that may span several runs."""

    def __init__(
        self, settings: Settings, sink: EventSink, approver: Approver, provider: Provider
    ) -> None:
        self.settings = settings
        root = settings.repo.resolve()
        secret_paths = secret_files_in(root, settings.secret_files)
        self.redactor = Redactor.for_session(
            settings.api_key, known=repository_secrets(root, secret_paths)
        )
        self.recorder = Recorder(Conversation(), self.clean)
        """Appends every step to the session record (`.git/coder/sessions/ID.log`)."""
        watchers: list[EventSink] = [self.recorder]
        if isinstance(provider, Router):  # it learns of failing checks from the events
            watchers.append(provider)
            provider.notify = lambda message: self.sink.emit(Notice(message))
        self.sink: EventSink = RedactingSink(
            FanOutSink(sink, *watchers), self.clean, self.redactor.holds_partial_block
        )
        sink = self.sink
        sandbox = Sandbox(
            settings.repo.resolve(),
            settings.sandbox,
            settings.sandbox_network,
            settings.env_passthrough,
            secret_files=settings.secret_files,
            read_secrets=settings.read_secrets,
            secret_paths=secret_paths,
            limits=Limits(
                settings.limit_processes,
                settings.limit_memory_mb,
                settings.limit_file_size_mb,
                settings.limit_cpu_s,
                settings.limit_tmp_mb,
            ),
        )
        self.workspace = Workspace(settings.repo, sandbox, settings.secret_files)
        checkpoints.latest(self.workspace)  # refuses a non-git directory before any work
        sandbox.probe()  # a sandbox that cannot start refuses the session, loudly
        if settings.checks:
            commands, self.checks_source = list(settings.checks), settings.checks_source
        else:
            commands, reason = detect(self.workspace)
            self.checks_source = f"detected: {reason}"
        self.provider = provider
        if settings.max_cost is not None and self._price(TokenUsage(1, 1)) is None:
            raise UsageError(
                f"--max-cost: the price of {provider.model} is not known; add it under "
                f'[prices."{provider.model}"] (input, cached-input, output per 1M tokens) in '
                "~/.config/coder/config.toml"
            )
        self.conversation = Conversation(clean=self.clean)
        self.ledger: Ledger | None = None
        """What the agent changed this session (and the checkpoint it started from)."""
        self._started = False
        self.report: RunReport | None = None
        """The last run's report."""
        self.map = RepoMap(self.workspace)
        cancel = threading.Event()
        self.checks = CheckRunner(
            self.workspace,
            commands,
            settings.check_timeout_s,
            cancel,
            on_output=lambda text: sink.emit(ToolOutput(self.ctx.call_id, text)),
            on_result=self._check_result,
            time_budget_s=settings.time_budget_s,
        )
        self.ctx = ToolContext(
            ws=self.workspace,
            approver=approver,
            checks=self.checks,
            command_timeout_s=settings.command_timeout_s,
            on_output=lambda call_id, text: sink.emit(ToolOutput(call_id, text)),
            on_notice=lambda message: sink.emit(Notice(message)),
            on_plan=lambda steps: sink.emit(Plan(steps)),
            cancel=cancel,
            repo_map=self.map,
            protect_tests=settings.protect_tests,
        )
        local = settings.provider_name == "local" or getattr(provider, "local_first", False)
        info = None if local or settings.profile != "auto" else provider.model_info()
        name, self.profile_reason = profiles.choose(settings.profile, local, info)
        self.profile = profiles.build(name, self.ctx, settings.repo_map_tokens)
        self.repo_map_tokens = self.ctx.repo_map_tokens = self.profile.repo_map_tokens
        config = AgentConfig(
            max_turns=settings.max_turns,
            model_timeout_s=settings.model_timeout_s,
            max_repeats=settings.max_repeats,
            budgets=Budgets(settings.time_budget_s, settings.max_cost, settings.max_tokens),
        )
        self.meter = Meter(self._price)
        self.agent = Agent(
            provider,
            self.profile,
            registry(self.profile.tools),
            self.ctx,
            sink,
            self.conversation,
            config,
            self.meter,
        )

    def _check_result(self, run: CheckRun) -> None:
        sandbox = run.sandbox.to_dict() if run.sandbox else None
        counts = None
        if run.tests is not None:
            counts = {kind: list(run.tests.values()).count(kind) for kind in TEST_KINDS}
        event = CheckResult(
            run.command, run.passed, run.exit_code, run.output, run.seconds, sandbox, run.phase
        )
        self.sink.emit(replace(event, tests=counts))

    def clean(self, text: str) -> str:
        """What any text must pass before a model, JSON Lines or a screen sees it."""
        return self.redactor.redact(valid_utf8(text))

    def _price(self, usage: TokenUsage) -> float | None:
        from coder.providers.usage import cost_usd

        return cost_usd(self.provider.model, usage, self.settings.prices)

    def run(self, task: str) -> Outcome:
        """Run the agent on `task` (blocking); later calls continue the conversation."""
        self._began_ns = time.time_ns()
        edited_instructions: list[str] = []
        if self.ledger is None:
            edited_instructions = self._instructions_left_by_the_agent()
            self.adopt(Ledger.start(self.workspace))
        assert self.ledger is not None
        if self.recorder.log is None:
            start = {
                "task": task,
                "model": self.provider.model,
                "provider": self.settings.provider_name,
                "profile": self.profile.name,
                "checkpoint": self.ledger.checkpoint.ref,
                "settings": {name: getattr(self.settings, name) for name in RESUMED_SETTINGS}
                | {"checks": list(self.checks.commands)},
            }
            log = SessionLog.create(self.workspace.root, str(self.ledger.data["id"]), start)
            self.recorder.attach(log, self.conversation)
            self._cache_key(str(self.ledger.data["id"]))
        if not self._started:
            self._started = True
            resumed = self.conversation.task is not None  # its prompt prefix is in it already
            found = [] if resumed else self._add_instructions()
            self.sink.emit(
                SessionStarted(
                    task=task,
                    repo=str(self.workspace.root),
                    model=self.provider.model,
                    provider=self.settings.provider_name,
                    checks=list(self.checks.commands),
                    checks_source=self.checks_source,
                    checkpoint=self.ledger.checkpoint.ref,
                    sandbox=self.workspace.sandbox.state.to_dict(),
                    profile=self.profile.name,
                    profile_reason=self.profile_reason,
                    instructions=[item.source for item in found],
                )
            )
            for warning in self._warnings():
                self.sink.emit(Notice(warning, "warning"))
            for path in edited_instructions:
                self.sink.emit(
                    Notice(
                        f"{path} was written by coder's agent in an earlier session and is "
                        "read into this prompt as project conventions: review it "
                        "(`git diff`, or `coder undo`)",
                        "warning",
                    )
                )
            if not self.checks.commands:
                self.sink.emit(
                    Notice("no checks: finish will be accepted without tests", "warning")
                )
            if not resumed:
                self._add_repo_map(task)
        self.checks.start_baseline()  # beside the first model turn: it adds no wait
        first = self.conversation.task is None
        if first and self.profile.shows_named_files:
            mentioned = mentioned_paths(task, self.workspace)
        else:
            task, mentioned = with_mentioned_files(task, self.workspace)
        if mentioned:
            self.sink.emit(Notice(f"in the model's context with the task: {', '.join(mentioned)}"))
        started = time.monotonic()
        outcome = self.agent.run(task)
        self.report = self._report(outcome, time.monotonic() - started)
        self.sink.emit(Report(self.report.to_dict(), self.report.one_line()))
        return outcome

    def _report(self, outcome: Outcome, seconds: float) -> RunReport:
        """The run report: the agent's changes (from the ledger), the proof, the cost."""
        assert self.ledger is not None
        ledger = self.ledger

        def shown(state: undo_ledger.State | None) -> bytes | int | None:
            size = ledger.size(state)
            return size if size is not None and size > MAX_DIFF_FILE else ledger.content(state)

        changed = {
            path: (shown(before), shown(after))
            for path, (before, after) in ledger.changed().items()
            if not undo_ledger.regenerable(path)
        }
        files, diff = file_changes(changed, {p for p in changed if self.workspace.is_secret(p)})
        tests_edited = any(f.test for f in files)
        checks = self.checks
        final = checks.final()
        try:  # the report shows the tree as it is: runs that saw an older one do not count
            if final is None and checks.commands and outcome.status != "interrupted":
                final = checks.run()
            if tests_edited and not checks.current("restored") and final is not None:
                checks.run_with_original_tests()
        except Interrupted:
            pass
        rows, proof = check_rows(checks.commands, checks.baseline, final)
        executables, cut = changed_executables(self.workspace.root, self._began_ns)
        restored = checks.restored if tests_edited and checks.current("restored") else None
        meter = self.meter
        return RunReport(
            outcome=outcome.status,
            exit_code=outcome.exit_code,
            summary=outcome.summary,
            turns=outcome.turns,
            model=self.provider.model,
            profile=self.profile.name,
            seconds=seconds,
            time_budget_s=self.settings.time_budget_s,
            models=dict(meter.turns_by_model),
            files=files,
            diff=diff,
            checks=rows,
            proof=proof,
            original_tests=(
                [{"command": r.command, "passed": r.passed, "failing": r.failing} for r in restored]
                if restored is not None
                else None
            ),
            tokens={
                "prompt": meter.prompt_tokens,
                "cached": meter.cached_tokens,
                "completion": meter.completion_tokens,
                "reasoning": meter.reasoning_tokens,
            },
            cost_usd=meter.cost,
            sandbox=self.workspace.sandbox.state.to_dict(),
            executables=executables,
            executables_complete=not cut,
        )

    def _warnings(self) -> list[str]:
        """What the user must hear at the start: ignored config, an unconfined sandbox."""
        warnings = list(self.settings.warnings)
        if self.settings.sandbox == "off":
            warnings.append(
                "--sandbox off: the model's commands run unconfined, with your permissions, "
                "network and files"
            )
        refused = refused_passthrough(self.settings.env_passthrough)
        if refused:
            warnings.append(
                f"env-passthrough: {', '.join(refused)} look(s) secret and are never passed "
                "to commands"
            )
        return warnings

    def _instructions_left_by_the_agent(self) -> list[str]:
        """Instruction files the latest earlier session's agent changed, still as it left them."""
        previous = Ledger.latest(self.workspace, "active")
        if previous is None:
            return []
        left = []
        for path, (_, after) in previous.changed().items():
            if not is_instructions_path(path) or after is None:
                continue
            try:
                current = self.workspace.read_bytes(path)
            except CoderError:
                continue
            if previous.content(after) == current:
                left.append(path)
        return sorted(left)

    def _add_instructions(self) -> list[Instructions]:
        """AGENTS.md and kin, nearest first, into the stable prefix before the repo map."""
        subdir = self.settings.focus[0] if self.settings.focus else None
        found = find_instructions(
            self.workspace, subdir, INSTRUCTION_CHARS_PER_MAP_TOKEN * self.repo_map_tokens
        )
        text = render_instructions(found)
        if text:
            self.conversation.set_section("instructions", UserText(text))
        for item in found:
            if item.cut:
                self.sink.emit(Notice(f"{item.source}: cut short to fit the prompt", "warning"))
        return found

    def _add_repo_map(self, task: str) -> None:
        """Put the ranked map before the task; it stays fixed, a stable cached prefix."""
        text = self.repo_map([*self.settings.focus, *focus_terms(task)])
        if self.map.notice:
            self.sink.emit(Notice(self.map.notice, "warning"))
        if text.strip():
            body = prompts.render("repo_map", self.profile.prompt_variant, repo_map=text)
            self.conversation.set_section("repo_map", UserText(body))

    def repo_map(self, focus: list[str] | None = None) -> str:
        """The rendered repo map (ranked around `focus` and the files edited so far)."""
        self.map.refresh()
        return self.map.render(self.repo_map_tokens, [*(focus or []), *self.ctx.edited_paths])

    def interrupt(self) -> None:
        """Stop the current model turn or command soon (thread-safe)."""
        self.ctx.cancel.set()

    def steer(self, text: str) -> None:
        """Queue guidance for the model's next turn (thread-safe)."""
        self.agent.steer(text)

    def adopt(self, ledger: Ledger) -> None:
        """Record the agent's changes in `ledger` from now on (a new or a carried one)."""
        self.ledger = ledger
        self.workspace.observer = ledger
        found: dict[str, str] = {}

        def baseline(path: str) -> str | None:
            if not found:
                tree = ledger.checkpoint.tree
                found.update({p: sha for p, (sha, _) in ledger.store.entries(tree).items()})
            return found.get(path)

        self.ctx.baseline = baseline
        self.checks.original_tests = lambda: ledger.originals(
            lambda path: is_test_path(path) and not undo_ledger.regenerable(path)
        )

    def resume(self, recorded: Recorded) -> None:
        """Carry on the recorded session: its conversation, its undo ledger (so undo goes
        back to the same checkpoint) and its record, appended to."""
        if recorded.conversation is None:
            raise UsageError(f"session {recorded.ident} recorded no conversation to resume")
        conversation = Conversation.from_dict(recorded.conversation)
        conversation.clean = self.clean
        self.conversation = self.agent.conversation = conversation
        self.adopt(Ledger.load(self.workspace, recorded.ident))
        self.recorder.attach(SessionLog(recorded.path), conversation)
        self._cache_key(recorded.ident)
        turns = sum(1 for item in conversation.turns if item.role == "assistant")
        self.sink.emit(Notice(f"resuming session {recorded.ident} after {turns} model turn(s)"))

    def _cache_key(self, ident: str) -> None:
        """One prompt-cache key per session, the same after a resume (OpenAI groups cached
        prompt prefixes by it; a provider without one keeps none)."""
        if getattr(self.provider, "cache_key", None) is not None:
            self.provider.cache_key = f"coder-{ident}"  # type: ignore[attr-defined]

    def undo(self) -> str:
        """Take back what the agent changed this session (never the user's later edits)."""
        if self.ledger is None:
            return "nothing to undo: the agent has not run in this session"
        report = self.ledger.undo()
        self.ledger = None
        self.workspace.observer = None
        return report.summary()

    def redo(self) -> str:
        """Bring back what the last undo took back."""
        return undo_ledger.redo(self.workspace).summary("redone")

    def session_diff(self) -> str:
        """Everything changed since this session's checkpoint, as a unified diff."""
        if self.ledger is None:
            return ""
        return checkpoints.diff_since(self.workspace, self.ledger.checkpoint)

    def set_model(self, name: str) -> None:
        """Switch model (same provider kind) for the following turns."""
        from dataclasses import replace

        self.settings = replace(self.settings, model=name)
        self.provider = get_provider(self.settings)
        self.agent.provider = self.provider

    def set_checks(self, commands: list[str]) -> None:
        """Replace the check commands (their baseline runs with the next task)."""
        self.checks.replace(commands)
        self.checks_source = "user"

    @property
    def usage_totals(self) -> UsageTotals:
        """Tokens and cost so far."""
        meter = self.meter
        return UsageTotals(
            meter.prompt_tokens, meter.completion_tokens, meter.cached_tokens, meter.cost
        )


def build_session(settings: Settings, sink: EventSink, approver: Approver) -> Session:
    """Build a session from settings: the provider (or the router between two) is chosen
    here."""
    strong = get_provider(settings)
    route = settings.route or ("auto" if settings.weak_model else "off")
    if route == "off":
        return Session(settings, sink, approver, strong)
    weak = get_provider(weak_settings(settings)) if settings.weak_model else None
    router = Router(ladder(weak, strong, settings.reasoning_effort), lambda message: None)
    router.local_first = weak is not None and weak_settings(settings).provider_name == "local"
    return Session(settings, sink, approver, router)


def weak_settings(settings: Settings) -> Settings:
    """The settings of the weak model: `local` is the embedded one; otherwise the same
    endpoint as the strong model unless `weak-base-url` says another."""
    if settings.weak_model in ("local", LOCAL_MODEL):
        return replace(settings, model=None, api="local", base_url=None, api_key=None)
    return replace(
        settings,
        model=settings.weak_model,
        base_url=settings.weak_base_url or settings.base_url,
        reasoning_effort=None,
    )
