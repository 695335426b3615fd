"""`coder run` as a real subprocess against the scripted server, and what a run emitted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_command(name: str, **arguments: Any) -> dict[str, Any]:
    """A scripted turn that calls one tool."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def coder(
    *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`coder ARGS…` as a real subprocess (standard input: `stdin`, else nothing)."""
    return subprocess.run(
        [sys.executable, "-m", "coder", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def coder_run(
    repo: Path,
    base_url: str,
    *extra: str,
    env: dict[str, str] | None = None,
    task: str = "fix it",
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`coder run TASK --json` in `repo` against the scripted server at `base_url`."""
    argv = [sys.executable, "-m", "coder", "run", task, "--repo", str(repo)]
    argv += ["--base-url", base_url, "--model", "scripted", "--json", *extra]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def events(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The JSON Lines a run printed."""
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def tool_outputs(server: Any) -> list[str]:
    """Every tool result the model received, over all requests (chat format)."""
    seen: list[str] = []
    for body in server.received:
        for message in body.get("messages", []):
            if message.get("role") == "tool" and message["content"] not in seen:
                seen.append(str(message["content"]))
    return seen


def finished(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The run's `finished` event (the `report` event follows it)."""
    return next(e for e in reversed(events(proc)) if e["type"] == "finished")


PEAK_WRAPPER = (
    "import sys\nfrom coder.cli import main\n"
    "out = sys.argv[1]\nsys.argv = ['coder', *sys.argv[2:]]\ncode = main()\n"
    "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    "open(out, 'w').write(peak.split()[1])\n"
    "sys.exit(code)\n"
)


def measured_coder_run(
    repo: Path, base_url: str, folder: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`coder run x --json` against the scripted server, and coder's own peak memory in
    MiB (VmHWM, read inside it as it ends)."""
    peak_file = folder / "peak"
    wrapper = folder / "measured_coder.py"
    wrapper.write_text(PEAK_WRAPPER)
    argv = [sys.executable, str(wrapper), str(peak_file), "run", "x", "--repo", str(repo)]
    argv += ["--base-url", base_url, "--model", "scripted", "--json", *extra]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    return proc, int(peak_file.read_text()) / 1024
