"""The real `coder` in a real terminal (tmux): type a task, approve the diff with `a`, read
the screen. Skipped only when tmux is not installed (`apt-get install -y tmux`)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import CHECK
from tests.tui.scripts import whole_fix

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


class Terminal:
    """A detached tmux session on a private server socket."""

    def __init__(self, command: str, cwd: Path) -> None:
        self.socket = f"coder-test-{uuid.uuid4().hex[:8]}"
        self.tmux = [str(TMUX), "-L", self.socket]
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", "t", "-x", "110", "-y", "40", "-c", str(cwd)]
            # COLUMNS/LINES inherited from pytest would override the real terminal size.
            + [
                "env",
                "-u",
                "COLUMNS",
                "-u",
                "LINES",
                "sh",
                "-c",
                command + "; echo EXITED $?; sleep 30",
            ],
            check=True,
        )

    def screen(self) -> str:
        proc = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True
        )
        return proc.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", "t", *keys], check=True)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; screen:\n{screen}")
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def test_real_coder_in_tmux_fixes_the_bug_after_approving_with_a(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(whole_fix())
    coder = Path(sys.executable).parent / "coder"
    command = shlex.join(
        [str(coder), "--base-url", server.base_url, "--check", CHECK, "--approval", "suggest"]
    )
    term = Terminal(command, stats_repo)
    try:
        term.wait_for("Describe a task")
        term.keys("fix the statistics", "Enter")
        term.wait_for("Review the proposed change")
        review = term.wait_for("+    ordered = sorted(values)")
        assert "a approve all" in review
        term.keys("a")
        done = term.wait_for("done: the checks pass")
        assert "checks ✓ 1/1" in done
        term.keys("C-c")
        term.keys("C-c")
        assert "EXITED 0" in term.wait_for("EXITED")
    finally:
        term.close()
    center = (stats_repo / "stats" / "center.py").read_text()
    assert "ordered = sorted(values)" in center and "/ len(values)\n" in center


def test_a_task_typed_on_several_lines_reaches_the_model_whole_from_a_subdirectory(
    stats_repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(whole_fix())
    coder = Path(sys.executable).parent / "coder"
    command = shlex.join(
        [str(coder), "--base-url", server.base_url, "--check", CHECK, "--approval", "full-auto"]
    )
    term = Terminal(command, stats_repo / "stats")  # the repository root is found from here
    try:
        term.wait_for("Describe a task")
        term.keys("-l", "fix the statistics:")
        term.keys("C-j")  # Ctrl+J: a new line
        term.keys("-l", "the median is wrong \\")
        term.keys("Enter")  # after a backslash, Enter is a new line too
        term.keys("-l", "for even counts")
        term.keys("Enter")
        done = term.wait_for("done: the checks pass")
        assert "checks ✓ 1/1" in done
        term.keys("-l", "/exit")
        term.keys("Enter")
        assert "EXITED 0" in term.wait_for("EXITED")
    finally:
        term.close()
    first = server.received[0]["messages"]
    texts = "\n".join(str(m.get("content")) for m in first if m.get("role") == "user")
    assert "fix the statistics:\nthe median is wrong \nfor even counts" in texts, texts
