"""Candidates judged by the checks: a small model's answer is checked in the sandbox before
it touches the tree, applied only when fewer tests fail, and an answer with the same code as
one already judged is not checked again; a rejected answer leaves the prompt as it was.

A real Session with the small profile against the scripted OpenAI-compatible server, real
pytest checks in the real sandbox, a real git repository.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from coder.checks import CheckRunner
from coder.config import load
from coder.conversation import AssistantTurn, Conversation, TokenUsage, ToolCall, UserText
from coder.errors import BudgetExhausted
from coder.events import CheckResult, Event, Notice, ToolCalled
from coder.profiles import small
from coder.profiles.small.candidates import without_test_writes, written_files
from coder.profiles.small.plan import MAX_ANSWER_TOKENS, MIN_ANSWER_CAP, TimePlan, answer_cap
from coder.providers import get_provider
from coder.results import Sampling
from coder.sandbox import Sandbox
from coder.session import Session
from coder.tools import AutoApprover
from coder.workspace import Workspace
from tests.conftest import CALC_STUB, git
from tests.core.test_run_e2e import CHECK
from tests.profiles.conftest import small_profile

SAME_CODE = "def add(a, b):\n    pass  # todo\n\n\ndef sub(a, b):\n\n    pass\n"
HALF = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a * b\n"
WORSE = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a * b\n"
RIGHT = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


class _Events:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def emit(self, event: Event) -> None:
        self.seen.append(event)

    def writes(self) -> list[str]:
        """The contents the session's write_file calls wrote, in order."""
        return [
            e.arguments["content"]
            for e in self.seen
            if isinstance(e, ToolCalled) and e.name == "write_file"
        ]


def _answer(code: str) -> dict[str, str]:
    return {"text": f"calc.py\n```python\n{code}```\n"}


def _session(repo: Path, server: Any, **flags: Any) -> tuple[Session, _Events]:
    given = {"base_url": server.base_url, "model": "m", "checks": [CHECK], "profile": "small"}
    settings = load({**given, **flags}, repo=repo)
    events = _Events()
    return Session(settings, events, AutoApprover(), get_provider(settings)), events


def test_only_answers_that_make_fewer_tests_fail_reach_the_tree(
    calc: Path, scripted_server: Any
) -> None:
    turns = [_answer(code) for code in (CALC_STUB, SAME_CODE, HALF, WORSE, RIGHT)]
    server = scripted_server(turns)
    session, events = _session(calc, server, max_turns=6)

    outcome = session.run("implement add and sub")

    assert outcome.status == "passed"
    assert (calc / "calc.py").read_text() == RIGHT
    writes = events.writes()
    assert writes == [HALF, RIGHT]  # the stub again, the same code, the worse one: never
    candidates = [e for e in events.seen if isinstance(e, CheckResult) and e.phase == "candidate"]
    assert len(candidates) == 4  # SAME_CODE is the stub's syntax tree: not checked again
    assert [c.passed for c in candidates] == [False, False, False, True]
    # after a repeat, a fresh answer from the head alone (system prompt and task)
    assert server.received[2]["messages"] == server.received[0]["messages"]
    # the answer after the rejected WORSE is sampled from the very same prompt
    assert len(server.received) == 5
    assert server.received[4]["messages"] == server.received[3]["messages"]
    assert server.received[4].get("seed") != server.received[3].get("seed")
    assert HALF.strip() in server.received[4]["messages"][-1]["content"]


def test_after_a_retry_message_drew_a_repeat_the_answers_come_from_the_head_until_the_next(
    calc: Path, scripted_server: Any
) -> None:
    one = "def add(a, b):\n    return 5\n\n\ndef sub(a, b):\n    pass\n"  # passes test_add
    turns = [_answer(code) for code in (one, one, WORSE, WORSE.replace("a * b", "b"), HALF, RIGHT)]
    server = scripted_server(turns)
    session, events = _session(calc, server, max_turns=7)

    outcome = session.run("implement add and sub")

    assert outcome.status == "passed" and events.writes() == [one, HALF, RIGHT]
    head, retry = server.received[0]["messages"], server.received[1]["messages"]
    assert one.strip() in retry[-1]["content"]  # the retry message shows the code ...
    # ... and its answer copied it: from then on the head alone, not the retry message again
    assert [r["messages"] for r in server.received[2:5]] == [head, head, head]
    # until HALF, applied, makes the next retry message: the answer after it is shown that
    assert HALF.strip() in server.received[5]["messages"][-1]["content"]


