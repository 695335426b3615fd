"""Event-loop lag of the TUI while a model streams 100 tokens/s and a check runs.

An agent-like thread sends events through the real `TuiEventSink`: markdown tokens at
100 tokens/s and the live output of a real check command (pytest over a fixture repo, in a
loop) via `Workspace.run`. A probe in the app's loop sleeps 10 ms at a time and records how
late it wakes. Prints p50 / p99 / max lag per scenario (idle app as the peer), medians of
several runs.

    python bench/tui_lag.py [--runs 3] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from coder.config import Settings
from coder.events import AssistantDelta, AssistantMessage, ToolCalled, ToolOutput, ToolResult
from coder.tui import make_app
from coder.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "tasks" / "stats_fix"
TOKENS = (
    "The **mean** divides by `len(values) - 1`, which is wrong for every input. Here is "
    "the fix:\n\n```python\ndef mean(values):\n    return sum(values) / len(values)\n```\n\n"
    "- first, the mean\n- then, the median, which must sort its input\n\n"
).split(" ")
PROBE_S = 0.010


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _stream(app, stop: threading.Event, rate: float) -> None:  # type: ignore[no-untyped-def]
    sink, turn, index = app.sink, 0, 0
    next_at = time.monotonic()
    while not stop.is_set():
        sink.emit(AssistantDelta(TOKENS[index % len(TOKENS)] + " "))
        index += 1
        if index % 300 == 0:
            turn += 1
            sink.emit(AssistantMessage("", turn))
        next_at += 1.0 / rate
        time.sleep(max(0.0, next_at - time.monotonic()))


def _check(app, repo: Path, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    ws, sink, n = Workspace(repo), app.sink, 0
    command = f"{sys.executable} -m pytest -v -p no:cacheprovider"
    while not stop.is_set():
        n += 1
        call_id = f"check{n}"
        sink.emit(ToolCalled(call_id, "run_checks", {}))

        def live(text: str, call_id: str = call_id) -> None:
            sink.emit(ToolOutput(call_id, text))

        result = ws.run(command, on_output=live)
        sink.emit(ToolResult(call_id, "run_checks", result.exit_code == 0, result.output[-200:]))


async def _measure(load: bool, seconds: float, repo: Path) -> list[float]:
    app = make_app(Settings(repo=repo, model="bench", approval="full-auto"))
    lags: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        stop = threading.Event()
        threads = []
        if load:
            threads = [
                threading.Thread(target=_stream, args=(app, stop, 100.0), daemon=True),
                threading.Thread(target=_check, args=(app, repo, stop), daemon=True),
            ]
            for thread in threads:
                thread.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.monotonic()
            await asyncio.sleep(PROBE_S)
            lags.append(time.monotonic() - start - PROBE_S)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        await pilot.pause(0.1)
    return lags


def main() -> None:
    """Run the scenarios and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="coder-bench-"))
    repo = tmp / "repo"
    shutil.copytree(FIXTURE, repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    print(
        f"{'scenario':<34} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  (median of {args.runs} runs)"
    )
    for name, load in (("idle app (peer)", False), ("100 tok/s stream + running check", True)):
        p50s, p99s, maxes = [], [], []
        for _ in range(args.runs):
            lags = asyncio.run(_measure(load, args.seconds, repo))
            p50s.append(_percentile(lags, 0.50) * 1000)
            p99s.append(_percentile(lags, 0.99) * 1000)
            maxes.append(max(lags) * 1000)
        print(
            f"{name:<34} {statistics.median(p50s):>8.1f} {statistics.median(p99s):>8.1f} "
            f"{statistics.median(maxes):>8.1f}"
        )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
