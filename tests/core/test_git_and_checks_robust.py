"""coder's own git and checks never fail or stall a run: snapshots serialized, vanishing
files and nested repositories tolerated, an unfinished merge refused in one line, damaged
records read around, and a test suite that hangs costs a bounded time and names the test.
Real `coder run` processes, real git, the scripted server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import git
from tests.runs import coder_run, events, run_command

GIVE_UP = {"text": "stop", "tool_calls": [], "repeat": True}


def test_runs_against_a_401_endpoint_in_a_large_repository_all_exit_3(
    repo: Path, scripted_server: Any
) -> None:
    """The baseline check beside the first turn and the report's checks share the ledger:
    its snapshots never race on the ledger's index (index.lock ended some runs with 1)."""
    for folder in range(30):
        (repo / f"pkg{folder}").mkdir()
        for name in range(100):
            (repo / f"pkg{folder}" / f"m{name}.py").write_text(f"X = {name}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "many files")
    codes = []
    for _ in range(20):
        server = scripted_server([{"status": 401, "error": "invalid api key"}] * 3)
        proc = coder_run(repo, server.base_url, "--check", "python -c 'import time'")
        codes.append((proc.returncode, proc.stderr.strip().splitlines()[-1:]))
    assert all(code == 3 for code, _ in codes), codes
    assert not any("index.lock" in str(last) for _, last in codes)


def test_runs_beside_a_process_churning_a_temporary_file_all_work(
    repo: Path, scripted_server: Any
) -> None:
    stop = threading.Event()

    def churn() -> None:
        swap = repo / ".notes.txt.swp"
        while not stop.is_set():
            swap.write_text("editing\n" * 50)
            swap.unlink(missing_ok=True)

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        outcomes = []
        for _ in range(20):
            server = scripted_server([run_command("run", command="echo hi > out.txt"), GIVE_UP])
            proc = coder_run(repo, server.base_url, "--max-turns", "2", "--check", "true")
            outcomes.append((proc.returncode, proc.stderr[-300:]))
    finally:
        stop.set()
        thread.join()
    assert all(code in (0, 1) for code, _ in outcomes), outcomes
    assert not any("git" in tail and "failed" in tail for _, tail in outcomes)


def test_a_nested_repository_without_commits_is_worked_in(repo: Path, scripted_server: Any) -> None:
    nested = repo / "vendor" / "fresh"
    nested.mkdir(parents=True)
    git(nested, "init", "-q")
    (nested / "file.txt").write_text("x\n")
    server = scripted_server([run_command("run", command="echo new > made.txt"), GIVE_UP])
    proc = coder_run(repo, server.base_url, "--max-turns", "2", "--check", "true")
    assert proc.returncode in (0, 1), proc.stderr
    report = next(e for e in events(proc) if e["type"] == "report")["report"]
    assert [f["path"] for f in report["files"]] == ["made.txt"]


def test_a_merge_in_progress_is_refused_in_one_line_naming_it(
    repo: Path, scripted_server: Any
) -> None:
    target = next(p for p in repo.iterdir() if p.suffix == ".py" and "test" not in p.name)
    git(repo, "checkout", "-q", "-b", "other")
    target.write_text("other = 1\n")
    git(repo, "commit", "-qam", "other")
    git(repo, "checkout", "-q", "main")
    target.write_text("mine = 1\n")
    git(repo, "commit", "-qam", "mine")
    subprocess.run(["git", "merge", "other"], cwd=repo, capture_output=True)
    server = scripted_server([GIVE_UP])
    proc = coder_run(repo, server.base_url)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "middle of a merge with unmerged paths" in lines[0], proc.stderr
    assert target.name in lines[0] and "git merge --abort" in lines[0]
    assert server.received == []


def test_a_damaged_ledger_and_session_log_are_read_around(repo: Path, scripted_server: Any) -> None:
    for text in ("first", "second"):
        server = scripted_server([run_command("run", command=f"echo {text} > {text}.txt"), GIVE_UP])
        coder_run(repo, server.base_url, "--max-turns", "2", "--check", "true")
    sessions = repo / ".git" / "coder" / "sessions"
    ledgers = sorted(sessions.glob("*.json"), key=lambda p: json.loads(p.read_text())["created"])
    ledgers[-1].write_text('{"broken": ')  # the newest ledger, cut off
    logs = sorted(sessions.glob("*.log"))
    with logs[0].open("ab") as handle:
        handle.write(b"\xff\xfe not a record\n")
    listing = subprocess.run(
        [sys.executable, "-m", "coder", "sessions", "--repo", str(repo)],
        capture_output=True,
        text=True,
    )
    assert listing.returncode == 0 and "Traceback" not in listing.stderr
    assert len([line for line in listing.stdout.splitlines() if line.strip()]) >= 2
    undo = subprocess.run(
        [sys.executable, "-m", "coder", "undo", "--repo", str(repo)],
        capture_output=True,
        text=True,
    )
    assert undo.returncode == 0, undo.stderr
    assert "Traceback" not in undo.stderr
    assert not (repo / "first.txt").exists()  # the intact record was undone
    assert (repo / "second.txt").exists()  # the damaged one's file is left alone


HANGING_CODE = """def root(x):
    guess = x
    while abs(guess * guess - x) > 1e-12:
        guess = guess  # never converges
    return guess
"""
HANGING_TESTS = """from calc import root


def test_fast():
    assert 1 == 1


def test_root():
    assert root(4) == 2
"""


def test_a_suite_that_hangs_costs_the_bounded_baseline_and_names_the_test(
    tmp_path: Path, scripted_server: Any
) -> None:
    repo = tmp_path / "hang"
    repo.mkdir()
    (repo / "calc.py").write_text(HANGING_CODE)
    (repo / "test_calc.py").write_text(HANGING_TESTS)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    server = scripted_server([run_command("run_checks"), GIVE_UP])
    started = time.monotonic()
    proc = coder_run(
        repo,
        server.base_url,
        "--check",
        f"{sys.executable} -m pytest -q",
        "--time-budget",
        "100",  # the baseline may take a quarter: 30 s at least
        "--max-turns",
        "2",
        timeout=300,
    )
    elapsed = time.monotonic() - started
    assert len(server.received) == 2, proc.stderr
    second = json.dumps(server.received[1])
    assert "the test that hung: test_calc.py::test_root (line 9)" in second
    hung = re.search(r"the test that hung: [^\]]*", second)
    assert hung is not None
    # the dump catches the loop on its condition or its body
    assert re.search(r"stuck at calc.py line [34] in root", hung.group(0)), hung.group(0)
    assert elapsed < 90  # one bounded baseline (30 s), not the check timeout (600 s)
