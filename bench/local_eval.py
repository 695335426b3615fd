"""Benchmark `coder run` on task repositories and judge each by its own restored tests.

Each task is a directory (default: fixtures/tasks/*) with project files, tests that fail
before the fix and ISSUE.md. The task is copied to a temp dir (without ISSUE.md), made a git
repo, and handed to `coder run "$(cat ISSUE.md)" --repo DIR --api local --json`. Then every
test file is restored to its original content and pytest decides. Prints a table and
solved / total, median seconds, prompt and completion tokens per task.

    python bench/local_eval.py [--only NAME ...] [--timeout 420] [--logs DIR]

The same tasks through an OpenAI-compatible server (e.g. `python -m llama_cpp.server
--model ….gguf --n_ctx 16384`), with a profile:
    python bench/local_eval.py --base-url http://127.0.0.1:8010/v1 --model qwen2.5-coder-1.5b \
        --profile auto

Side by side with another checkout of coder (e.g. `git worktree add /tmp/before REV`), run
interleaved task by task through PYTHONPATH:
    python bench/local_eval.py --variant before=/tmp/before --variant after=.

To compare the embedded model's edit protocols on first answers alone:
    CODER_LOCAL_PROTOCOL=json python bench/local_eval.py --max-turns 1
    CODER_LOCAL_PROTOCOL=blocks python bench/local_eval.py --max-turns 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"ISSUE.md", "__pycache__", ".pytest_cache", ".git"}


@dataclass
class TaskResult:
    """How one task went."""

    name: str
    variant: str
    solved: bool
    seconds: float
    exit_code: int
    turns: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    outcome: str


def is_test_file(rel: Path) -> bool:
    """Test files are restored before judging, so editing them cannot pass a task."""
    return (
        "tests" in rel.parts
        or rel.name.startswith("test_")
        or rel.name.endswith("_test.py")
        or rel.name == "conftest.py"
    )


def prepare(task: Path, work: Path) -> None:
    """Copy the task (minus ISSUE.md and caches) into `work` and commit it."""
    shutil.copytree(task, work, ignore=lambda _dir, names: [n for n in names if n in SKIP])
    env = {**os.environ, **_GIT_IDENTITY}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "task"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)


def restore_tests(task: Path, work: Path) -> None:
    """Put every test file back exactly as the task shipped it (and drop new ones)."""
    for path in work.rglob("*"):
        rel = path.relative_to(work)
        if ".git" in rel.parts or not path.is_file() or not is_test_file(rel):
            continue
        if not (task / rel).exists():
            path.unlink()
    for path in task.rglob("*"):
        rel = path.relative_to(task)
        if path.is_file() and is_test_file(rel) and not (set(rel.parts) & SKIP):
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, work / rel)


def judge(work: Path) -> bool:
    """The restored tests pass."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=work,
        capture_output=True,
        timeout=300,
    )
    return proc.returncode == 0


CODER = [sys.executable, "-P", "-m", "coder"]
"""`python -m coder`, with -P: otherwise the current directory (this checkout, when a bench
runs from it) comes first on sys.path, ahead of a variant's PYTHONPATH."""


def run_coder(
    issue: str,
    work: Path,
    timeout: float,
    max_turns: int,
    log: Path | None,
    via: list[str],
    env: dict[str, str] | None = None,
) -> tuple[int, list[dict[str, object]], float]:
    """Run `coder run` headless; returns (exit code, JSONL events, seconds). `env` replaces
    the environment (to run another checkout of coder through PYTHONPATH)."""
    command = [*CODER, "run", issue, "--repo", str(work)]
    command += [*via, "--json", "--max-turns", str(max_turns)]
    stderr = log.open("w") if log else subprocess.DEVNULL
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
        env=env,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = 124
    finally:
        if log:
            stderr.close()  # type: ignore[union-attr]
    seconds = time.monotonic() - started
    events = []
    for line in out.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    if log:
        log.with_suffix(".jsonl").write_text(out)
    return code, events, seconds


_PROMPT_EVAL = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")
_EVAL = re.compile(r"\beval time =\s*[\d.]+ ms /\s*(\d+) runs")


def server_tokens(log: Path | None, offset: int) -> tuple[int, int]:
    """(prefilled, generated) tokens a llama.cpp server logged since `offset`: its streamed
    answers carry no usage, its perf lines do."""
    if log is None or not log.is_file():
        return 0, 0
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    prefilled = sum(int(n) for n in _PROMPT_EVAL.findall(text))
    generated = sum(int(n) for n in _EVAL.findall(text.replace("prompt eval time", "")))
    return prefilled, generated


def evaluate(
    task: Path,
    timeout: float,
    max_turns: int,
    logs: Path | None,
    via: list[str],
    server_log: Path | None = None,
    variant: tuple[str, Path | None] = ("this", None),
) -> TaskResult:
    """Run and judge one task (under one variant: a label and a checkout of coder)."""
    offset = server_log.stat().st_size if server_log and server_log.is_file() else 0
    issue = (task / "ISSUE.md").read_text(encoding="utf-8").strip()
    with tempfile.TemporaryDirectory(prefix=f"coder-bench-{task.name}-") as tmp:
        work = Path(tmp) / task.name
        prepare(task, work)
        label, checkout = variant
        log = logs / f"{task.name}.{label}.log" if logs else None
        code, events, seconds = run_coder(
            issue, work, timeout, max_turns, log, via, checkout_env(checkout)
        )
        restore_tests(task, work)
        solved = judge(work)
    result = task_result(task.name, label, solved, code, events, seconds)
    if server_log is not None and not result.prompt_tokens:
        prefilled, generated = server_tokens(server_log, offset)  # prefilled; reuse unknown
        result.prompt_tokens, result.completion_tokens = prefilled, generated
    return result


