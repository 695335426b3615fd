"""Sessions: every step is recorded; a run killed with -9 is listed and resumed with the same
conversation, and undo after the resume goes back to the tree before the session.

Real `coder` subprocesses against the scripted server over real HTTP, real git repositories.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from coder.session_log import SessionLog, all_sessions, read, sessions_dir
from tests.runs import coder, events

NEW_FILE = "--- /dev/null\n+++ b/notes.txt\n@@ -0,0 +1 @@\n+first step\n"
WRITE = {"tool_calls": [{"name": "apply_diff", "arguments": {"diff": NEW_FILE}}]}
FINISH = {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}


def _start(repo: Path, base_url: str, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "coder", "run", "write the notes", "--repo", str(repo)]
    argv += ["--base-url", base_url, "--model", "scripted", "--check", "true", "--json", *extra]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )


def _wait_for(path_glob: Path, predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting on {path_glob}")


def test_a_run_killed_with_9_is_listed_resumed_with_its_conversation_and_undone(
    repo: Path, scripted_server: Any
) -> None:
    slow = {"delay_s": 60, "text": "thinking"}
    first = scripted_server([WRITE, slow])
    proc = _start(repo, first.base_url)
    folder = sessions_dir(repo)
    _wait_for(folder, lambda: len(first.received) >= 2)  # the write is done, turn 2 waits
    os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert (repo / "notes.txt").exists(), out + err
    assert (repo / "notes.txt").read_text() == "first step\n"

    listed = coder("sessions", "--repo", str(repo))
    assert listed.returncode == 0, listed.stderr
    (ident,) = [r.ident for r in all_sessions(repo)]
    assert ident in listed.stdout and "stopped" in listed.stdout
    assert "write the notes" in listed.stdout

    second = scripted_server([FINISH])
    argv = ["resume", "--continue", "--repo", str(repo), "--base-url", second.base_url]
    argv += ["--json"]  # the checks come from the session record
    resumed = coder(*argv)
    assert resumed.returncode == 0, resumed.stderr
    started = [e for e in events(resumed) if e["type"] == "session_started"]
    assert started[0]["checks"] == ["true"] and started[0]["checks_source"] == "session"
    assert events(resumed)[-2]["type"] == "finished"
    sent = json.dumps(second.received[0]["messages"])
    assert "write the notes" in sent and "notes.txt" in sent  # the same conversation
    assert "first step" in sent  # the write the killed run made, as the model saw it
    assert "Carry on with the task where you stopped." in sent

    undone = coder("undo", "--repo", str(repo))
    assert undone.returncode == 0, undone.stderr
    assert not (repo / "notes.txt").exists()  # the tree before the session, both runs

    replayed = coder("replay", ident[:8], "--repo", str(repo), "--json")
    kinds = [json.loads(line)["type"] for line in replayed.stdout.splitlines()]
    assert kinds[0] == "session_started" and "tool_called" in kinds and kinds[-1] == "report"
    assert "assistant_delta" not in kinds
    readable = coder("replay", ident, "--repo", str(repo)).stdout
    assert "→ apply_diff(" in readable and "session_started: write the notes" in readable


def test_a_record_cut_short_is_read_up_to_its_last_whole_line(tmp_path: Path) -> None:
    log = SessionLog.create(tmp_path, "s1", {"task": "t"})
    log.append("event", {"type": "notice", "message": "one"})
    log.append("event", {"type": "notice", "message": "two"})
    whole = log.path.read_bytes()
    log.path.write_bytes(whole[:-20])  # a kill -9 in the middle of the last write
    cut = read(log.path)
    assert [e["message"] for e in cut.events] == ["one"] and cut.damaged

    altered = whole.replace(b'"one"', b'"0ne"')
    log.path.write_bytes(altered)
    assert read(log.path).events == [] and read(log.path).damaged
    log.path.write_bytes(whole)
    assert [e["message"] for e in read(log.path).events] == ["one", "two"]


def test_resume_without_a_session_and_an_unknown_id_are_one_line_errors(
    repo: Path,
) -> None:
    for argv in (("resume", "--repo", str(repo)), ("replay", "nope", "--repo", str(repo))):
        proc = coder(*argv)
        assert proc.returncode == 2
        assert proc.stderr.strip().count("\n") == 0 and "no session" in proc.stderr


def test_a_resumed_session_keeps_its_prompt_cache_key_and_the_service_tier_passes(
    repo: Path, scripted_server: Any
) -> None:
    first = scripted_server([FINISH])
    argv = ["--api", "responses", "--check", "true", "--service-tier", "flex"]
    done = coder("run", "write the notes", "--repo", str(repo), "--base-url", first.base_url, *argv)
    assert done.returncode == 0, done.stderr
    second = scripted_server([FINISH])
    again = coder("resume", "--repo", str(repo), "--base-url", second.base_url, *argv)
    assert again.returncode == 0, again.stderr

    (ident,) = [r.ident for r in all_sessions(repo)]
    keys = {first.received[0]["prompt_cache_key"], second.received[0]["prompt_cache_key"]}
    assert keys == {f"coder-{ident}"}
    assert first.received[0]["service_tier"] == "flex" == second.received[0]["service_tier"]


def test_the_record_holds_no_secret_even_in_a_profiles_own_data(
    repo: Path, scripted_server: Any
) -> None:
    secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    (repo / "settings.py").write_text(f'TOKEN = "{secret}"\n')
    server = scripted_server([FINISH])
    argv = ["run", "use settings.py", "--repo", str(repo), "--base-url", server.base_url]
    proc = coder(*argv, "--profile", "small", "--check", "true")
    assert proc.returncode == 0, proc.stderr

    (recorded,) = all_sessions(repo)
    assert "settings.py" in recorded.path.read_text()  # the file was shown and recorded
    assert secret not in recorded.path.read_text()
    assert secret not in json.dumps(server.received)