NEAR_MISS = "def add(a, b):\n    return a + b + 1\n\n\ndef sub(a, b):\n    return a - b + 1\n"
HALF_OTHER = "def add(a, b):\n    return b + a\n\n\ndef sub(a, b):\n    return b - a\n"


def test_where_no_test_passes_a_tie_is_built_on_and_where_one_passes_it_is_not(
    calc: Path, scripted_server: Any
) -> None:
    turns = [_answer(code) for code in (NEAR_MISS, HALF, HALF_OTHER, RIGHT)]
    server = scripted_server(turns)
    session, events = _session(calc, server, max_turns=5)

    outcome = session.run("implement add and sub")

    assert outcome.status == "passed"
    # NEAR_MISS fails all 3, as the stub does: applied, so the next answer sees it to repair;
    # HALF_OTHER fails 1, as HALF does, but HALF passes 2: held back
    assert events.writes() == [NEAR_MISS, HALF, RIGHT]
    assert "return a + b + 1" in server.received[1]["messages"][-1]["content"]
    assert "return b - a" not in server.received[3]["messages"][-1]["content"]


def test_in_a_bug_fix_where_no_test_passes_a_tie_is_held_back(
    calc: Path, scripted_server: Any
) -> None:
    (calc / "calc.py").write_text(WORSE)  # written code, no stub: every test fails
    git(calc, "commit", "-qam", "a bug")
    server = scripted_server([_answer(NEAR_MISS), _answer(RIGHT)])
    session, events = _session(calc, server, max_turns=3)

    outcome = session.run("add and sub are wrong")

    assert outcome.status == "passed"
    assert events.writes() == [RIGHT]


MANY_TESTS = """import pytest
from calc import add, sub


@pytest.mark.parametrize("n", range(40))
def test_add(n):
    assert add(n, 1) == n + 1, "a message long enough to crowd the trimmed output " * 6


@pytest.mark.parametrize("n", range(40))
def test_sub(n):
    assert sub(n, 1) == n - 1, "a message long enough to crowd the trimmed output " * 6
"""


def test_a_candidate_is_judged_by_all_its_failures_not_those_the_trimmed_output_names(
    calc: Path, scripted_server: Any
) -> None:
    (calc / "test_calc.py").write_text(MANY_TESTS)
    git(calc, "commit", "-qam", "80 tests")
    server = scripted_server([_answer(HALF), _answer(RIGHT)])
    session, events = _session(calc, server, max_turns=3)

    outcome = session.run("implement add and sub")

    assert outcome.status == "passed"
    writes = events.writes()
    assert writes == [HALF, RIGHT]  # 40 failing beat the stub's 80, though both overflow


