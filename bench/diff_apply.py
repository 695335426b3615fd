"""Benchmark: apply real commits' diffs, cleanly and perturbed, with coder, git apply and patch.

For N non-merge commits of REPO that touch only text files, regenerate each diff, make
variants a model might write, apply each to a temp copy of the parent's files and compare
with the commit's files: correct / rejected / misapplied per tool and variant, diffs/s.

    python bench/diff_apply.py /tmp/history 300
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coder.diff import apply_patch, parse_patch
from coder.errors import PatchError
from coder.workspace import Workspace

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
VARIANTS = ["exact", "shifted", "counts", "headers", "nonumbers"]
TOOLS = ["coder", "git", "patch"]


@dataclass
class Commit:
    sha: str
    parent: str
    diff: str
    before: dict[str, bytes | None]
    after: dict[str, bytes | None]


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    runs: int = 0


def git(repo: Path, *args: str) -> str:
    """git's output as text, byte for byte: no newline translation, bad UTF-8 kept."""
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True).stdout
    return out.decode("utf-8", "surrogateescape")


def blob(repo: Path, rev: str, path: str) -> bytes | None:
    proc = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True)
    return proc.stdout if proc.returncode == 0 else None


def pick_commits(repo: Path, n: int) -> list[Commit]:
    """N commits spread evenly over the history: non-merge, text-only, with a parent."""
    shas = git(repo, "rev-list", "--no-merges", "--reverse", "HEAD").split()
    eligible = []
    for sha in shas:
        parents = git(repo, "rev-list", "--parents", "-n", "1", sha).split()[1:]
        if len(parents) != 1:
            continue
        numstat = git(repo, "diff", "--no-renames", "--numstat", parents[0], sha).splitlines()
        if numstat and not any(line.startswith("-\t-\t") for line in numstat):
            eligible.append((sha, parents[0]))
    step = max(len(eligible) / n, 1.0)
    chosen = [eligible[int(i * step)] for i in range(min(n, len(eligible)))]
    commits = []
    for sha, parent in chosen:
        diff = git(repo, "diff", "--no-renames", "--no-color", "--no-ext-diff", parent, sha)
        paths = [p for p in git(repo, "diff", "--no-renames", "--name-only", parent, sha).split()]
        before = {p: blob(repo, parent, p) for p in paths}
        after = {p: blob(repo, sha, p) for p in paths}
        commits.append(Commit(sha, parent, diff, before, after))
    return commits


# ---- variants ---------------------------------------------------------------------------


def _rewrite_headers(diff: str, fn: Callable[[re.Match[str]], str]) -> str:
    return "\n".join(fn(m) if (m := HUNK.match(line)) else line for line in diff.split("\n"))


def shifted(diff: str, rng: random.Random) -> str:
    """Every hunk's line numbers off by the same k, as when a model miscounts a preamble."""
    k = rng.choice([-1, 1]) * rng.randint(1, 15)

    def fn(m: re.Match[str]) -> str:
        a, b, c, d, rest = m.groups()
        a2, c2 = max(int(a) + k, 1), max(int(c) + k, 1)
        return f"@@ -{a2},{b or 1} +{c2},{d or 1} @@{rest}"

    return _rewrite_headers(diff, fn)


def wrong_counts(diff: str, rng: random.Random) -> str:
    """Hunk line counts off by one or two (too many or too few)."""

    def fn(m: re.Match[str]) -> str:
        a, b, c, d, rest = m.groups()
        b2 = max(int(b or 1) + rng.choice([-2, -1, 1, 2]), 0)
        d2 = max(int(d or 1) + rng.choice([-2, -1, 1, 2]), 0)
        return f"@@ -{a},{b2} +{c},{d2} @@{rest}"

    return _rewrite_headers(diff, fn)


def stripped_headers(diff: str, rng: random.Random) -> str:
    """No diff --git / index / mode lines, no a/ b/ prefixes: the bare ---/+++ form."""
    out = []
    in_hunk = False
    for line in diff.split("\n"):
        if line.startswith("diff --git "):
            in_hunk = False
            continue
        if not in_hunk and re.match(
            r"^(index |new file mode|deleted file mode|old mode|new mode)", line
        ):
            continue
        if not in_hunk and line.startswith(("--- a/", "+++ b/")):
            line = line[:4] + line[6:]
        if line.startswith("@@"):
            in_hunk = True
        out.append(line)
    return "\n".join(out)


def no_numbers(diff: str, rng: random.Random) -> str:
    """Hunk headers without line numbers: `@@ @@`."""
    return _rewrite_headers(diff, lambda m: "@@ @@")


MAKERS: dict[str, Callable[[str, random.Random], str]] = {
    "exact": lambda d, r: d,
    "shifted": shifted,
    "counts": wrong_counts,
    "headers": stripped_headers,
    "nonumbers": no_numbers,
}


