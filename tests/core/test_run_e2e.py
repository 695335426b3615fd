"""`coder run` end to end: a real subprocess, real HTTP to the scripted server, real git repo."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, git
from tests.runs import coder

CHECK = f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider"
SCRIPTS = FIXTURES / "scripts"


def run_agent(repo: Path, base_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return coder(
        "run", "@" + str(repo / "ISSUE.md"), "--repo", str(repo), "--base-url", base_url,
        "--model", "scripted-model", "--check", CHECK, "--json", *extra,
    )  # fmt: skip


def events(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.splitlines()]


def tool_messages(request: dict[str, Any]) -> list[str]:
    """Tool results the model received in one request, whichever API it used."""
    if "messages" in request:
        return [str(m["content"]) for m in request["messages"] if m["role"] == "tool"]
    return [str(i["output"]) for i in request["input"] if i.get("type") == "function_call_output"]


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_fixes_the_bug_through_either_api(textutil: Path, scripted_server: Any, api: str) -> None:
    server = scripted_server(SCRIPTS / "fix_textutil.json")
    proc = run_agent(textutil, server.base_url, "--api", api)
    assert proc.returncode == 0, proc.stderr
    assert "title.lower()" in (textutil / "textutil.py").read_text()
    kinds = [e["type"] for e in events(proc)]
    assert kinds[0] == "session_started" and kinds[-2:] == ["finished", "report"]
    assert {"assistant_message", "tool_called", "tool_result", "check_result", "usage"} <= set(
        kinds
    )
    assert all(isinstance(e["ts"], float) for e in events(proc))
    assert events(proc)[-2]["outcome"] == "passed"
    expected_path = "/v1/chat/completions" if api == "chat" else "/v1/responses"
    assert set(server.paths) == {expected_path}


def test_model_that_never_fixes_ends_with_exit_1_and_saw_every_failure(
    textutil: Path, scripted_server: Any
) -> None:
    server = scripted_server(SCRIPTS / "never_fixes.json")
    proc = run_agent(textutil, server.base_url, "--max-turns", "3")
    assert proc.returncode == 1, proc.stderr
    finished = events(proc)[-2]
    assert (finished["outcome"], finished["turns"]) == ("budget_exhausted", 3)
    assert len(server.received) == 3
    # Each run_checks result (turns 1 and 2) reached the model in the following request.
    for request, seen in ((server.received[1], 1), (server.received[2], 2)):
        failures = [m for m in tool_messages(request) if "FAILED (exit code 1)" in m]
        assert len(failures) == seen
        assert "test_slugify_lowercases_words" in failures[-1]


def test_finish_while_checks_fail_is_refused(textutil: Path, scripted_server: Any) -> None:
    server = scripted_server(
        [
            {"tool_calls": [{"name": "finish", "arguments": {"summary": "done, trust me"}}]},
            {"text": "I give up.", "tool_calls": [], "repeat": True},
        ]
    )
    proc = run_agent(textutil, server.base_url, "--max-turns", "2")
    assert proc.returncode == 1
    refused = tool_messages(server.received[1])
    assert refused and refused[0].startswith("`finish` refused: the checks still fail.")
    assert "assert 'ello-orld' == 'hello-world'" in refused[0]


def test_text_tool_call_model_fixes_the_bug(textutil: Path, scripted_server: Any) -> None:
    server = scripted_server(SCRIPTS / "fix_textutil_text_calls.json")
    proc = run_agent(textutil, server.base_url)
    assert proc.returncode == 0, proc.stderr
    assert "title.lower()" in (textutil / "textutil.py").read_text()


def test_path_escape_is_refused_and_reported_to_the_model(
    textutil: Path, scripted_server: Any
) -> None:
    secret = textutil.parent / "secret.txt"
    secret.write_text("top secret\n")
    server = scripted_server(
        [
            {"tool_calls": [{"name": "read_file", "arguments": {"path": "../secret.txt"}}]},
            {"tool_calls": [{"name": "read_file", "arguments": {"path": str(secret)}}]},
            {"tool_calls": [{"name": "run_checks", "arguments": {}}], "repeat": True},
        ]
    )
    proc = run_agent(textutil, server.base_url, "--max-turns", "3")
    assert proc.returncode == 1
    answers = tool_messages(server.received[2])
    assert answers[0] == "error: paths with '..' are refused: ../secret.txt"
    assert answers[1].startswith("error: absolute paths are refused")
    assert "top secret" not in json.dumps(server.received)


def test_unreachable_base_url_exits_3_with_one_line(textutil: Path) -> None:
    proc = run_agent(textutil, "http://127.0.0.1:9/v1")
    assert proc.returncode == 3
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("coder: error:")]
    assert len(error_lines) == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("run",),
        ("run", "task", "--max-turns", "zero"),
        ("run", "task", "--max-turns", "0"),
        ("run", "task", "--time-budget", "0"),
        ("run", "task", "--time-budget", "soon"),
        ("run", "task", "--api", "soap"),
        ("run", "task", "--repo", "/nonexistent/dir"),
        ("run", "@/nonexistent/task.md"),
        ("--bogus-flag",),
    ],
)
def test_bad_flags_exit_2_with_one_line(args: tuple[str, ...], textutil: Path) -> None:
    proc = coder(*args, cwd=textutil)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "error" in proc.stderr


def test_bad_config_file_exits_2(textutil: Path) -> None:
    (textutil / ".coder.toml").write_text("max-turns = 'many'\n")
    proc = coder("run", "fix it", "--repo", str(textutil))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"coder: error: {textutil / '.coder.toml'}: max-turns: input should be a valid integer, "
        'not "many"'
    ]


def test_non_git_directory_exits_2(tmp_path: Path) -> None:
    proc = coder("run", "fix it", "--repo", str(tmp_path), "--base-url", "http://127.0.0.1:9/v1")
    assert proc.returncode == 2
    assert "not a git repository" in proc.stderr


def test_undo_restores_dirty_tree_after_agent_edit(textutil: Path, scripted_server: Any) -> None:
    (textutil / "textutil.py").write_text(
        (textutil / "textutil.py").read_text() + "\n\n# user's uncommitted note\n"
    )
    (textutil / "scratch.txt").write_bytes(b"untracked \x00 bytes\r\n")
    before = {p: (textutil / p).read_bytes() for p in ("textutil.py", "scratch.txt")}
    status = git(textutil, "status", "--porcelain")
    server = scripted_server(SCRIPTS / "fix_textutil.json")
    assert run_agent(textutil, server.base_url).returncode == 0
    assert (textutil / "textutil.py").read_bytes() != before["textutil.py"]
    proc = coder("undo", "--repo", str(textutil))
    assert proc.returncode == 0, proc.stderr
    assert {p: (textutil / p).read_bytes() for p in before} == before
    assert git(textutil, "status", "--porcelain") == status
