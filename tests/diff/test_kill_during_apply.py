"""`coder apply` killed with SIGKILL at random moments: after the next start every file is
whole, the patch is all there or not at all, and no temporary file is left behind."""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from coder.diff import unified_diff
from coder.journal import state_dir
from coder.workspace import Workspace
from tests.conftest import git

FILES = 30


def original(n: int) -> str:
    return "".join(f"file {n} line {i}\n" for i in range(4000))


def patched(n: int) -> str:
    return original(n).replace(f"file {n} line 1\n", f"file {n} line one\n", 1) + "added\n"


def make_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for n in range(FILES):
        (root / f"f{n:02}.txt").write_text(original(n))
    (root / "gone.txt").write_text("deleted by the patch\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


def whole_patch(root: Path) -> Path:
    text = "".join(unified_diff(f"f{n:02}.txt", original(n), patched(n)) for n in range(FILES))
    text += unified_diff("new.txt", None, "created by the patch\n")
    text += unified_diff("gone.txt", "deleted by the patch\n", None)
    path = root.parent / "big.diff"
    path.write_text(text)
    return path


def state(root: Path) -> str:
    """ "before", "after", or a description of a torn tree."""
    files = [(root / f"f{n:02}.txt").read_text() for n in range(FILES)]
    befores = [text == original(n) for n, text in enumerate(files)]
    afters = [text == patched(n) for n, text in enumerate(files)]
    new, gone = (root / "new.txt").exists(), (root / "gone.txt").exists()
    if all(befores) and not new and gone:
        return "before"
    if all(afters) and new and not gone:
        return "after"
    return f"torn: {sum(befores)} before, {sum(afters)} after, new={new}, gone={gone}"


def test_kill_9_at_random_moments_never_leaves_a_half_applied_patch(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    patch = whole_patch(root)
    argv = [sys.executable, "-m", "coder", "apply", str(patch), "--repo", str(root)]
    durations = []
    for _ in range(3):  # the median: a cold first start must not stretch every kill's range
        started = time.monotonic()
        subprocess.run(argv, check=True, capture_output=True)
        durations.append(time.monotonic() - started)
        git(root, "checkout", "-q", "--", ".")
        git(root, "clean", "-qfd")
    full = statistics.median(durations)
    rng = random.Random(13)
    outcomes = []
    interrupted = 0
    attempts = 0
    # At least 15 kills; more (up to 60) until three of them have landed mid-write, since the
    # write is a short window at the end of a run whose length varies with the machine's load.
    while attempts < 15 or (interrupted < 3 and attempts < 60):
        attempts += 1
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # After the first 15, the kills aim at the run's last half, where the writes are.
        time.sleep(rng.uniform(0.1 if attempts <= 15 else full / 2, full * 1.1))
        proc.kill()
        proc.wait()
        interrupted += (state_dir(root) / "journal").exists()
        Workspace(root)  # the next coder start
        outcomes.append(state(root))
        leftovers = [p.name for p in root.rglob("*coder-tmp*")]
        assert leftovers == [], leftovers
        assert not (state_dir(root) / "journal").exists()
        assert outcomes[-1] in ("before", "after"), outcomes[-1]
        git(root, "checkout", "-q", "--", ".")
        git(root, "clean", "-qfd")
    assert interrupted >= 3, outcomes  # kills did land mid-write, with a journal to recover
