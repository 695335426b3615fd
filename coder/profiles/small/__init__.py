"""The small-model profile: what makes a 1.5B model (embedded, or behind any server) work.

- the files shown with the issue (`context`), in the stable prompt prefix;
- whole-file edits as code blocks after a path line, read from the answer by `protocol`;
  an answer with code ends with `finish`, so the checks run after every edit;
- after a dead end, one retry message instead of the failed answer (`retry`), sampled
  hotter; a worse attempt is put back to the best one;
- a refused `finish` narrowed first (`narrow`): hunks whose take-back makes fewer tests
  fail are dropped by the checks, not by another model turn.
"""

from __future__ import annotations

import os

from coder import prompts
from coder.checks import describe_runs, failing_count
from coder.conversation import AssistantTurn, Conversation, ToolSpec, UserText
from coder.errors import UsageError
from coder.profiles.small.context import read_source, repo_context, repo_files
from coder.profiles.small.narrow import narrow
from coder.profiles.small.protocol import PROTOCOLS, read_answer, render_json_system, render_tools
from coder.profiles.small.retry import (
    Attempt,
    attempts,
    best,
    dead_ends,
    retry_text,
    retry_view,
    written_paths,
)
from coder.protocols import Refusal, View
from coder.results import CheckRun, Sampling
from coder.tools import ToolContext

TOOLS = ("read_file", "list_files", "search", "write_file", "run_checks", "finish")
MAX_ANSWER_TOKENS = 2048
"""A whole fixed file fits; a runaway answer does not cost minutes on a CPU."""
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

    def head(self, task: str, checks: str, tools: list[ToolSpec]) -> tuple[str, UserText]:
        """The short system prompt with its tool lines; the files, then the issue."""
        if self.protocol == "json":
            system = render_json_system(tools)
        else:
            system = prompts.render("system", "small").rstrip() + "\n\n" + render_tools(tools)
        shown: dict[str, str] = {}
        context = repo_context(self.ws, task, record=shown)
        issue = prompts.render("task", "small", task=task, checks=checks).strip()
        return system, UserText(context + "\n\n" + issue, data={"shown": shown})

    def view(self, conversation: Conversation) -> View:
        """The head and the latest retry message; greedy first, then hotter and reseeded."""
        answers = sum(1 for item in conversation.turns if isinstance(item, AssistantTurn))
        stop = ("<tool_response>",)
        if answers == 0:
            sampling = Sampling(0.0, top_k=1, max_tokens=MAX_ANSWER_TOKENS, stop=stop)
        else:
            temperature = RETRY_TEMPERATURES[(answers - 1) % len(RETRY_TEMPERATURES)]
            sampling = Sampling(
                temperature, top_k=40, seed=answers, max_tokens=MAX_ANSWER_TOKENS, stop=stop
            )
        return View(retry_view(conversation), sampling, native_tools=False)

    def interpret(self, turn: AssistantTurn, tools: list[ToolSpec]) -> AssistantTurn:
        """Code blocks as writes, `<tool_call>` and Python-style calls, finish after code."""
        sources = [name for name in repo_files(self.ws) if name.endswith(".py")]
        prefix = f"call_{id(turn) % 100000}"
        return read_answer(turn, tools, self.protocol, self._current, sources, prefix)

    def no_calls(self, turn: AssistantTurn, conversation: Conversation) -> UserText:
        """A dead end: the retry message, built on the best attempt so far."""
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
        return UserText(text, kind="retry", data={"attempt": None})

    def finish_refused(self, runs: list[CheckRun], conversation: Conversation) -> Refusal:
        """Narrow the attempt; if it still fails, record it, keep the best, and retry."""
        note, runs = self._narrow(runs)
        if runs and all(run.passed for run in runs):
            return Refusal(runs, note)
        failures = prompts.render("finish_refused", "small", failures=describe_runs(runs))
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
            undone_to = earlier.index(chosen) + 1
            for path, text in chosen.files.items():
                if text is not None and text != attempt.files.get(path):
                    self.ws.write_text(path, text)  # an ordinary edit: undo takes it back
                    self.ctx.saw(path, text.encode("utf-8"))
        text = retry_text(
            dead_ends(conversation) + 1,
            self._shown(conversation),
            chosen.files,
            chosen.failures,
            undone_to,
            no_code=False,
        )
        follow_up = UserText(text, kind="retry", data={"attempt": attempt.to_data()})
        return Refusal(runs, note, follow_up)

    def _narrow(self, runs: list[CheckRun]) -> tuple[str, list[CheckRun]]:
        """Take back the hunks whose removal makes fewer tests fail; (note, final runs)."""
        start = failing_count(runs)
        originals = {p: t for p, t in self.ctx.originals.items() if t is not None}
        if start is None or not originals:
            return "", runs

        def failing() -> int | None:
            return failing_count(self.ctx.checks.run(quiet=True))

        dropped, _ = narrow(originals, self.ws.read_text, self.ws.write_text, failing, start)
        if not dropped:
            return "", runs
        where = ", ".join(f"{d.path} line {d.line}" for d in dropped)
        note = f"Took back your change at {where}: the tests fail less without it."
        return note, self.ctx.checks.run()

    def _shown(self, conversation: Conversation) -> dict[str, str]:
        task = conversation.task
        data = task.data if task is not None and task.data else {}
        return dict(data.get("shown", {}))

    def _written(self, conversation: Conversation) -> set[str]:
        return written_paths(conversation)

    def _current(self, path: str) -> str | None:
        return read_source(self.ws, path)
