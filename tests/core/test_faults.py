"""No single input crashes a run: provider faults over real HTTP to the scripted server, odd
tool inputs, repeated calls, and every entry point's errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from coder import config
from coder.checks import CheckRunner
from coder.conversation import ToolCall
from coder.tools import AutoApprover, ToolContext, ToolRegistry, tool
from coder.workspace import Workspace
from tests.conftest import FIXTURES
from tests.runs import coder_run, events, finished, run_command

FINISH = {"text": "Done.", "tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("coder: error:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def user_config(text: str) -> None:
    path = config.user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_429_with_retry_after_is_waited_for_and_shown(repo: Path, scripted_server: Any) -> None:
    server = scripted_server([{"status": 429, "retry_after_ms": 400}, FINISH])
    proc = coder_run(repo, server.base_url, "--check", "true")
    assert proc.returncode == 0, proc.stderr
    assert "the model server answered HTTP 429: retrying in 0.4 s (retry 1 of 2)" in proc.stderr
    notices = [e["message"] for e in events(proc) if e["type"] == "notice"]
    assert any("HTTP 429" in n for n in notices)


def test_500s_past_the_retries_end_the_run_with_one_line(repo: Path, scripted_server: Any) -> None:
    server = scripted_server([{"status": 500, "error": "overloaded", "repeat": True}])
    proc = coder_run(repo, server.base_url)
    assert proc.returncode == 3
    assert "HTTP 500" in one_error_line(proc) and len(server.received) == 3


@pytest.mark.parametrize("fault", ["malformed_event", "break_stream"])
def test_a_broken_stream_is_retried_once(repo: Path, scripted_server: Any, fault: str) -> None:
    server = scripted_server([{"text": "half an answer", fault: True}, FINISH])
    proc = coder_run(repo, server.base_url, "--check", "true")
    assert proc.returncode == 0, proc.stderr
    assert len(server.received) == 2


def test_a_stream_that_breaks_twice_is_exit_3_with_one_line(
    repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([{"text": "half", "malformed_event": True, "repeat": True}])
    proc = coder_run(repo, server.base_url)
    assert proc.returncode == 3
    assert "mid-answer" in one_error_line(proc)


def test_context_overflow_compacts_and_asks_again(repo: Path, scripted_server: Any) -> None:
    (repo / "big.txt").write_text("".join(f"line {n} " * 8 + "\n" for n in range(300)))
    overflow = {
        "status": 400,
        "error": "This model's maximum context length is 8192 tokens.",
        "error_code": "context_length_exceeded",
    }
    server = scripted_server(
        [
            run_command("read_file", path="big.txt"),
            run_command("read_file", path="textutil.py"),
            run_command("read_file", path="ISSUE.md"),
            overflow,
            FINISH,
        ]
    )
    proc = coder_run(repo, server.base_url, "--check", "true")
    assert proc.returncode == 0, proc.stderr
    assert "too long for the model: compacted" in proc.stderr
    before, after = (json.dumps(body) for body in server.received[3:5])
    assert len(after) < len(before) - 5000


def test_a_stalled_endpoint_is_given_up_on_within_model_timeout(
    repo: Path, scripted_server: Any
) -> None:
    user_config("model-timeout-s = 2\n")
    server = scripted_server([{"delay_s": 30, **FINISH}])
    started = time.monotonic()
    proc = coder_run(repo, server.base_url)
    assert time.monotonic() - started < 20
    assert proc.returncode == 3
    assert "did not answer within 2 s (model-timeout-s)" in one_error_line(proc)


def test_the_same_call_repeated_is_refused_then_ends_the_run(
    repo: Path, scripted_server: Any
) -> None:
    server = scripted_server([{**run_command("read_file", path="textutil.py"), "repeat": True}])
    proc = coder_run(repo, server.base_url, "--check", "true", "--max-turns", "20")
    assert proc.returncode == 1
    assert finished(proc)["outcome"] == "failed"
    assert "repeated read_file" in finished(proc)["summary"]
    results = [e for e in events(proc) if e["type"] == "tool_result"]
    assert [r["ok"] for r in results] == [True, True, False, False]
    assert "Not run: you made exactly this read_file call 3 times" in results[2]["output"]
    assert len(server.received) == 5


def test_the_same_call_after_a_change_runs_again(repo: Path, scripted_server: Any) -> None:
    check = {"tool_calls": [{"name": "run_checks", "arguments": {}}]}
    edit = run_command("run", command="echo more >> textutil.py")
    server = scripted_server([check, check, edit, check, check, FINISH])
    proc = coder_run(repo, server.base_url, "--check", "true")
    assert proc.returncode == 0, proc.stderr
    assert all(e["ok"] for e in events(proc) if e["type"] == "tool_result")


def test_odd_inputs_are_tool_errors_and_the_run_goes_on(repo: Path, scripted_server: Any) -> None:
    (repo / "latin1.txt").write_bytes("café crème\nsecond line\n".encode("latin-1"))
    long_name = "d" * 300 + ".py"
    new_file = f"--- /dev/null\n+++ b/{long_name}\n@@ -0,0 +1 @@\n+x\n"
    bad_diff = "--- a/latin1.txt\n+++ b/latin1.txt\n@@ -1,2 +1,2 @@\n-nothing like it\n+x\n"
    server = scripted_server(
        [
            run_command("read_file", path=long_name),
            run_command("apply_diff", diff=new_file),
            run_command("apply_diff", diff=bad_diff),
            run_command("search", query="(a|aa)+$", regex=True),
            FINISH,
        ]
    )
    (repo / "aaa.txt").write_text("a" * 60 + "b\n")
    proc = coder_run(repo, server.base_url, "--check", "true")
    assert proc.returncode == 0, proc.stderr
    results = [e for e in events(proc) if e["type"] == "tool_result"]
    assert not results[0]["ok"] and "too long" in results[0]["output"]
    assert "too long" in results[1]["output"]
    assert "caf\\xe9" in results[2]["output"]  # the undecodable byte shown escaped
    assert "backtracks" in results[3]["output"]
    assert len(server.received) == 5  # every request, after each odd input, was sent
    json.dumps(server.received, ensure_ascii=False).encode("utf-8")


def test_an_unexpected_error_inside_a_tool_becomes_its_result(git_repo: Path) -> None:
    @tool
    def explode(ctx: ToolContext, value: str) -> str:
        """A tool with a bug.
        value: anything
        """
        return str(1 / len(value))

    ws = Workspace(git_repo)
    ctx = ToolContext(ws=ws, approver=AutoApprover(), checks=CheckRunner(ws, []))
    outcome = ToolRegistry([explode]).dispatch(ctx, ToolCall("c", "explode", {"value": ""}))
    assert outcome.status == "error"
    assert outcome.text == "error: explode failed (ZeroDivisionError): division by zero"


def test_coder_map_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m coder map --repo {FIXTURES / 'repomap' / 'sample_repo'} --tokens 4000"
        " | head -1",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert proc.stdout.count("\n") == 1
    assert proc.stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        ("run", "@{dir}"),
        ("apply", "{dir}"),
        ("map", "--repo", "{file}"),
        ("undo", "--repo", "{file}"),
    ],
)
def test_entry_points_answer_bad_paths_with_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "a-file").write_text("x")
    argv = [a.format(dir=tmp_path, file=tmp_path / "a-file") for a in args]
    proc = subprocess.run(
        [sys.executable, "-m", "coder", *argv], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    one_error_line(proc)


def test_an_unreadable_repo_config_is_one_line_and_exit_2(repo: Path) -> None:
    """A link to /proc/self/mem (EIO even for root) is refused before it is read: the
    repository's config is read only inside the repository; a folder is no config."""
    (repo / ".coder.toml").symlink_to("/proc/self/mem")
    argv = [sys.executable, "-m", "coder", "run", "fix it", "--repo", str(repo)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "leads outside the repository" in one_error_line(proc)
    (repo / ".coder.toml").unlink()
    (repo / ".coder.toml").mkdir()
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "is a directory" in one_error_line(proc)
