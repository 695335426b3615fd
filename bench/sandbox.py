"""What the sandbox and the undo ledger cost per command, side by side for versions of coder.

Each version (`--variant NAME=TREE`, a checkout such as a `git worktree` of an older
commit; by default this tree alone) runs in a worker process of its own, over its own copy
of a repository of `--files` files, and answers one command at a time. Requests go to the
workers interleaved (command by command, round robin), so the machine's noise hits every
version alike. Three ways to run each command, per version:

- off: `Workspace.run` with `--sandbox off` (coder's pipe, reader thread, group kill, limits);
- boxed: `Workspace.run` in the default sandbox (bubblewrap, masks, limits);
- session: the boxed run as a session makes it, with the undo ledger snapshotting the
  tree before and after (its cost grows with the repository's size).

Printed: the median wall time per command (ms) and, per version and repository size, what
the sandbox adds (boxed - off) and what the ledger adds (session - boxed).

    python bench/sandbox.py [--runs 20] [--files 500,7700,50000] \\
        [--variant today=/tmp/old --variant now=.]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
COMMANDS = ["true", f"{sys.executable} -c pass"]
WAYS = ("off", "boxed", "session")
WORKER = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from coder.sandbox import Sandbox
from coder.undo import Ledger
from coder.workspace import Workspace
repo = Path(sys.argv[2])
ways = {
    "off": Workspace(repo, Sandbox(repo, mode="off")),
    "boxed": Workspace(repo, Sandbox(repo)),
    "session": Workspace(repo, Sandbox(repo)),
}
ways["boxed"].sandbox.probe()
ways["session"].observer = Ledger.start(ways["session"])
print("ready", flush=True)
for line in sys.stdin:
    way, command = line.rstrip("\n").split("\t", 1)
    start = time.perf_counter()
    ways[way].run(command)
    print(time.perf_counter() - start, flush=True)
"""


def make_repo(path: Path, files: int) -> None:
    """A committed repository of `files` small Python files in folders of 100."""
    for n in range(files):
        target = path / f"pkg{n // 100}" / f"mod{n}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"def f{n}():\n    return {n}\n")
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    subprocess.run(["git", "config", "gc.auto", "0"], cwd=path, check=True)  # no packing mid-copy
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"],
        cwd=path,
        check=True,
    )


class Worker:
    """One version of coder in its own process, over its own copy of the repository."""

    def __init__(self, tree: Path, repo: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tree), str(repo)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=repo,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().strip()
        if ready != "ready":
            raise SystemExit(f"the worker for {tree} did not start")

    def time(self, way: str, command: str) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{way}\t{command}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def measure(
    variants: dict[str, Path], files: int, runs: int
) -> dict[tuple[str, str, str], list[float]]:
    """Interleaved timings: (variant, way, command) → seconds of each run."""
    times: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="coder-sandbox-bench-") as folder:
        template = Path(folder) / "template"
        make_repo(template, files)
        workers = {}
        for name, tree in variants.items():
            copy = Path(folder) / name
            shutil.copytree(template, copy, symlinks=True)
            workers[name] = Worker(tree, copy)
        try:
            for _ in range(runs):
                for command in COMMANDS:
                    for way in WAYS:
                        for name, worker in workers.items():
                            seconds = worker.time(way, command)
                            times.setdefault((name, way, command), []).append(seconds)
        finally:
            for worker in workers.values():
                worker.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per command, way, variant")
    parser.add_argument(
        "--files", default="500,7700,50000", help="repository sizes, comma-separated"
    )
    parser.add_argument(
        "--variant", action="append", default=[], help="NAME=TREE: a checkout of coder to time"
    )
    args = parser.parse_args()
    variants = {"this": HERE}
    if args.variant:
        variants = {}
        for spec in args.variant:
            name, _, tree = spec.partition("=")
            variants[name] = Path(tree).resolve()
    started = time.monotonic()
    for files in (int(f) for f in args.files.split(",")):
        times = measure(variants, files, args.runs)
        print(f"\n{files} files: median wall time per command, {args.runs} interleaved runs (ms)")
        header = "variant".ljust(12) + "command".ljust(44) + "".join(w.rjust(10) for w in WAYS)
        print(header + "sandbox".rjust(10) + "ledger".rjust(10))
        for name in variants:
            for command in COMMANDS:
                cells = [statistics.median(times[(name, way, command)]) * 1000 for way in WAYS]
                row = name.ljust(12) + command[-42:].ljust(44)
                row += "".join(f"{cell:10.1f}" for cell in cells)
                row += f"{cells[1] - cells[0]:10.1f}{cells[2] - cells[1]:10.1f}"
                print(row)
    print(
        f"\n(sandbox = boxed - off; ledger = session - boxed; {time.monotonic() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
