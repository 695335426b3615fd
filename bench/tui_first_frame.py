"""Time from launching `coder` (no subcommand) to its first drawn screen, in a real pty.

Starts the process on a pseudo-terminal, reads what it writes and stops the clock when the
prompt's placeholder appears. No network is touched at start: the base URL points at a port
nobody listens on. The peer is a bare Textual app drawing one line, started the same way.
Prints the median of several runs.

    python bench/tui_first_frame.py [--runs 7]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "tasks" / "stats_fix"
CODER = Path(sys.executable).parent / "coder"
PEER = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Hello(App):\n"
    "    def compose(self):\n"
    "        yield Static('Describe a task')\n"
    "Hello().run()\n"
)


def first_frame(argv: list[str], cwd: Path, marker: bytes, timeout: float = 20.0) -> float:
    """Seconds from fork to `marker` appearing on the terminal."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    seen = b""
    elapsed = float("nan")
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            seen = (seen + chunk)[-4096:]
            if marker in seen:
                elapsed = time.perf_counter() - start
                break
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return elapsed


def main() -> None:
    """Measure coder and the peer; print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="coder-bench-"))
    repo = tmp / "repo"
    shutil.copytree(FIXTURE, repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    peer = tmp / "peer.py"
    peer.write_text(PEER)
    cases = {
        "bare Textual app (peer)": [sys.executable, str(peer)],
        "coder (TUI, no subcommand)": [str(CODER), "--base-url", "http://127.0.0.1:9/v1"],
    }
    print(f"{'first frame':<28} {'median s':>9} {'min s':>7} {'max s':>7}  ({args.runs} runs)")
    for name, argv in cases.items():
        times = [first_frame(argv, repo, b"Describe a task") for _ in range(args.runs)]
        print(f"{name:<28} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
