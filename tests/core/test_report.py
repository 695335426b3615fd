"""The honest finish: checks in the project's own environment, a check that cannot start
refused before any edit, the red→green proof per test, test edits listed and re-checked with
the original tests, and the run report for people and CI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import git
from tests.core.test_event_schema import validate
from tests.runs import coder_run, events, run_command

FINISH = {"text": "Done.", "tool_calls": [{"name": "finish", "arguments": {"summary": "fixed"}}]}


def project(tmp_path: Path) -> Path:
    """Three tests: two fail on a bug in calc.py, one passes."""
    repo = tmp_path / "calc"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text(
        "def add(a, b):\n    return a - b\n\n\ndef double(x):\n    return x * 2\n"
    )
    (repo / "tests" / "test_calc.py").write_text(
        textwrap.dedent(
            """
            from calc import add, double


            def test_add_small():
                assert add(1, 2) == 3


            def test_add_zero():
                assert add(0, 5) == 5


            def test_double():
                assert double(4) == 8
            """
        ).lstrip()
    )
    (repo / "conftest.py").write_text("")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc")
    return repo


def diff(path: str, old: str, new: str) -> dict[str, Any]:
    from coder.diff import unified_diff

    return run_command("apply_diff", diff=unified_diff(path, old, new))


CHECK = "python3 -m pytest -q -p no:cacheprovider"


def test_the_proof_lists_exactly_what_turned_green_and_what_broke(
    tmp_path: Path, scripted_server: Any
) -> None:
    repo = project(tmp_path)
    source = (repo / "calc.py").read_text()
    fixed = source.replace("a - b", "a + b").replace("x * 2", "x * 3")  # fixes two, breaks one
    server = scripted_server(
        [diff("calc.py", source, fixed), FINISH, {"text": "stuck", "repeat": True}]
    )
    report_file = tmp_path / "report.md"
    proc = coder_run(
        repo, server.base_url, "--check", CHECK, "--max-turns", "2", "--report", str(report_file)
    )
    report = events(proc)[-1]["report"]
    assert events(proc)[-1]["type"] == "report"
    validate(events(proc))
    assert report["proof"]["red_to_green"] == [
        "tests.test_calc.test_add_small",
        "tests.test_calc.test_add_zero",
    ]
    assert report["proof"]["regressions"] == ["tests.test_calc.test_double"]
    assert report["proof"]["still_failing"] == []
    assert [f["path"] for f in report["files"]] == ["calc.py"]
    assert report["files"][0]["added"] == 2 and report["files"][0]["removed"] == 2
    assert report["outcome"] == "budget_exhausted"
    markdown = report_file.read_text()
    assert (
        "red → green: `tests.test_calc.test_add_small`, `tests.test_calc.test_add_zero`" in markdown
    )
    assert "regressions (passed before, fail now): `tests.test_calc.test_double`" in markdown
    assert "| `calc.py` | 2 | 2 |" in markdown and "```diff" in markdown
    assert "report: budget_exhausted" in proc.stderr  # the short summary at the end


def test_a_model_that_edits_the_test_is_caught(tmp_path: Path, scripted_server: Any) -> None:
    repo = project(tmp_path)
    test = (repo / "tests" / "test_calc.py").read_text()
    cheat = test.replace("== 3", "== -1").replace("== 5", "== -5")
    server = scripted_server([diff("tests/test_calc.py", test, cheat), FINISH])
    proc = coder_run(repo, server.base_url, "--check", CHECK)
    validate(events(proc))
    report = events(proc)[-1]["report"]
    assert report["outcome"] == "passed"  # without --protect-tests: passed, but flagged
    assert report["tests_edited"] == ["tests/test_calc.py"]
    assert report["original_tests"] and not report["original_tests"][0]["passed"]
    assert (repo / "tests" / "test_calc.py").read_text() == cheat  # the tree is untouched
    restored = [e for e in events(proc) if e["type"] == "check_result" and e["phase"] == "restored"]
    assert restored and not restored[0]["passed"]


def test_with_protect_tests_a_test_edit_is_refused_and_the_run_does_not_pass(
    tmp_path: Path, scripted_server: Any
) -> None:
    repo = project(tmp_path)
    test = (repo / "tests" / "test_calc.py").read_text()
    cheat = test.replace("== 3", "== -1").replace("== 5", "== -5")
    server = scripted_server(
        [
            diff("tests/test_calc.py", test, cheat),
            run_command("run", command=f"cat > tests/test_calc.py <<'EOF'\n{cheat}EOF"),
            FINISH,
            {"text": "stuck", "repeat": True},
        ]
    )
    proc = coder_run(repo, server.base_url, "--check", CHECK, "--protect-tests", "--max-turns", "4")
    results = [e for e in events(proc) if e["type"] == "tool_result"]
    assert "tests are protected" in results[0]["output"]
    finish = next(r for r in results if r["name"] == "finish")
    assert (
        finish["status"] == "finish_refused"
        and "only with your edits to the tests" in finish["output"]
    )
    assert proc.returncode != 0 and events(proc)[-1]["report"]["outcome"] != "passed", proc.stdout


def test_a_misspelled_check_is_exit_2_before_any_edit(tmp_path: Path, scripted_server: Any) -> None:
    repo = project(tmp_path)
    source = (repo / "calc.py").read_text()
    server = scripted_server([diff("calc.py", source, source.replace("a - b", "a + b")), FINISH])
    proc = coder_run(repo, server.base_url, "--check", "pytset -q")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("coder: error:")]
    assert len(lines) == 1 and "cannot start" in lines[0] and "pytset" in lines[0]
    assert (repo / "calc.py").read_text() == source  # the model's diff was never applied


def test_the_projects_own_virtualenv_runs_the_checks(tmp_path: Path, scripted_server: Any) -> None:
    """A package only the project's .venv has: coder, installed elsewhere, finds that venv."""
    repo = project(tmp_path)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site = repo / ".venv" / "lib" / version / "site-packages"
    (site / "only_in_project_venv.py").write_text("VALUE = 3\n")
    (site / "test-tools.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # pytest
    (repo / "tests" / "test_venv.py").write_text(
        "from only_in_project_venv import VALUE\n\n\ndef test_value():\n    assert VALUE == 3\n"
    )
    (repo / ".gitignore").write_text(".venv/\n")
    source = (repo / "calc.py").read_text()
    fixed = source.replace("a - b", "a + b")
    server = scripted_server([diff("calc.py", source, fixed), FINISH])
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    argv = [sys.executable, "-m", "coder", "run", "fix add", "--repo", str(repo), "--json"]
    argv += ["--base-url", server.base_url, "--model", "scripted"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    started = events(proc)[0]
    assert started["checks"] == [".venv/bin/python -m pytest -q --tb=short"]
    assert "the repository's .venv" in started["checks_source"]
    assert shutil.which("python3")


def test_the_report_goes_to_the_github_step_summary(tmp_path: Path, scripted_server: Any) -> None:
    repo = project(tmp_path)
    source = (repo / "calc.py").read_text()
    server = scripted_server([diff("calc.py", source, source.replace("a - b", "a + b")), FINISH])
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    proc = coder_run(
        repo, server.base_url, "--check", "true", env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert proc.returncode == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n## ✅ coder: passed")
    assert json.dumps(events(proc)[-1]["report"]["tokens"])


def test_the_markdown_report_renders_and_hostile_text_stays_inert() -> None:
    """Rendered as GitHub does (CommonMark + tables): the model's summary, paths and a diff
    holding its own fence cannot inject HTML, links, mentions or break out of their blocks."""
    from markdown_it import MarkdownIt

    from coder.proof import compare
    from coder.report import FileChange, RunReport

    diff = "--- a/README.md\n+++ b/README.md\n@@ -1 +1,3 @@\n-old\n+```\n+<b>x</b>\n+```\n"
    report = RunReport(
        outcome="passed",
        exit_code=0,
        summary="<script>alert(1)</script> @here | [docs](https://evil.example) **done**",
        turns=3,
        model="m",
        profile="small",
        seconds=12.0,
        files=[FileChange("README.md", 3, 1, False), FileChange("docs/a|b.md", 1, 0, False)],
        diff=diff,
        checks=[{"command": "pytest -q", "before": "failed", "after": "passed", "passed": True}],
        proof=compare({"t.test_`odd`": "failed"}, {"t.test_`odd`": "passed"}),
        tokens={"prompt": 10, "cached": 0, "completion": 5, "reasoning": 0},
        sandbox={"mode": "workspace-write", "backend": "bubblewrap"},
    )
    tokens = MarkdownIt("commonmark").enable("table").parse(report.to_markdown())
    inline = [child for t in tokens if t.children for child in t.children]
    assert not [t for t in inline if t.type in ("html_inline", "link_open")]
    assert not [t for t in tokens if t.type == "html_block" and "script" in t.content]
    assert "@\u200bhere" in report.to_markdown()  # no mention ping
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and fences[0].info == "diff" and fences[0].content == diff
    rows = [t for t in tokens if t.type == "tr_open"]
    cells = [t for t in tokens if t.type in ("td_open", "th_open")]
    assert len(cells) == 2 * 8 + 3 * 3  # summary table (8 rows) + files table (header + 2)
    assert len(rows) == 8 + 3
    codes = [t.content for t in inline if t.type == "code_inline"]
    assert "t.test_`odd`" in codes and "docs/a|b.md" in codes


def test_a_report_path_that_cannot_be_written_is_refused_before_the_run(
    tmp_path: Path, scripted_server: Any
) -> None:
    repo = project(tmp_path)
    server = scripted_server([FINISH])
    for path in (tmp_path / "missing" / "r.md", tmp_path):
        proc = coder_run(repo, server.base_url, "--check", "true", "--report", str(path))
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and "--report" in proc.stderr
    assert server.received == []  # no model call was made


def test_the_one_line_report_counts_tests_the_start_could_not_run() -> None:
    """A stub whose tests could not even be collected at the start: its tests failing at the
    end are not 'still failing 0' but counted as not run at the start."""
    from coder.proof import compare
    from coder.report import RunReport

    after = {"t.test_a": "passed", "t.test_b": "failed", "t.test_c": "failed"}
    report = RunReport(
        outcome="budget_exhausted",
        exit_code=1,
        summary="",
        turns=3,
        model="m",
        profile="small",
        seconds=12.0,
        files=[],
        diff="",
        checks=[],
        proof=compare({}, after),
        tokens={"prompt": 10, "cached": 0, "completion": 5, "reasoning": 0},
        sandbox={"mode": "workspace-write", "backend": "bubblewrap"},
    )
    line = report.one_line()
    assert "still failing 0, not run at the start: 1 pass, 2 fail" in line
