"""Narrowing a refused attempt: hunks whose take-back makes fewer tests fail are dropped.

The session tests run a real Session with the small profile (as a small model behind a
server gets it) against the scripted OpenAI-compatible server, with real pytest checks in a
real git repository; the same attempt under the default profile is refused.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from coder.config import load
from coder.events import Event, ToolResult
from coder.profiles.small.narrow import narrow
from coder.providers import get_provider
from coder.results import Outcome
from coder.session import Session
from coder.tools import AutoApprover
from tests.core.test_run_e2e import CHECK

ORIGINAL_COUNT = "    return len(text.split())\n"
FIX_AND_NEEDLESS_BREAK = '''"""Small text helpers used by the blog engine."""

import re


def slugify(title: str) -> str:
    """Lowercase, keep letters and digits, join words with single hyphens."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)


def word_count(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split(" "))
'''


class _Events:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def emit(self, event: Event) -> None:
        self.seen.append(event)


def _diff(repo: Path) -> str:
    old = (repo / "textutil.py").read_text().splitlines(keepends=True)
    new = FIX_AND_NEEDLESS_BREAK.splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, "a/textutil.py", "b/textutil.py"))


def _run(repo: Path, scripted_server: Any, profile: str) -> tuple[Outcome, _Events, Any]:
    if profile == "small":  # a small model writes the whole file as a code block
        answer = {"text": f"textutil.py\n```python\n{FIX_AND_NEEDLESS_BREAK}```\n"}
    else:
        answer = {
            "tool_calls": [
                {"name": "apply_diff", "arguments": {"diff": _diff(repo)}},
                {"name": "finish", "arguments": {"summary": "fixed"}},
            ]
        }
    server = scripted_server([answer, {"text": "I give up.", "tool_calls": [], "repeat": True}])
    flags = {
        "base_url": server.base_url,
        "model": "m",
        "checks": [CHECK],
        "max_turns": 2,
        "profile": profile,
    }
    settings = load(flags, repo=repo)
    events = _Events()
    session = Session(settings, events, AutoApprover(), get_provider(settings))
    return session.run("slugify drops capitals"), events, server


def test_a_needless_breaking_hunk_is_taken_back_and_the_run_passes(
    repo: Path, scripted_server: Any
) -> None:
    outcome, events, server = _run(repo, scripted_server, "small")

    assert outcome.status == "passed"
    assert len(server.received) == 1  # the checks found the bad hunk, not another model turn
    text = (repo / "textutil.py").read_text()
    assert "title.lower()" in text and ORIGINAL_COUNT in text
    finish = [e for e in events.seen if isinstance(e, ToolResult) and e.name == "finish"]
    assert "Took back your change at textutil.py line 14" in finish[-1].output


def test_under_the_default_profile_the_same_attempt_is_refused(
    repo: Path, scripted_server: Any
) -> None:
    outcome, _, _ = _run(repo, scripted_server, "default")

    assert outcome.status == "budget_exhausted"
    assert 'text.split(" ")' in (repo / "textutil.py").read_text()


def _files(current: dict[str, str]) -> tuple[Any, Any]:
    """read and write over an in-memory tree (narrow itself is pure; the agent test is real)."""
    return current.__getitem__, current.__setitem__


def test_a_single_hunk_attempt_is_left_alone() -> None:
    current = {"a.py": "x = 2\n"}
    calls: list[str] = []

    def failing() -> int:
        calls.append(current["a.py"])
        return 0

    dropped, count = narrow({"a.py": "x = 1\n"}, *_files(current), failing, start=1)

    assert (dropped, count, calls, current["a.py"]) == ([], 1, [], "x = 2\n")


def test_a_take_back_that_does_not_help_is_undone() -> None:
    original = "a = 1\nb = 1\nc = 1\n"
    written = "a = 2\nb = 1\nc = 2\n"
    current = {"m.py": written}
    tried: list[str] = []

    def failing() -> int:
        tried.append(current["m.py"])
        return 1

    dropped, count = narrow({"m.py": original}, *_files(current), failing, start=1)

    assert dropped == [] and count == 1 and current["m.py"] == written
    assert tried == ["a = 1\nb = 1\nc = 2\n", "a = 2\nb = 1\nc = 1\n"]


def test_each_helpful_take_back_is_kept_and_reported_by_line() -> None:
    original = "a = 1\nb = 1\nc = 1\n"
    current = {"m.py": "a = 2\nb = 1\nc = 2\n"}

    def failing() -> int:
        return 0 if current["m.py"].endswith("c = 1\n") else 1

    dropped, count = narrow({"m.py": original}, *_files(current), failing, start=1)

    assert count == 0 and current["m.py"] == "a = 2\nb = 1\nc = 1\n"
    assert [(d.path, d.line, d.text) for d in dropped] == [("m.py", 3, "c = 2\n")]


class _Reviewer:
    """Approves the first `approve` diffs and declines the rest, keeping each it was shown
    (as a person at `--approval suggest` would answer)."""

    def __init__(self, approve: int) -> None:
        self.approve = approve
        self.reviewed: list[str] = []

    def review_diff(self, patch: Any) -> Any:
        from coder.approval import DiffDecision

        self.reviewed.append(str(patch.text))
        approved = len(self.reviewed) <= self.approve
        return DiffDecision(approved_hunks=None if approved else frozenset())

    def confirm_command(self, command: str) -> Any:
        from coder.approval import CommandDecision

        return CommandDecision(approved=True)


def _run_reviewed(repo: Path, scripted_server: Any, reviewer: _Reviewer) -> tuple[Outcome, Any]:
    answer = {"text": f"textutil.py\n```python\n{FIX_AND_NEEDLESS_BREAK}```\n"}
    server = scripted_server([answer, {"text": "I give up.", "tool_calls": [], "repeat": True}])
    flags = {"base_url": server.base_url, "model": "m", "checks": [CHECK], "max_turns": 2}
    settings = load({**flags, "profile": "small"}, repo=repo)
    events = _Events()
    session = Session(settings, events, reviewer, get_provider(settings))  # type: ignore[arg-type]
    return session.run("slugify drops capitals"), events


def test_narrowing_is_reviewed_like_any_edit_and_undo_takes_it_back(
    repo: Path, scripted_server: Any
) -> None:
    from coder import undo
    from coder.workspace import Workspace

    original = (repo / "textutil.py").read_text()
    reviewer = _Reviewer(approve=2)
    outcome, _ = _run_reviewed(repo, scripted_server, reviewer)
    assert outcome.status == "passed"
    assert len(reviewer.reviewed) == 2  # the model's write, then the take-back
    assert 'text.split(" ")' in reviewer.reviewed[1]
    undo.undo(Workspace(repo))
    assert (repo / "textutil.py").read_text() == original


def test_a_declined_narrowing_leaves_the_attempt_as_the_model_wrote_it(
    repo: Path, scripted_server: Any
) -> None:
    reviewer = _Reviewer(approve=1)
    outcome, events = _run_reviewed(repo, scripted_server, reviewer)
    assert outcome.status != "passed"
    assert len(reviewer.reviewed) >= 2
    assert 'text.split(" ")' in (repo / "textutil.py").read_text()
    finish = [e for e in events.seen if isinstance(e, ToolResult) and e.name == "finish"]
    assert "Taking back your change at textutil.py line 14 was declined" in finish[0].output
