"""Ctrl-C during `coder run`: the running command's process group dies, the run ends cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.core.test_run_e2e import CHECK


def test_ctrl_c_stops_the_command_and_ends_with_interrupted(
    textutil: Path,
    scripted_server: Any,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "still-running"
    server = scripted_server(
        [
            {
                "tool_calls": [
                    {"name": "run", "arguments": {"command": f"sleep 3 && touch {marker}"}}
                ]
            },
            {"text": "should never be asked", "repeat": True},
        ]
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "coder", "run", "fix it", "--repo", str(textutil),
         "--base-url", server.base_url, "--model", "m", "--check", CHECK, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line)["type"] == "tool_called":
            break
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest, stderr = proc.communicate(timeout=10)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 1, stderr
    *_, finished, report = [json.loads(line) for line in rest.splitlines()]
    assert (finished["type"], finished["outcome"]) == ("finished", "interrupted")
    assert (report["type"], report["report"]["outcome"]) == ("report", "interrupted")
    assert len(server.received) == 1
    time.sleep(3)
    assert not marker.exists()
    assert "Traceback" not in stderr


def test_ctrl_c_while_waiting_for_the_first_token_returns_at_once(
    textutil: Path, scripted_server: Any
) -> None:
    server = scripted_server([{"delay_s": 8.0, "text": "too late", "repeat": True}])
    proc = subprocess.Popen(
        [sys.executable, "-m", "coder", "run", "fix it", "--repo", str(textutil),
         "--base-url", server.base_url, "--model", "m", "--check", CHECK, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["type"] == "session_started"
    deadline = time.monotonic() + 10
    while not server.received and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest, stderr = proc.communicate(timeout=10)
    assert time.monotonic() - sent < 1.5
    assert proc.returncode == 1, stderr
    finished = [json.loads(line) for line in rest.splitlines()][-2]
    assert (finished["type"], finished["outcome"]) == ("finished", "interrupted")
