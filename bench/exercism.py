"""Benchmark `coder run` on exercism's Python practice exercises, as aider's benchmark does.

Each exercise (exercises/practice/NAME of exercism/python) becomes a git repository holding
its stub and its test file (nothing from .meta or .docs: the example solution stays out).
The task is aider's benchmark prompt: the exercise's introduction, instructions and
instructions.append, then "Use the above instructions to modify the supplied files: …".
`coder run` gets the task with a time limit per exercise (killed at the limit); then the
test file is restored to its original content and the exercise's own tests decide.

    python bench/exercism.py [--exercism PATH] [--only NAME ...] [--timeout 300] \
        [--variant LABEL=CHECKOUT ...] [--logs DIR] [--json FILE [--resume]]

--exercism is a checkout or a git directory of https://github.com/exercism/python; without
it the repository is cloned once into ~/.cache/coder/bench/exercism-python (nothing of it is
committed here). --variant runs another checkout of coder (e.g. a `git worktree` of an older
commit) through PYTHONPATH; several variants run interleaved, exercise by exercise, and are
printed side by side. --json is rewritten after every exercise; with --resume the pairs
already in it are kept and not run again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_eval import (  # noqa: E402
    _GIT_IDENTITY,
    CODER,
    TaskResult,
    _variant,
    checkout_env,
    run_coder,
    task_result,
)

ROOT = Path(__file__).resolve().parent.parent
CLONE_URL = "https://github.com/exercism/python"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "coder" / "bench"

# The list the embedded model is tuned and reported on (issue 18).
TUNING_LIST = (
    "allergies bottle-song bowling camicia change clock dominoes dot-dsl go-counting "
    "grade-school hello-world high-scores killer-sudoku-helper knapsack matching-brackets "
    "nth-prime palindrome-products pangram rectangles resistor-color resistor-color-duo "
    "resistor-color-expert rna-transcription robot-simulator say spiral-matrix square-root "
    "state-of-tic-tac-toe swift-scheduling tree-building"
).split()

# aider's benchmark/prompts.py, instructions_addendum.
ADDENDUM = """
####

Use the above instructions to modify the supplied files: {file_list}
Don't change the names of existing functions or classes, as they may be referenced from other code like unit tests, etc.
Only use standard libraries, don't suggest installing any packages.
"""  # noqa: E501

# aider's leaderboard, Qwen2.5-Coder-1.5B-Instruct, all 133 Python exercises, pass@2.
AIDER_PUBLISHED = "aider (published): Qwen2.5-Coder-1.5B-Instruct, 133 exercises, pass@2: 31.6 %"


@dataclass(frozen=True)
class Exercise:
    """One practice exercise, read from exercism/python."""

    name: str
    files: dict[str, str]  # relative path → content: the stub(s) and the test file(s)
    solution: list[str]
    tests: list[str]
    task: str


class Source:
    """exercism/python as a work tree or as a git directory (read with `git show`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git_dir = path if (path / "objects").is_dir() else None

    def read(self, rel: str) -> str | None:
        if self.git_dir is None:
            file = self.path / rel
            return file.read_text(encoding="utf-8") if file.is_file() else None
        proc = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "show", f"HEAD:{rel}"],
            capture_output=True,
            text=True,
        )
        return proc.stdout if proc.returncode == 0 else None

    def exercise(self, name: str) -> Exercise:
        base = f"exercises/practice/{name}"
        config_text = self.read(f"{base}/.meta/config.json")
        if config_text is None:
            raise SystemExit(f"exercism: no practice exercise named {name!r} in {self.path}")
        files_of = json.loads(config_text)["files"]
        solution, tests = list(files_of["solution"]), list(files_of["test"])
        files = {}
        for rel in solution + tests:
            content = self.read(f"{base}/{rel}")
            if content is None:
                raise SystemExit(f"exercism: {name}: {rel} is missing")
            files[rel] = content
        task = "".join(
            self.read(f"{base}/.docs/{doc}") or ""
            for doc in ("introduction.md", "instructions.md", "instructions.append.md")
        )
        task += ADDENDUM.format(file_list=" ".join(Path(rel).name for rel in solution))
        return Exercise(name, files, solution, tests, task)


def exercism_source(given: Path | None) -> Source:
    """The given checkout, or a clone kept in the cache (made once)."""
    if given is not None:
        return Source(given)
    clone = CACHE / "exercism-python"
    if not (clone / ".git").is_dir():
        clone.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--depth", "1", CLONE_URL, str(clone)], check=True)
    return Source(clone)


def prepare(exercise: Exercise, work: Path) -> None:
    """The exercise's stub and tests as a committed git repository."""
    for rel, content in exercise.files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(content, encoding="utf-8")
    env = {**os.environ, **_GIT_IDENTITY}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "stub"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)


