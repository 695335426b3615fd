"""The small-model profile: what makes a 1.5B model (embedded, or behind any server) work.

- the files shown with the issue (`context`), in the stable prompt prefix;
- whole-file edits as code blocks after a path line, read from the answer by `protocol`;
  an answer with code ends with `finish`, so the checks run after every edit;
- after a dead end, one retry message instead of the failed answer (`retry`), sampled
  hotter; a worse attempt is put back to the best one; after a retry message drew a repeat
  of known code, the head alone until the next retry message;
- a refused `finish` narrowed first (`narrow`): hunks whose take-back makes fewer tests
  fail are dropped by the checks, not by another model turn; a trial is cut off after ten
  times the attempt's own run (taking back a loop's step makes it endless);
- a test file too long to show whole shown condensed (`spec`), and failures shown as the
  first failing tests' source beside their failure (`failures`);
- candidates judged by the checks in the sandbox before they touch the tree (`candidates`):
  only one that makes fewer tests fail is applied (in a stub where no test passes, one that
  fails no more: a first implementation is built on); a rejected one leaves the prompt as it
  was, so the next is sampled from the cached prefix; the time budget decides how many fit,
  and a candidate whose checks run far longer than the tree's is cut off and rejected;
- an answer no longer than two rewrites of the largest source file (`plan`): a longer one
  is a runaway.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from coder import prompts
from coder.checks import failing_count, nothing_passes
from coder.conversation import AssistantTurn, Conversation, ToolSpec, UserText
from coder.diff import unified_diff
from coder.errors import UsageError
from coder.profiles.small.candidates import (
    Verdict,
    better,
    code_digest,
    judged_in,
    with_files,
    without_test_writes,
    written_files,
)
from coder.profiles.small.context import read_source, repo_context, repo_files
from coder.profiles.small.failures import focused
from coder.profiles.small.narrow import narrow
from coder.profiles.small.plan import TimePlan, answer_cap
from coder.profiles.small.protocol import PROTOCOLS, read_answer, render_json_system, render_tools
from coder.profiles.small.retry import (
    Attempt,
    attempts,
    best,
    dead_ends,
    latest_retry,
    retry_text,
    retry_view,
    same_code,
    written_paths,
)
from coder.profiles.small.spec import stubbed
from coder.proof import is_test_path
from coder.protocols import Refusal, View
from coder.results import CheckRun, Sampling
from coder.tools import ToolContext
from coder.tools.edit import review_and_apply

TOOLS = ("read_file", "list_files", "search", "write_file", "run_checks", "finish")
CANDIDATE_SLOWDOWN = 10
CANDIDATE_MIN_LIMIT_S = 15.0
"""A candidate's checks are cut after `CANDIDATE_SLOWDOWN` times the checks' run on the code
as it was before any answer (the baseline), and no sooner than this many seconds; a
candidate cut off is rejected. (At 30 s, 12 candidates of the exercism list ran to the
cut-off in one run, 6 minutes of its answers' time, and none of those that ended after 15 s
made fewer tests fail than faster ones.)"""
NARROW_MIN_LIMIT_S = 5.0
"""A narrowing trial (an attempt with one hunk taken back) is cut after `CANDIDATE_SLOWDOWN`
times the attempt's own run, and no sooner than this: taking back one line of a loop (its
step) makes it endless, and each such trial cost nth-prime a candidate's cut-off (then 30 s)."""
CLOSED_BLOCK = "\n```\n"
MAX_STOPS = 4
"""OpenAI's API takes at most 4 stop sequences; the least useful are dropped."""
RETRY_TEMPERATURES = (0.8, 1.0)
"""Sampling temperature of retries (cycled): a retry must not be a replay of the failure.
The first answer is greedy; no top_p or min_p, which cut every alternative to a copied line."""


