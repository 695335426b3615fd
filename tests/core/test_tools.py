"""Tools as the model sees them: schemas from signatures, file tools, run, refusals."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from coder import tools
from coder.approval import DiffDecision
from coder.checks import CheckRunner
from coder.conversation import ToolCall
from coder.diff import Patch
from coder.errors import WorkspaceError
from coder.profiles.default import DefaultProfile
from coder.repomap import RepoMap
from coder.tools import AutoApprover, ToolContext, registry
from coder.tools.edit import write_file
from coder.workspace import Workspace


@pytest.fixture
def ctx(git_repo: Path) -> ToolContext:
    (git_repo / "pkg").mkdir()
    (git_repo / "pkg" / "mod.py").write_text(
        "def alpha():\n    return 1\n\n\ndef beta():\n    return 2\n"
    )
    ws = Workspace(git_repo)
    return ToolContext(ws=ws, approver=AutoApprover(), checks=CheckRunner(ws, []))


def call(ctx: ToolContext, tool_name: str, **arguments: object) -> tuple[bool, str]:
    outcome = registry(DefaultProfile.tools).dispatch(ctx, ToolCall("c1", tool_name, arguments))
    return outcome.ok, outcome.text


def test_contract_names_and_parameters() -> None:
    specs = {s.name: s.parameters for s in registry(DefaultProfile.tools).specs()}
    assert {name: sorted(p["properties"]) for name, p in specs.items()} == {
        "read_file": ["end_line", "path", "start_line"],
        "list_files": ["path", "pattern"],
        "search": ["path", "query", "regex"],
        "repo_map": ["focus"],
        "find_symbol": ["name"],
        "find_references": ["name"],
        "apply_diff": ["diff"],
        "run": ["command", "timeout_s"],
        "run_checks": [],
        "update_plan": ["plan"],
        "finish": ["summary"],
    }
    assert specs["read_file"]["required"] == ["path"]
    assert specs["read_file"]["properties"]["start_line"]["type"] == "integer"


def test_read_file_numbers_lines_and_honours_range(ctx: ToolContext) -> None:
    ok, text = call(ctx, "read_file", path="pkg/mod.py", start_line=4, end_line="5")
    assert ok
    assert text.splitlines() == ["pkg/mod.py (lines 4-5 of 6)", "4| ", "5| def beta():"]


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", ".git/config"])
def test_file_tools_refuse_escapes(ctx: ToolContext, path: str) -> None:
    ok, text = call(ctx, "read_file", path=path)
    assert not ok and text.startswith("error: ")


def test_list_files_filters_by_path_and_pattern(ctx: ToolContext) -> None:
    assert call(ctx, "list_files") == (True, "README.md\npkg/mod.py")
    assert call(ctx, "list_files", path="pkg", pattern="*.py") == (True, "pkg/mod.py")


def test_search_reports_file_line_text(ctx: ToolContext) -> None:
    assert call(ctx, "search", query="def b") == (True, "pkg/mod.py:5: def beta():")
    assert call(ctx, "search", query=r"return \d", regex=True)[1].count("\n") == 1


def test_run_reports_exit_code_and_output(ctx: ToolContext) -> None:
    ok, text = call(ctx, "run", command="echo out; echo err >&2; exit 3")
    assert ok
    assert text.splitlines() == ["$ echo out; echo err >&2; exit 3", "exit code 3", "out", "err"]


def test_run_timeout_is_reported(ctx: ToolContext) -> None:
    ok, text = call(ctx, "run", command="sleep 5", timeout_s=1)
    assert "timed out after 1 s" in text


def test_a_command_or_check_the_model_causes_stops_soon_after_the_time_budget_ends(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools, "OVERRUN_S", 1.0)
    ctx.deadline = time.monotonic() + 1.0
    ctx.checks = CheckRunner(ctx.ws, ["sleep 30"])
    started = time.monotonic()

    command = call(ctx, "run", command="sleep 30")[1]
    check = call(ctx, "run_checks")[1]

    assert "timed out after 1 s" in command
    assert "[check timed out after 1 s]" in check
    assert time.monotonic() - started < 15  # not the 30 s each would sleep


def test_unknown_tool_and_missing_argument_are_errors_for_the_model(ctx: ToolContext) -> None:
    assert call(ctx, "delete_everything")[1].startswith("error: unknown tool")
    assert call(ctx, "read_file")[1] == "error: read_file needs argument(s): path"


class ScriptedApprover(AutoApprover):
    """Answers diff reviews with a fixed decision (the TUI's role, without a screen)."""

    def __init__(self, decision: DiffDecision) -> None:
        self.decision = decision
        self.seen: list[str] = []

    def review_diff(self, patch: Patch) -> DiffDecision:
        self.seen.append(patch.text)
        return self.decision


TWO_HUNKS = """--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,2 +1,2 @@
 def alpha():
-    return 1
+    return 10
@@ -5,2 +5,2 @@
 def beta():
-    return 2
+    return 20
"""


def test_apply_diff_applies_and_reports_per_hunk(ctx: ToolContext) -> None:
    ok, text = call(ctx, "apply_diff", diff=TWO_HUNKS)
    assert ok, text
    assert (ctx.ws.root / "pkg/mod.py").read_text().count("return 10") == 1
    assert ctx.edited_paths == ["pkg/mod.py"]


def test_apply_diff_only_applies_approved_hunks_and_says_so(ctx: ToolContext) -> None:
    ctx.approver = ScriptedApprover(
        DiffDecision(approved_hunks=frozenset({1}), comment="keep alpha as it is")
    )
    ok, text = call(ctx, "apply_diff", diff=TWO_HUNKS)
    content = (ctx.ws.root / "pkg/mod.py").read_text()
    assert "return 1\n" in content and "return 20" in content
    assert "approved hunk(s) 2 and rejected hunk(s) 1" in text
    assert "The user said: keep alpha as it is" in text


def test_apply_diff_rejected_by_user_leaves_file_untouched(ctx: ToolContext) -> None:
    before = (ctx.ws.root / "pkg/mod.py").read_bytes()
    ctx.approver = ScriptedApprover(DiffDecision(approved_hunks=frozenset(), comment="no"))
    ok, text = call(ctx, "apply_diff", diff=TWO_HUNKS)
    assert (ctx.ws.root / "pkg/mod.py").read_bytes() == before
    assert text == "The user rejected all 2 hunk(s); nothing was applied. The user said: no"


def test_apply_diff_with_stale_context_quotes_current_lines(ctx: ToolContext) -> None:
    stale = (
        "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1,2 +1,2 @@\n"
        " def gamma():\n-    return 3\n+    return 30\n"
    )
    before = (ctx.ws.root / "pkg/mod.py").read_bytes()
    ok, text = call(ctx, "apply_diff", diff=stale)
    assert (ctx.ws.root / "pkg/mod.py").read_bytes() == before
    assert "rejected" in text and "def alpha():" in text


def test_write_file_is_reviewed_as_a_diff_and_applied(ctx: ToolContext) -> None:
    approver = ScriptedApprover(DiffDecision(approved_hunks=None))
    ctx.approver = approver
    new = "def alpha():\n    return 1\n\n\ndef beta():\n    return 22\n"
    call(ctx, "read_file", path="pkg/mod.py")
    write_file.function(ctx, "pkg/mod.py", new)
    assert (ctx.ws.root / "pkg/mod.py").read_text() == new
    assert "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n" in approver.seen[0]
    assert "-    return 2\n+    return 22" in approver.seen[0]


def test_write_file_creates_new_file_in_subdirectory(ctx: ToolContext) -> None:
    write_file.function(ctx, "pkg/sub/new.py", "x = 1")
    assert (ctx.ws.root / "pkg/sub/new.py").read_text() == "x = 1\n"


def test_write_file_refuses_escape(ctx: ToolContext) -> None:
    with pytest.raises(WorkspaceError):
        write_file.function(ctx, "../evil.py", "x = 1\n")


def test_write_file_refuses_non_utf8_file(ctx: ToolContext) -> None:
    (ctx.ws.root / "latin1.txt").write_bytes(b"caf\xe9\n")
    call(ctx, "read_file", path="latin1.txt")
    with pytest.raises(WorkspaceError, match="not UTF-8"):
        write_file.function(ctx, "latin1.txt", "cafe\n")
    assert (ctx.ws.root / "latin1.txt").read_bytes() == b"caf\xe9\n"


def test_write_file_never_overwrites_a_change_made_since_the_model_read_the_file(
    ctx: ToolContext,
) -> None:
    call(ctx, "read_file", path="pkg/mod.py")
    (ctx.ws.root / "pkg" / "mod.py").write_text("def alpha():\n    return 'the user'\n")
    with pytest.raises(WorkspaceError, match="changed on disk since you last read it") as refused:
        write_file.function(ctx, "pkg/mod.py", "def alpha():\n    return 3\n")
    assert "return 'the user'" in str(refused.value)  # the model is shown the current content
    assert "the user" in (ctx.ws.root / "pkg" / "mod.py").read_text()
    write_file.function(ctx, "pkg/mod.py", "def alpha():\n    return 'the user' or 3\n")
    assert "or 3" in (ctx.ws.root / "pkg" / "mod.py").read_text()


def test_write_file_of_a_file_never_seen_shows_it_first(ctx: ToolContext) -> None:
    ctx.baseline = lambda path: None  # created after the session began, never read
    with pytest.raises(WorkspaceError, match="you have not read it"):
        write_file.function(ctx, "pkg/mod.py", "x = 1\n")
    assert "def beta" in (ctx.ws.root / "pkg" / "mod.py").read_text()


def test_context_tools_see_files_written_after_the_map_was_built(ctx: ToolContext) -> None:
    ctx.repo_map = RepoMap(ctx.ws)
    assert call(ctx, "find_symbol", name="gamma") == (True, "no definition of 'gamma' found")
    (ctx.ws.root / "pkg" / "more.py").write_text("def gamma(x):\n    return alpha() + x\n")
    assert call(ctx, "find_symbol", name="gamma") == (True, "pkg/more.py:1: def gamma(x):")
    ok, refs = call(ctx, "find_references", name="alpha")
    assert "pkg/more.py:2: return alpha() + x" in refs
    assert "pkg/more.py" in call(ctx, "repo_map", focus="gamma")[1]


@pytest.mark.parametrize(
    "diff",
    [
        "--- a/tests/test_mod.py\n+++ b/tests/test_mod.py\n@@ -1 +1 @@\n-assert True\n+pass\n",
        "diff --git a/tests/test_mod.py b/mod_check.py\nsimilarity index 100%\n"
        "rename from tests/test_mod.py\nrename to mod_check.py\n",
        "--- /dev/null\n+++ b/tests/test_new.py\n@@ -0,0 +1 @@\n+def test_x():\n+    pass\n",
    ],
    ids=["edit", "rename-away", "create"],
)
def test_protected_tests_cannot_be_edited_renamed_away_or_added(
    ctx: ToolContext, diff: str
) -> None:
    (ctx.ws.root / "tests").mkdir()
    (ctx.ws.root / "tests" / "test_mod.py").write_text("assert True\n")
    ctx.protect_tests = True
    ok, text = call(ctx, "apply_diff", diff=diff.replace("+def test_x():\n+    pass\n", "+x\n"))
    assert not ok and "tests are protected" in text
    assert (ctx.ws.root / "tests" / "test_mod.py").read_text() == "assert True\n"
    assert not (ctx.ws.root / "tests" / "test_new.py").exists()
    write = ToolCall("c2", "write_file", {"path": "tests/test_mod.py", "content": "pass\n"})
    outcome = registry(("write_file",)).dispatch(ctx, write)
    assert not outcome.ok and "tests are protected" in outcome.text