def checkout_env(checkout: Path | None) -> dict[str, str] | None:
    """The environment that makes `python -m coder` import that checkout (None: this one)."""
    return {**os.environ, "PYTHONPATH": str(checkout.resolve())} if checkout else None


def task_result(
    name: str,
    variant: str,
    solved: bool,
    code: int,
    events: list[dict[str, object]],
    seconds: float,
) -> TaskResult:
    """One run's result from its exit code and JSON Lines events."""
    usage = [e for e in events if e.get("type") == "usage"]
    finished = [e for e in events if e.get("type") == "finished"]
    return TaskResult(
        name=name,
        variant=variant,
        solved=solved,
        seconds=round(seconds, 1),
        exit_code=code,
        turns=len(usage),
        prompt_tokens=sum(int(e["prompt_tokens"]) for e in usage),  # type: ignore[call-overload]
        cached_tokens=sum(int(e["cached_tokens"]) for e in usage),  # type: ignore[call-overload]
        completion_tokens=sum(int(e["completion_tokens"]) for e in usage),  # type: ignore[call-overload]
        outcome=str(finished[-1]["outcome"]) if finished else ("timeout" if code == 124 else "?"),
    )


def print_table(results: list[TaskResult], timeout: float) -> None:
    """The per-task table and the summary lines."""
    header = f"{'task':<16} {'solved':<6} {'sec':>6} {'turns':>5} {'prompt':>7} "
    header += f"{'reused':>7} {'prefill':>7} {'compl':>6}  outcome"
    print(header)
    for r in results:
        prefilled = r.prompt_tokens - r.cached_tokens
        print(
            f"{r.name:<16} {'yes' if r.solved else 'no':<6} {r.seconds:>6.0f} {r.turns:>5} "
            f"{r.prompt_tokens:>7} {r.cached_tokens:>7} {prefilled:>7} "
            f"{r.completion_tokens:>6}  {r.outcome}"
        )
    if not results:
        return
    solved = sum(r.solved for r in results)
    in_time = sum(r.solved and r.seconds <= timeout for r in results)
    print(f"\nsolved: {solved}/{len(results)} ({in_time} within {timeout:.0f} s)")
    print(f"median seconds per task: {statistics.median(r.seconds for r in results):.0f}")
    print(
        "median tokens per task: prompt "
        f"{statistics.median(r.prompt_tokens for r in results):.0f} "
        f"(prefilled {statistics.median(r.prompt_tokens - r.cached_tokens for r in results):.0f}"
        f"), completion {statistics.median(r.completion_tokens for r in results):.0f}"
    )


def _variant(text: str) -> tuple[str, Path | None]:
    label, sep, path = text.partition("=")
    if not sep or not label or not path:
        raise argparse.ArgumentTypeError(f"expected LABEL=CHECKOUT, got {text!r}")
    return label, Path(path)


_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 0 when every task was solved."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=Path, default=ROOT / "fixtures" / "tasks")
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME")
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds per task")
    parser.add_argument(
        "--max-turns", type=int, default=20, help="per task; the time limit usually binds first"
    )
    parser.add_argument("--logs", type=Path, help="keep each run's stderr and JSONL here")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--base-url", help="an OpenAI-compatible server instead of --api local")
    parser.add_argument("--model", help="the model name to ask the server for")
    parser.add_argument("--profile", choices=["auto", "default", "small"], help="coder's profile")
    parser.add_argument(
        "--server-log", type=Path, help="a llama.cpp server's log: tokens from its perf lines"
    )
    parser.add_argument(
        "--variant",
        type=_variant,
        action="append",
        default=[],
        metavar="LABEL=CHECKOUT",
        help="run this checkout of coder too (repeatable; interleaved task by task)",
    )
    args = parser.parse_args(argv)
    via = ["--base-url", args.base_url] if args.base_url else ["--api", "local"]
    via += ["--model", args.model] if args.model else []
    via += ["--profile", args.profile] if args.profile else []
    tasks = sorted(p for p in args.tasks.iterdir() if (p / "ISSUE.md").is_file())
    if args.only:
        tasks = [t for t in tasks if t.name in set(args.only)]
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    variants: list[tuple[str, Path | None]] = args.variant or [("this", None)]
    results = []
    for task in tasks:
        for variant in variants:
            result = evaluate(
                task, args.timeout, args.max_turns, args.logs, via, args.server_log, variant
            )
            results.append(result)
            print(
                f"# {result.name} [{result.variant}]: "
                f"{'solved' if result.solved else 'not solved'} in {result.seconds:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    for label, _ in variants:
        if len(variants) > 1:
            print(f"\n## {label}")
        print_table([r for r in results if r.variant == label], args.timeout)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0 if results and all(r.solved for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