class SmallProfile:
    """See the module docstring and `coder.protocols.Profile`."""

    name = "small"
    tools: tuple[str, ...] = TOOLS
    prompt_variant: str | None = "small"
    shows_named_files = True  # the files named in the issue open the conversation

    def __init__(
        self, ctx: ToolContext, repo_map_tokens: int | None = None, protocol: str | None = None
    ) -> None:
        self.ctx = ctx
        self.ws = ctx.ws
        self.repo_map_tokens = repo_map_tokens or 1024
        self.protocol = protocol or os.environ.get("CODER_LOCAL_PROTOCOL", "blocks")
        if self.protocol not in PROTOCOLS:
            raise UsageError(f"unknown small-model protocol {self.protocol!r}: use {PROTOCOLS}")
        self._judged: dict[str, int | None] = {}
        """Candidate code digest → failing tests, this session (the retry items keep it too)."""
        self._applied: list[Verdict] = []
        """Candidates applied since the last retry item (recorded in the next one)."""
        self._rejected: Verdict | None = None
        """The verdict on the latest answer, when it was not applied."""
        self._tree: tuple[int, int | None] | None = None
        """(workspace generation, failing tests) of the tree put back to the best attempt."""
        self.plan = TimePlan()
        self._fresh = False
        """The next answer is sampled from the head alone (the last one repeated code)."""
        self._viewed_retry: str | None = None
        """The retry message the latest answer was shown (None: the head alone)."""
        self._stale_retry: str | None = None
        """A retry message whose answer repeated code: until the next, the head alone."""
        self._slowest_check = 0.0
        """Seconds of the slowest candidate check run that ended in time (the reference of
        the cut-off where no baseline was run)."""
        self._asked = -1
        """The number of the answer asked for last, counting every answer asked for (never
        fewer than the conversation holds): its sampling seed."""

    def head(self, task: str, checks: str, tools: list[ToolSpec]) -> tuple[str, UserText]:
        """The short system prompt with its tool lines; the files, then the issue. Where a
        source shown is a stub (functions left to implement), the prompt asks for the whole
        implementation instead of the line that causes an issue."""
        shown: dict[str, str] = {}
        context = repo_context(self.ws, task, record=shown)
        if self.protocol == "json":
            system = render_json_system(tools)
        else:
            name = "system_implement" if _has_stubs(shown) else "system"
            system = prompts.render(name, "small").rstrip() + "\n\n" + render_tools(tools)
        issue = prompts.render("task", "small", task=task, checks=checks).strip()
        return system, UserText(context + "\n\n" + issue, data={"shown": shown})

    def view(self, conversation: Conversation) -> View:
        """The head and the latest retry message; greedy first, then hotter and reseeded.
        After a candidate with the same code as one judged before, the head alone: a fresh
        answer from the spec (a small model shown code copies it, however hot); after one
        shown a retry message, the head alone until the next retry message."""
        answers = sum(1 for item in conversation.turns if isinstance(item, AssistantTurn))
        target = self._target(conversation)
        # A retry, or the first answer to a stub, starts inside the target's code block: a
        # stub's first answer left free copied the test file in 5 of 15 exercises.
        prefix = (
            f"{target}\n```python\n"
            if target and (answers or self._implementing(conversation))
            else ""
        )
        # One file to rewrite: its code block closed, the answer is done (what follows is
        # prose or the same code again, ~90 tokens of a first answer, 8 s on a CPU). A free
        # first answer opens its own block, so its stop also wants the blank line after.
        if prefix and target:  # inside the block no tool call starts before the block closes
            stop = (CLOSED_BLOCK, *self._copy_stops(target))
        else:
            closed = (CLOSED_BLOCK + "\n",) if target else ()
            stop = ("<tool_response>", *closed, *self._test_stops())
        stop = stop[:MAX_STOPS]
        max_tokens = answer_cap(self._sources(conversation).values())
        if answers:
            checks = sum(run.seconds for run in self.ctx.checks.last or [])
            max_tokens = min(max_tokens, self.plan.max_tokens(self.ctx.time_left(), checks))
        # Counted here, not from the conversation: dropping old turns to fit the context
        # lowers its count, and the seeds then came round again (bottle-song sampled the
        # same three answers seven times over).
        self._asked = max(self._asked + 1, answers)
        if answers == 0:
            sampling = Sampling(0.0, top_k=1, max_tokens=max_tokens, stop=stop, prefix=prefix)
        else:
            temperature = RETRY_TEMPERATURES[(self._asked - 1) % len(RETRY_TEMPERATURES)]
            sampling = Sampling(
                temperature,
                top_k=40,
                seed=self._asked,
                max_tokens=max_tokens,
                stop=stop,
                prefix=prefix,
            )
        self.plan.asked()
        shown = retry_view(conversation)
        retry = latest_retry(conversation)
        self._viewed_retry = retry.text if retry is not None else None
        stale = self._stale_retry is not None and self._viewed_retry == self._stale_retry
        if self._fresh or stale:
            shown = replace(conversation, turns=[])
            self._viewed_retry = None
        return View(shown, sampling, native_tools=False)

    def _check_limit(self) -> float | None:
        """A candidate's checks may take the time left, and at most `CANDIDATE_SLOWDOWN`
        times the baseline's slowest run (a candidate that loops forever must not spend the
        budget of the candidates after it). Slow candidates that ended in time do not raise
        the limit: each would let the next be slower still (killer-sudoku-helper's
        exponential answers took 9, 23, then 37 s, and narrowing the third ran to the
        budget's end)."""
        left = self.ctx.time_left()
        # A baseline cut off at its timeout says nothing of how long a candidate may take.
        baseline = [run.seconds for run in self.ctx.checks.baseline or [] if not run.timed_out]
        reference = max(baseline) if baseline else self._slowest_check
        limits = [max(left, 1.0)] if left is not None else []
        if reference:
            limits.append(max(CANDIDATE_MIN_LIMIT_S, CANDIDATE_SLOWDOWN * reference))
        return min(limits, default=None)

    def _target(self, conversation: Conversation) -> str | None:
        """The one source file a retry rewrites, when the repository shows only one: its
        answer then starts with that file's code block (no words; they cost seconds and the
        checks ignore them). With several, the model must be free to fix any of them."""
        shown = {path for path in self._shown(conversation) if not is_test_path(path)}
        written = {path for path in self._written(conversation) if not is_test_path(path)}
        names = shown | written
        return next(iter(names)) if len(names) == 1 and next(iter(names)).endswith(".py") else None

    def _copy_stops(self, path: str) -> tuple[str, ...]:
        """Stop sequences that end an answer inside the code block of `path` the moment it
        starts copying a test file (its import of the module, or `unittest`), unless the
        source itself holds them. A copied test file costs a minute of CPU."""
        source = self._current(path) or ""
        marks = (f"from {Path(path).stem} import", "unittest")
        return tuple(mark for mark in marks if mark not in source)

    def _test_stops(self) -> tuple[str, ...]:
        """Stop sequences that end a free answer the moment it starts writing a test file
        (the model is told never to; a copied test file costs a minute of CPU)."""
        tests = [name for name in repo_files(self.ws) if is_test_path(name)]
        if len(tests) != 1:  # the API takes 4 stop sequences: for the one test file only
            return ()
        name = tests[0]
        return (f"{name}\n```", f"# {name}\n", f"`{name}`\n")

    def interpret(
        self, turn: AssistantTurn, tools: list[ToolSpec], conversation: Conversation | None = None
    ) -> AssistantTurn:
        """Code blocks as writes, `<tool_call>` and Python-style calls, finish after code;
        an answer that rewrites files is judged by the checks first (see `candidates`)."""
        self.plan.answered(turn.usage.completion_tokens)
        sources = [name for name in repo_files(self.ws) if name.endswith(".py")]
        prefix = f"call_{id(turn) % 100000}"
        answer = read_answer(turn, tools, self.protocol, self._current, sources, prefix)
        answer = without_test_writes(answer)
        files = written_files(answer)
        self._fresh = False
        if files is None or conversation is None:
            return answer
        digest = code_digest(files)
        known = {**judged_in(conversation), **self._judged}
        if digest in known:
            return self._reject(answer, Verdict(digest, known[digest], repeated=True))
        runs = self.ctx.checks.run_candidate(files, timeout_s=self._check_limit())
        if runs is None:
            return answer  # cannot be judged apart (no sandbox, a new file): apply it
        if any(run.timed_out for run in runs):  # cut off: whatever it fails, it never ends
            self._judged[digest] = None
            return self._reject(answer, Verdict(digest, None))
        self._slowest_check = max([self._slowest_check, *(run.seconds for run in runs)])
        verdict = Verdict(digest, failing_count(runs))
        self._judged[digest] = verdict.failing
        tree = self._tree_failing()
        if not all(run.passed for run in runs) and not better(verdict.failing, tree):
            files, verdict = self._narrowed(files, verdict, self._trial_limit(runs))
        if (
            verdict.failing == 0
            or better(verdict.failing, tree)
            or self._builds_on(verdict, files, conversation)
        ):
            self._applied.append(verdict)
            return with_files(answer, files)
        return self._reject(answer, verdict)

    def _builds_on(
        self, verdict: Verdict, files: dict[str, str], conversation: Conversation
    ) -> bool:
        """A candidate that ties a stub to implement, where no test passes yet, is applied:
        the next answer then repairs it from its own failures. Held back, a near miss (one
        missing attribute) is lost, and every retry restarts from the stub's failures. (A
        bug fix keeps its ties held back: there the checks of a fresh answer decide.)"""
        runs = self.ctx.checks.final()
        return (
            self._implementing(conversation)
            and runs is not None
            and verdict.failing is not None
            and verdict.failing == failing_count(runs)
            and nothing_passes(runs)
            and any(not same_code(path, text, self._current(path)) for path, text in files.items())
        )

    def _reject(self, answer: AssistantTurn, verdict: Verdict) -> AssistantTurn:
        """The answer with its writes held back: the prompt stays as it was."""
        self._rejected = verdict
        self._fresh = verdict.repeated  # the same code again: next, a fresh answer
        if verdict.repeated and self._viewed_retry is not None:
            # Shown its retry message again, the model copies the code it reads there (half
            # the retry answers did): the head alone until a new retry message is written.
            self._stale_retry = self._viewed_retry
        return AssistantTurn(answer.text, (), answer.usage, calls_in_text=True)

    def _trial_limit(self, runs: list[CheckRun]) -> float | None:
        """The cut-off of a narrowing trial of an attempt whose checks ran as `runs`."""
        own = sum(run.seconds for run in runs)
        limit = max(NARROW_MIN_LIMIT_S, CANDIDATE_SLOWDOWN * own)
        cap = self._check_limit()
        return limit if cap is None else min(limit, cap)

    def _narrowed(
        self, files: dict[str, str], verdict: Verdict, limit: float | None
    ) -> tuple[dict[str, str], Verdict]:
        """The candidate with the hunks taken back whose removal makes fewer tests fail, in
        the sandbox (a right fix bundled with a needless break beats the tree once the break
        is dropped); each trial is cut off after `limit` seconds."""
        if verdict.failing is None:
            return files, verdict
        trial = dict(files)
        originals = {path: self._current(path) or "" for path in files}

        def failing() -> int | None:
            return _trial_failing(self.ctx.checks.run_candidate(trial, False, limit))

        start = verdict.failing
        dropped, count = narrow(originals, trial.__getitem__, trial.__setitem__, failing, start)
        if not dropped:
            return files, verdict
        where = ", ".join(f"{d.path} line {d.line}" for d in dropped)
        self.ctx.on_notice(f"took back the model's change at {where}: fewer tests fail without it")
        # reported: what is applied was checked
        runs = self.ctx.checks.run_candidate(trial, timeout_s=self._check_limit())
        narrowed = Verdict(code_digest(trial), failing_count(runs) if runs else count)
        self._judged[narrowed.digest] = narrowed.failing
        return trial, narrowed

    def no_calls(self, turn: AssistantTurn, conversation: Conversation) -> UserText:
        """A dead end: the retry message, built on the best attempt so far; after a rejected
        candidate, the same retry message again (the next answer reuses its cache)."""
        rejected, self._rejected = self._rejected, None
        if rejected is not None:
            data = {"attempt": None, "candidates": self._verdicts(rejected)}
            previous = latest_retry(conversation)
            if previous is not None:
                return UserText(previous.text, kind="retry", data=data)
            runs = self.ctx.checks.final() or []
            text = retry_text(
                1,
                self._shown(conversation),
                {},
                focused(runs, self._current) if runs else "",
                undone_to=None,
                no_code=False,
                rejected=True,
            )
            return UserText(text, kind="retry", data=data)
        found = attempts(conversation)
        chosen = best(found)
        files = (
            chosen.files if chosen else {p: self._current(p) for p in self._written(conversation)}
        )
        text = retry_text(
            dead_ends(conversation) + 1,
            self._shown(conversation),
            files,
            chosen.failures if chosen else "",
            undone_to=None,
            no_code=True,
        )
        return UserText(text, kind="retry", data={"attempt": None, "candidates": self._verdicts()})

    def finish_refused(self, runs: list[CheckRun], conversation: Conversation) -> Refusal:
        """Narrow the attempt; if it still fails, record it, keep the best, and retry."""
        note, runs = self._narrow(runs)
        if runs and all(run.passed for run in runs):
            return Refusal(runs, note)
        failures = prompts.render("finish_refused", "small", failures=focused(runs, self._current))
        failures = f"{note}\n\n{failures}".strip() if note else failures.strip()
        paths = self._written(conversation) | set(self._shown(conversation))
        earlier = attempts(conversation)
        paths |= {path for attempt in earlier for path in attempt.files}
        attempt = Attempt(
            failures, failing_count(runs), {p: self._current(p) for p in sorted(paths)}
        )
        chosen = best([*earlier, attempt]) or attempt
        undone_to = None
        if chosen is not attempt:
            back = {
                path: text
                for path, text in chosen.files.items()
                if text is not None and text != attempt.files.get(path)
            }
            if self._propose(back):  # an ordinary edit: approved, and undo takes it back
                undone_to = earlier.index(chosen) + 1
            else:
                chosen = attempt
        self._tree = (self.ws.generation, chosen.failing)  # what the tree now fails
        text = retry_text(
            dead_ends(conversation) + 1,
            self._shown(conversation),
            chosen.files,
            chosen.failures,
            undone_to,
            no_code=False,
        )
        data = {"attempt": attempt.to_data(), "candidates": self._verdicts()}
        return Refusal(runs, note, UserText(text, kind="retry", data=data))

    def _verdicts(self, *more: Verdict) -> list[dict[str, object]]:
        """The verdicts to record in the next retry item (and forget here)."""
        verdicts, self._applied = [*self._applied, *more], []
        return [verdict.to_data() for verdict in verdicts if not verdict.repeated]

    def _tree_failing(self) -> int | None:
        """Failing tests of the tree as it is now, when a check (or a put-back) says."""
        runs = self.ctx.checks.final()
        if runs is not None:
            return failing_count(runs)
        if self._tree is not None and self._tree[0] == self.ws.generation:
            return self._tree[1]
        return None

    def _narrow(self, runs: list[CheckRun]) -> tuple[str, list[CheckRun]]:
        """Take back the hunks whose removal makes fewer tests fail; (note, final runs)."""
        start = failing_count(runs)
        originals = {p: t for p, t in self.ctx.originals.items() if t is not None}
        if start is None or not originals:
            return "", runs
        limit = self._trial_limit(runs)
        current = {path: self._current(path) for path in originals}
        trial = {path: text for path, text in current.items() if text is not None}
        if len(trial) != len(current):
            return "", runs

        def failing() -> int | None:  # each trial in the sandbox, the tree untouched
            return _trial_failing(self.ctx.checks.run_candidate(trial, False, limit))

        dropped, _ = narrow(originals, trial.__getitem__, trial.__setitem__, failing, start)
        if not dropped:
            return "", runs
        where = ", ".join(f"{d.path} line {d.line}" for d in dropped)
        if not self._propose({p: t for p, t in trial.items() if t != current[p]}):
            return f"Taking back your change at {where} was declined.", runs
        note = f"Took back your change at {where}: the tests fail less without it."
        return note, self.ctx.run_checks()

    def _propose(self, files: dict[str, str]) -> bool:
        """Write `files` (path → text) as any edit is written: one diff the approver
        reviews (`--approval suggest` asks), applied through the workspace (undo records
        it); whether all of it was applied."""
        diff = "".join(
            unified_diff(path, self._current(path), text) for path, text in files.items()
        )
        if not diff:
            return True
        review_and_apply(self.ctx, diff)
        return all(self._current(path) == text for path, text in files.items())

    def _implementing(self, conversation: Conversation) -> bool:
        """Whether a source shown with the issue has functions left to implement."""
        return _has_stubs(self._shown(conversation))

    def _shown(self, conversation: Conversation) -> dict[str, str]:
        task = conversation.task
        data = task.data if task is not None and task.data else {}
        return dict(data.get("shown", {}))

    def _sources(self, conversation: Conversation) -> dict[str, str]:
        """The source files shown with the issue or written since, as they are now."""
        paths = set(self._shown(conversation)) | self._written(conversation)
        found = {path: self._current(path) for path in paths if not is_test_path(path)}
        return {path: text for path, text in found.items() if text is not None}

    def _written(self, conversation: Conversation) -> set[str]:
        return written_paths(conversation)

    def _current(self, path: str) -> str | None:
        return read_source(self.ws, path)


def _trial_failing(runs: list[CheckRun] | None) -> int | None:
    """Failing tests of a narrowing trial; None when it was cut off or not judged."""
    if runs is None or any(run.timed_out for run in runs):
        return None
    return failing_count(runs)


def _has_stubs(files: dict[str, str]) -> bool:
    """Whether a Python source (not a test) among `files` has functions left to implement."""
    return any(
        stubbed(text)
        for path, text in files.items()
        if path.endswith(".py") and not is_test_path(path)
    )