def test_a_candidate_whose_checks_never_end_is_cut_off_and_rejected(
    calc: Path, scripted_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(small, "CANDIDATE_MIN_LIMIT_S", 3.0)  # the test's baseline is fast
    hangs = "def add(a, b):\n    while True:\n        pass\n\n\ndef sub(a, b):\n    pass\n"
    server = scripted_server([_answer(hangs), _answer(RIGHT)])
    session, events = _session(calc, server, max_turns=3, time_budget_s=120)
    started = time.monotonic()

    outcome = session.run("implement add and sub")

    assert outcome.status == "passed"
    assert time.monotonic() - started < 40  # not the time budget: a few seconds
    writes = events.writes()
    assert writes == [RIGHT]  # the endless one never reaches the tree
    cut = [e for e in events.seen if isinstance(e, CheckResult) and e.phase == "candidate"][0]
    assert "[check timed out after" in cut.output


def test_a_slow_candidate_that_ends_does_not_raise_the_cut_off_of_the_next(
    calc: Path, scripted_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(small, "CANDIDATE_MIN_LIMIT_S", 6.0)  # the test's baseline is fast
    slow = "import time\n\n\ndef add(a, b):\n    pass\n\n\ndef sub(a, b):\n    time.sleep(3)\n"
    hangs = "def add(a, b):\n    while True:\n        pass\n\n\ndef sub(a, b):\n    pass\n"
    server = scripted_server([_answer(slow), _answer(hangs), _answer(RIGHT)])
    session, events = _session(calc, server, max_turns=4, time_budget_s=300)
    started = time.monotonic()

    outcome = session.run("implement add and sub")

    assert outcome.status == "passed"
    candidates = [e for e in events.seen if isinstance(e, CheckResult) and e.phase == "candidate"]
    assert [e.passed for e in candidates] == [False, False, True]
    slow_run, cut = candidates[0], candidates[1]
    assert slow_run.seconds > 3 and "timed out" not in slow_run.output
    assert "[check timed out after" in cut.output
    # cut at 10x the baseline (a second or less here), not at 10x the slow candidate's run
    assert cut.seconds < 0.5 * small.CANDIDATE_SLOWDOWN * slow_run.seconds
    assert time.monotonic() - started < 60


def test_a_candidate_is_checked_with_its_files_in_place_and_the_tree_untouched(
    calc: Path,
) -> None:
    ws = Workspace(calc, Sandbox(calc))
    checks = CheckRunner(ws, [CHECK])
    before = (calc / "calc.py").stat()

    right = checks.run_candidate({"calc.py": RIGHT})
    # same size as RIGHT, other code: cached bytecode of RIGHT must not stand in for it
    twin = RIGHT.replace("a + b", "a * b")
    assert len(twin) == len(RIGHT)
    wrong = checks.run_candidate({"calc.py": twin})

    assert right is not None and all(run.passed for run in right)
    assert wrong is not None and not any(run.passed for run in wrong)
    assert (calc / "calc.py").read_text() == CALC_STUB
    assert (calc / "calc.py").stat().st_mtime_ns == before.st_mtime_ns
    assert checks.run_candidate({"new.py": "x = 1\n"}) is None  # a new file: not judged apart
    assert (
        CheckRunner(Workspace(calc, Sandbox(calc, mode="off")), [CHECK]).run_candidate(
            {"calc.py": RIGHT}
        )
        is None
    )


def test_a_candidate_bundling_a_fix_with_a_break_is_narrowed_before_it_is_judged(
    calc: Path, scripted_server: Any
) -> None:
    (calc / "calc.py").write_text(HALF)
    git(calc, "commit", "-qam", "half")
    broken = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"
    server = scripted_server([_answer(broken)])
    session, events = _session(calc, server, max_turns=1)

    outcome = session.run("fix sub")

    assert outcome.status == "passed"
    assert (calc / "calc.py").read_text() == RIGHT
    notices = [e.message for e in events.seen if isinstance(e, Notice)]
    assert any("took back the model's change at calc.py line 2" in n for n in notices)


UNCUT_S = 240.0
"""A candidate's cut-off in the endless-trial tests: a trial not cut at its own (seconds)
would run this long; one cut ends in a tenth of it even on a loaded machine."""


def _stepped(add_result: str, sub_result: str) -> str:
    """calc.py whose add counts up by STEP (endless where STEP is 0), then returns
    `add_result`; sub returns `sub_result`."""
    loop = "    n = a\n    while n != a + b:\n        n += STEP\n"
    add = f"def add(a, b):\n{loop}    return {add_result}\n"
    return f"STEP = 1\n\n\n{add}\n\ndef sub(a, b):\n    return {sub_result}\n"


def test_a_narrowing_trial_that_never_ends_is_cut_after_ten_times_the_candidates_run(
    calc: Path, scripted_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Taking back the candidate's first hunk (STEP) makes its loop endless; the second
    # (add's body) leaves it right. The endless trial must cost seconds, not the cut-off of
    # a candidate (raised to UNCUT_S here, so that the two differ far beyond any noise).
    monkeypatch.setattr(small, "CANDIDATE_MIN_LIMIT_S", UNCUT_S)
    (calc / "calc.py").write_text("STEP = 0\n\n\n" + HALF)
    git(calc, "commit", "-qam", "half")
    candidate = _stepped("n + 1", "a - b")
    server = scripted_server([_answer(candidate)])
    session, events = _session(calc, server, max_turns=1, time_budget_s=2 * UNCUT_S)
    started = time.monotonic()

    outcome = session.run("fix sub")

    elapsed = time.monotonic() - started
    assert outcome.status == "passed"
    assert (calc / "calc.py").read_text() == "STEP = 1\n\n\n" + RIGHT
    assert small.NARROW_MIN_LIMIT_S <= elapsed < UNCUT_S / 2


def test_narrowing_a_refused_finish_cuts_a_trial_that_never_ends(
    calc: Path, scripted_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Applied (it fails 1 test where the stub fails 3), then refused: narrowing takes back
    # each hunk in turn, and taking back STEP makes add's loop endless.
    monkeypatch.setattr(small, "CANDIDATE_MIN_LIMIT_S", UNCUT_S)
    (calc / "calc.py").write_text("STEP = 0\n\n\n" + CALC_STUB)
    git(calc, "commit", "-qam", "stub")
    candidate = _stepped("n", "a * b")
    server = scripted_server([_answer(candidate)])
    session, events = _session(calc, server, max_turns=1, time_budget_s=2 * UNCUT_S)
    started = time.monotonic()

    session.run("implement add and sub")

    assert events.writes() == [candidate]
    assert time.monotonic() - started < UNCUT_S / 2


def test_no_answer_starts_when_the_time_left_cannot_fit_one() -> None:
    plan = TimePlan()
    plan.seconds, plan.rates = [40.0, 30.0, 34.0], [9.0]

    assert 600 < plan.max_tokens(100, check_seconds=1.0) <= 100 * 9
    assert plan.max_tokens(None, 1.0) == MAX_ANSWER_TOKENS
    with pytest.raises(BudgetExhausted, match="12 s left, an answer takes about 33 s"):
        plan.max_tokens(12, check_seconds=1.0)


def test_an_answer_may_be_as_long_as_two_rewrites_of_the_largest_source_no_longer(
    scripted_server: Any, calc: Path
) -> None:
    server = scripted_server([{"text": "no code"}])
    session, _ = _session(calc, server, max_turns=1)
    session.run("implement add and sub")
    assert server.received[0]["max_tokens"] == MIN_ANSWER_CAP  # calc.py is a few lines
    assert answer_cap(["x" * 1800]) == 2 * 600 + 256
    assert answer_cap(["x" * 30000, "y"]) == MAX_ANSWER_TOKENS


def test_answers_are_timed_between_asking_and_answering(tmp_path: Path) -> None:
    profile = small_profile(tmp_path)
    conversation = Conversation()
    conversation.set_section("task", UserText("implement add"))
    profile.view(conversation)
    time.sleep(0.2)
    profile.interpret(AssistantTurn("no code", usage=TokenUsage(10, 20)), [])

    assert len(profile.plan.seconds) == 1 and profile.plan.seconds[0] >= 0.2
    assert 0 < profile.plan.rates[0] <= 100


def test_the_time_budget_ends_the_run_and_the_report_says_so(
    calc: Path, scripted_server: Any
) -> None:
    server = scripted_server([{"delay_s": 30, "text": "slow"}])
    session, events = _session(calc, server, time_budget_s=2)
    started = time.monotonic()

    outcome = session.run("implement add and sub")

    assert time.monotonic() - started < 20
    assert outcome.status == "budget_exhausted" and "Time budget of 2 s spent" in outcome.summary
    assert session.report is not None and session.report.time_budget_s == 2
    assert "of a 2 s budget" in session.report.one_line()


def test_an_answer_rewriting_the_tests_keeps_only_its_source_writes() -> None:
    both = AssistantTurn(
        "",
        (
            ToolCall("1", "write_file", {"path": "test_calc.py", "content": "assert True\n"}),
            ToolCall("2", "write_file", {"path": "calc.py", "content": RIGHT}),
            ToolCall("3", "finish", {"summary": "done"}),
        ),
    )
    tests_only = AssistantTurn("", (both.tool_calls[0], both.tool_calls[2]))

    assert [c.id for c in without_test_writes(both).tool_calls] == ["2", "3"]
    assert without_test_writes(tests_only).tool_calls == ()  # nothing left to check
    assert written_files(without_test_writes(both)) == {"calc.py": RIGHT}


def test_a_retry_starts_with_the_code_block_of_the_only_source_file(tmp_path: Path) -> None:
    def samplings(
        *sources: str, code: str = "def f():\n    return False\n"
    ) -> tuple[Sampling, Sampling]:
        repo = tmp_path / "-".join(sources) / code[-8:].strip()
        repo.mkdir(parents=True)
        for name in sources:
            (repo / name).write_text(code)
        (repo / "test_f.py").write_text("from calc import f\n\ndef test_f():\n    assert f()\n")
        profile = small_profile(repo)
        conversation = Conversation()
        system, task = profile.head("make f return True", "pytest", [])
        conversation.set_section("task", task)
        first = profile.view(conversation).sampling
        conversation.append(AssistantTurn("I think f must return True."))
        conversation.append(UserText("retry", kind="retry"))
        retry = profile.view(conversation).sampling
        assert first is not None and retry is not None
        return first, retry

    first, retry = samplings("calc.py")
    assert first.prefix == ""  # the first answer: free
    assert retry.prefix == "calc.py\n```python\n"
    # the one file's block closed, the answer ends (the first answer's block is its own)
    assert "\n```\n\n" in first.stop and "\n```\n" not in first.stop
    assert "\n```\n" in retry.stop
    assert "test_f.py\n```" in first.stop and len(retry.stop) <= 4  # OpenAI's limit
    assert "from calc import" in retry.stop  # inside calc.py's block: its test's import
    assert "unittest" in retry.stop
    first, retry = samplings("calc.py", "util.py")
    assert retry.prefix == ""  # several: any of them may need the fix
    assert not any("```\n" in stop for stop in (*first.stop, *retry.stop))  # nor end at one
    first, retry = samplings("calc.py", code="import unittest\n\ndef f():\n    return 0\n")
    assert "unittest" not in retry.stop  # what the source holds never stops its rewrite
    first, retry = samplings("calc.py", code="def f():\n    pass\n")
    # a stub's first answer starts in its block too (left free, it copied the test file)
    assert first.prefix == retry.prefix == "calc.py\n```python\n"
    assert "\n```\n" in first.stop and "\n```\n\n" not in first.stop


def test_seeds_never_come_round_again_when_old_turns_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text("def f():\n    return False\n")
    (tmp_path / "test_f.py").write_text("from calc import f\n\ndef test_f():\n    assert f()\n")
    profile = small_profile(tmp_path)
    conversation = Conversation()
    conversation.set_section("task", profile.head("make f return True", "pytest", [])[1])
    seeds = []
    for answer in range(8):
        sampling = profile.view(conversation).sampling
        assert sampling is not None
        seeds.append(sampling.seed)
        conversation.append(AssistantTurn(f"answer {answer}"))
        conversation.append(UserText(f"retry {answer}", kind="retry"))
        if answer == 4:
            conversation.drop_old_turns(1, "where the work stands")  # as the agent compacts
    assert len(set(seeds[1:])) == 7  # the first answer is greedy; no later seed repeats