def unique_placement(commit: Commit, variant: str) -> bool:
    """Whether the variant says where each hunk goes: its numbers are right, or each hunk's
    old lines occur exactly once in the parent's file."""
    files = parse_patch(commit.diff).files
    if variant == "headers":
        # Without git's header lines, a hunkless change (empty new file, mode) says nothing.
        return all(h.kind == "change" for fp in files for h in fp.hunks)
    if variant not in ("shifted", "nonumbers"):
        return True
    for fp in files:
        data = commit.before.get(fp.source_path)
        lines = data.decode("utf-8", "surrogateescape").split("\n") if data else []
        if fp.is_new:
            continue
        for hunk in fp.hunks:
            old = hunk.old_lines
            if not old and variant == "nonumbers":
                return False
            hits = sum(
                1 for i in range(len(lines) - len(old) + 1) if lines[i : i + len(old)] == old
            )
            if old and hits != 1:
                return False
    return True


# ---- tools ------------------------------------------------------------------------------


def lay_out(root: Path, files: dict[str, bytes | None]) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for path, data in files.items():
        if data is not None:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)


def outcome(root: Path, expected: dict[str, bytes | None]) -> str:
    for path, data in expected.items():
        full = root / path
        have = full.read_bytes() if full.is_file() else None
        if have != data:
            return "misapplied"
    return "correct"


def run_coder(root: Path, diff: str, strip: int) -> bool:
    try:
        return apply_patch(diff, Workspace(root)).ok
    except PatchError:
        return False


def run_git(root: Path, diff: str, strip: int) -> bool:
    proc = subprocess.run(
        ["git", "apply", f"-p{strip}", "--whitespace=nowarn", "-"],
        cwd=root,
        input=diff.encode("utf-8", "surrogateescape"),
        capture_output=True,
    )
    return proc.returncode == 0


def run_patch(root: Path, diff: str, strip: int) -> bool:
    proc = subprocess.run(
        ["patch", f"-p{strip}", "-E", "--batch", "--forward", "--no-backup-if-mismatch", "-s"]
        + ["-r", "-"],
        cwd=root,
        input=diff.encode("utf-8", "surrogateescape"),
        capture_output=True,
    )
    return proc.returncode == 0


RUNNERS = {"coder": run_coder, "git": run_git, "patch": run_patch}


def run_cli(root: Path, diff: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "coder", "apply", "-", "--repo", str(root)],
        input=diff.encode("utf-8", "surrogateescape"),
        capture_output=True,
    )
    return proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cli-every", type=int, default=20, help="check the CLI every Kth diff")
    parser.add_argument("--show", action="store_true", help="print each coder failure")
    args = parser.parse_args()
    start = time.monotonic()
    commits = pick_commits(args.repo, args.n)
    print(f"{len(commits)} commits picked in {time.monotonic() - start:.1f} s", file=sys.stderr)
    tallies: dict[tuple[str, str], Tally] = {}
    unique: Counter[str] = Counter()
    coder_misses: Counter[str] = Counter()
    cli_checked = cli_agreed = 0
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "work"
        for number, commit in enumerate(commits):
            for variant in VARIANTS:
                diff = MAKERS[variant](commit.diff, rng)
                strip = 0 if variant == "headers" else 1
                is_unique = unique_placement(commit, variant)
                unique[variant] += is_unique
                for tool in TOOLS:
                    lay_out(root, commit.before)
                    t0 = time.perf_counter()
                    ok = RUNNERS[tool](root, diff, strip)
                    tally = tallies.setdefault((variant, tool), Tally())
                    tally.seconds += time.perf_counter() - t0
                    tally.runs += 1
                    if ok:
                        result = outcome(root, commit.after)
                    else:
                        result = "rejected"
                        if tool == "coder" and outcome(root, commit.before) != "correct":
                            result = "misapplied"  # a rejection must leave files untouched
                    tally.counts[result] += 1
                    if tool == "coder" and (result == "misapplied" or (is_unique and not ok)):
                        coder_misses[variant] += 1
                        if args.show:
                            print(f"-- {variant} {commit.sha[:10]} {result}", file=sys.stderr)
                    if tool == "coder" and number % args.cli_every == 0:
                        lay_out(root, commit.before)
                        code = run_cli(root, diff)
                        cli_checked += 1
                        cli_agreed += (code == 0) == ok and (
                            not ok or outcome(root, commit.after) == result
                        )
    print(f"\n{len(commits)} commits of {args.repo}, seed {args.seed}\n")
    print(
        f"{'variant':<10} {'unique':>6} {'tool':<6} {'correct':>7} {'rejected':>8} "
        f"{'misapplied':>10} {'diffs/s':>8}"
    )
    for variant in VARIANTS:
        for tool in TOOLS:
            t = tallies[(variant, tool)]
            rate = t.runs / t.seconds if t.seconds else 0.0
            print(
                f"{variant:<10} {unique[variant]:>6} {tool:<6} {t.counts['correct']:>7} "
                f"{t.counts['rejected']:>8} {t.counts['misapplied']:>10} {rate:>8.0f}"
            )
    print(
        "\nvariants: exact = git diff as is; shifted = every @@ line number off by the same"
        " ±1..15;\ncounts = hunk counts off by ±1..2; headers = no diff --git/index/mode lines,"
        " no a/ b/;\nnonumbers = `@@ @@`. unique = variants whose hunks have one correct place"
        " (right numbers,\nor old lines found once). git and patch get the right -p level."
    )
    print(f"\ncoder failures on uniquely placeable variants: {dict(coder_misses) or 0}")
    print(f"CLI agreed with the library on {cli_agreed}/{cli_checked} diffs")
    print(f"total {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