def judge(exercise: Exercise, work: Path) -> bool:
    """The exercise's own tests, restored, pass (a test run over 120 s fails)."""
    for rel in exercise.tests:
        (work / rel).write_text(exercise.files[rel], encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *exercise.tests]
    try:
        proc = subprocess.run(command, cwd=work, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def accepts_time_budget(env: dict[str, str] | None) -> bool:
    """Whether that coder has --time-budget (older ones are only killed at the limit)."""
    proc = subprocess.run([*CODER, "run", "--help"], capture_output=True, text=True, env=env)
    return "--time-budget" in proc.stdout


def evaluate(
    exercise: Exercise,
    label: str,
    env: dict[str, str] | None,
    timeout: float,
    max_turns: int,
    logs: Path | None,
    via: list[str],
) -> TaskResult:
    """Run and judge one exercise under one variant."""
    with tempfile.TemporaryDirectory(prefix=f"coder-exercism-{exercise.name}-") as tmp:
        work = Path(tmp) / exercise.name.replace("-", "_")
        work.mkdir()
        prepare(exercise, work)
        log = logs / f"{exercise.name}.{label}.log" if logs else None
        code, events, seconds = run_coder(exercise.task, work, timeout, max_turns, log, via, env)
        solved = judge(exercise, work)
    return task_result(exercise.name, label, solved, code, events, seconds)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "-"


def print_tables(results: list[TaskResult], labels: list[str]) -> None:
    """Per exercise, one column per variant; then one summary line per variant."""
    by_pair = {(r.name, r.variant): r for r in results}
    names = list(dict.fromkeys(r.name for r in results))
    header = f"{'exercise':<24}" + "".join(f" {label[:22]:>22}" for label in labels)
    print(header + "\n" + f"{'':<24}" + "".join(f" {'ok   sec turns':>22}" for _ in labels))
    for name in names:
        cells = []
        for label in labels:
            r = by_pair.get((name, label))
            cells.append(
                f" {'':>22}"
                if r is None
                else f" {'yes' if r.solved else 'no':>10} {r.seconds:>5.0f} {r.turns:>5}"
            )
        print(f"{name:<24}" + "".join(cells))
    print()
    for label in labels:
        mine = [r for r in results if r.variant == label]
        if not mine:
            continue
        solved = [r for r in mine if r.solved]
        print(
            f"{label}: solved {len(solved)}/{len(mine)} ({100 * len(solved) / len(mine):.1f} %)"
            f", median seconds per solved {_median([r.seconds for r in solved])}"
            f", per exercise {_median([r.seconds for r in mine])}"
            f", median turns {_median([r.turns for r in mine])}"
            f", median tokens: prompt {_median([r.prompt_tokens for r in mine])}"
            f" (prefilled {_median([r.prompt_tokens - r.cached_tokens for r in mine])})"
            f", completion {_median([r.completion_tokens for r in mine])}"
        )
    print(AIDER_PUBLISHED)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 0 when it ran (the figures are the result)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercism", type=Path, help="a checkout or git dir of exercism/python")
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per exercise")
    parser.add_argument(
        "--max-turns",
        type=int,
        default=100,
        help="high enough that the time limit binds first (30 ended runs at 185 s)",
    )
    parser.add_argument(
        "--variant", type=_variant, action="append", default=[], metavar="LABEL=CHECKOUT"
    )
    parser.add_argument("--logs", type=Path, help="keep each run's stderr and JSONL here")
    parser.add_argument("--json", type=Path, help="the results as JSON, after every exercise")
    parser.add_argument("--resume", action="store_true", help="keep the pairs already in --json")
    parser.add_argument(
        "--pause-file", type=Path, help="while this file exists, wait before the next exercise"
    )
    parser.add_argument("--base-url", help="an OpenAI-compatible server instead of --api local")
    parser.add_argument("--model", help="the model name to ask the server for")
    parser.add_argument("--profile", choices=["auto", "default", "small"], help="coder's profile")
    args = parser.parse_args(argv)
    source = exercism_source(args.exercism)
    names = args.only or list(TUNING_LIST)
    exercises = [source.exercise(name) for name in names]
    variants: list[tuple[str, Path | None]] = args.variant or [("this", None)]
    via = ["--base-url", args.base_url] if args.base_url else ["--api", "local"]
    via += ["--model", args.model] if args.model else []
    via += ["--profile", args.profile] if args.profile else []
    results: list[TaskResult] = []
    if args.resume and args.json and args.json.is_file():
        for saved in json.loads(args.json.read_text()):
            if "exercise" in saved:  # what earlier files called the name
                saved["name"] = saved.pop("exercise")
            results.append(TaskResult(**saved))
    done = {(r.name, r.variant) for r in results}
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    budgets = {label: accepts_time_budget(checkout_env(checkout)) for label, checkout in variants}
    for exercise in exercises:
        for label, checkout in variants:
            if (exercise.name, label) in done:
                continue
            while args.pause_file and args.pause_file.exists():
                time.sleep(5)
            # Every variant is killed at the same limit; one that knows the budget plans for it.
            extra = ["--time-budget", str(int(args.timeout) - 5)] if budgets[label] else []
            result = evaluate(
                exercise,
                label,
                checkout_env(checkout),
                args.timeout,
                args.max_turns,
                args.logs,
                via + extra,
            )
            results.append(result)
            print(
                f"# {exercise.name} [{label}]: {'solved' if result.solved else 'not solved'} "
                f"in {result.seconds:.0f} s, {result.turns} turns",
                file=sys.stderr,
                flush=True,
            )
            if args.json:
                args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    shown = [r for r in results if r.name in set(names)]
    print_tables(shown, [label for label, _ in variants])
    return 0


if __name__ == "__main__":
    sys.exit(main())
