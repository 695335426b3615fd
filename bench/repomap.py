"""Benchmark the repo map on a large real repository: cold, warm and incremental refreshes.

The repository is the running interpreter's standard library (Lib/, without site-packages)
committed into a temporary git repo. Each figure is the median of several runs, wall and CPU
seconds (CPU includes the parse workers: on a shared machine it shows the work, not the wait).
When `aider` is on PATH (or given with --aider), its `--show-repo-map` runs on the same
repository in the same run. The cold build alternates with a floor run, tree-sitter alone (parse
every file and walk its tree with a one-pattern query, in as many processes), so the cold figure
reads against what the parser itself costs on the machine at that moment.

    python bench/repomap.py [--runs 5] [--tokens 1024] [--keep DIR] [--aider PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from coder.repomap import RepoMap
from coder.repomap.languages import GRAMMARS, MAX_FILE_BYTES, language_for
from coder.repomap.render import estimate_tokens
from coder.workspace import SAFE_GIT, Workspace

IGNORED = shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc", "*.pyo")


def make_repo(dest: Path) -> Path:
    """Copy the standard library into `dest` and commit it."""
    source = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(source, dest, ignore=IGNORED, symlinks=True)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "stdlib"]):
        subprocess.run([*SAFE_GIT, *args], cwd=dest, env=env, check=True, capture_output=True)
    return dest


def cpu_seconds() -> tuple[float, float]:
    """CPU time of this process, and of its finished children (the parse workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


Run = tuple[float, float, float, float]
"""One measured run: wall seconds, CPU seconds, parent CPU seconds, worker CPU seconds."""


def measure(setup: Callable[[], object], action: Callable[[], object]) -> Run:
    """Run `setup`, then time `action`: wall, CPU (this process plus its workers), split."""
    setup()
    (me, children), start = cpu_seconds(), time.perf_counter()
    action()
    wall = time.perf_counter() - start
    me_after, children_after = cpu_seconds()
    parent, workers = me_after - me, children_after - children
    return wall, parent + workers, parent, workers


def median_of(
    runs: int, setup: Callable[[], object], action: Callable[[], object]
) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (this process plus its workers) of `action`
    over `runs` runs, each after `setup`."""
    measured = [measure(setup, action) for _ in range(runs)]
    return statistics.median(r[0] for r in measured), statistics.median(r[1] for r in measured)


def _parse_and_walk(root: str, jobs: list[tuple[str, str]]) -> int:
    """Parse each (path, language) with tree-sitter and walk its tree once (a one-pattern
    query: the walk is the cost); returns the ERROR nodes it found."""
    import importlib

    import tree_sitter

    loaded: dict[str, tuple[tree_sitter.Parser, tree_sitter.Query]] = {}
    seen = 0
    for path, language in jobs:
        if language not in loaded:
            grammar = GRAMMARS[language]
            module = importlib.import_module(grammar.module)
            lang = tree_sitter.Language(getattr(module, grammar.function)())
            loaded[language] = (tree_sitter.Parser(lang), tree_sitter.Query(lang, "(ERROR) @e"))
        parser, query = loaded[language]
        data = Path(root, path).read_bytes()
        if len(data) <= MAX_FILE_BYTES:
            tree = parser.parse(data)
            seen += len(tree_sitter.QueryCursor(query).captures(tree.root_node))
    return seen


def tree_sitter_floor(repo: Path, workers: int) -> Callable[[], object]:
    """The cold build's lower bound: tree-sitter alone on the same files in `workers`
    processes (round-robin), with no tags, results, cache or ranking."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    files = Workspace(repo).list_files()
    jobs = [(f, lang) for f in files if (lang := language_for(f)) in GRAMMARS]
    chunks = [jobs[i :: workers * 4] for i in range(workers * 4)]

    def run() -> int:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return sum(pool.map(_parse_and_walk, [str(repo)] * len(chunks), chunks))

    return run


Row = tuple[str, float, float, str]
"""(case, median wall seconds, median CPU seconds, note)."""


def bench_coder(repo: Path, runs: int, tokens: int) -> list[Row]:
    """Cold, warm and incremental refresh + render, each the median of `runs`."""
    ws = Workspace(repo)
    cache = repo / ".git" / "coder"
    edited = repo / "json" / "encoder.py"
    original = edited.read_text()
    counter = iter(range(10**9))

    def drop_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    def fresh_map() -> str:
        return RepoMap(ws).render(tokens)

    def touch_one() -> None:
        os.utime(edited, None)

    def edit_body() -> None:
        edited.write_text(original + f"\n# bench edit {next(counter)}\n")

    def edit_names() -> None:
        n = next(counter)
        edited.write_text(original + f"\n\ndef bench_added_{n}():\n    return bench_call_{n}()\n")

    rows: list[Row] = []
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    floor = tree_sitter_floor(repo, cpus or 1)  # as many processes as the cold build uses
    cold_runs: list[Run] = []
    floor_runs: list[Run] = []
    for _ in range(runs):  # alternated: both see the same machine, noisy as it is
        cold_runs.append(measure(drop_cache, fresh_map))
        floor_runs.append(measure(lambda: None, floor))
    wall, cpu, parent, workers = (statistics.median(r[i] for r in cold_runs) for i in range(4))
    floor_wall, floor_cpu = (statistics.median(r[i] for r in floor_runs) for i in range(2))
    ratio = statistics.median(c[0] / f[0] for c, f in zip(cold_runs, floor_runs, strict=True))
    probe = RepoMap(ws)
    stats = probe.refresh()
    text = probe.render(tokens)
    note = (
        f"{stats.files} files, {stats.tags} tags; CPU: parent {parent:.2f} + workers {workers:.2f}"
    )
    rows.append(("cold: parse all, rank, render", wall, cpu, note))
    rows.append(
        (
            "floor: tree-sitter alone (parse + walk), same processes",
            floor_wall,
            floor_cpu,
            f"cold / floor: {ratio:.2f} (median of paired runs)",
        )
    )
    cases: list[tuple[str, Callable[[], object], str]] = [
        ("warm: nothing changed", lambda: None, "stat + cached ranking"),
        ("incremental: one file touched", touch_one, "mtime moved, hash unchanged"),
        ("incremental: one file edited, same names", edit_body, "re-parse 1 file"),
        ("incremental: one file edited, new names", edit_names, "re-parse 1, re-rank all"),
    ]
    for name, setup, note in cases:
        wall, cpu = median_of(runs, setup, fresh_map)
        rows.append((f"{name} (new RepoMap)", wall, cpu, note))
    session = RepoMap(ws)
    session.render(tokens)

    def refresh_render() -> str:
        session.refresh()
        return session.render(tokens)

    for name, setup, note in cases:
        wall, cpu = median_of(runs, setup, refresh_render)
        rows.append((f"{name} (same RepoMap)", wall, cpu, note))
    edited.write_text(original)

    def cli() -> None:
        command = [
            sys.executable,
            "-m",
            "coder",
            "map",
            "--repo",
            str(repo),
            "--tokens",
            str(tokens),
        ]
        subprocess.run(command, capture_output=True, check=True)

    wall, cpu = median_of(runs, lambda: None, cli)
    rows.append(("warm: `coder map` as a process", wall, cpu, "includes interpreter start"))
    rows.append(("map size", 0.0, 0.0, f"~{estimate_tokens(text)} tokens for a {tokens} budget"))
    return rows


def bench_aider(repo: Path, runs: int, tokens: int, aider: str | None) -> list[Row]:
    """Aider's --show-repo-map on the same repository (cold: no tags cache; warm: cache kept).

    `--model gpt-4` with a dummy key: the map needs no API call, and gpt-4's tokenizer ships
    with litellm, so this runs offline.
    """
    if aider is None:
        return [("aider --show-repo-map", float("nan"), float("nan"), "skipped: not installed")]
    command = [aider, "--model", "gpt-4", "--openai-api-key", "sk-dummy", "--show-repo-map"]
    command += ["--map-tokens", str(tokens), "--no-check-update", "--no-analytics"]
    command += ["--yes-always", "--no-pretty", "--no-gitignore", "--no-show-model-warnings"]

    def drop_cache() -> None:
        for path in repo.glob(".aider.tags.cache*"):
            shutil.rmtree(path, ignore_errors=True)

    def run() -> None:
        subprocess.run(command, cwd=repo, capture_output=True, stdin=subprocess.DEVNULL, check=True)

    cold = median_of(runs, drop_cache, run)
    warm = median_of(runs, lambda: None, run)
    drop_cache()
    for leftover in repo.glob(".aider*"):
        leftover.unlink()  # chat and input history files
    return [
        ("aider cold (process, no tags cache)", *cold, "includes interpreter start"),
        ("aider warm (process, tags cache kept)", *warm, "includes interpreter start"),
    ]


def main() -> int:
    """Build the repository, run both benchmarks, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--keep", type=Path, help="build the repository here and keep it")
    parser.add_argument("--aider", default=shutil.which("aider"), help="aider executable")
    parser.add_argument("--aider-runs", type=int, default=3, help="runs for aider (slow)")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="repomap-bench-"))
    try:
        repo = base / "Lib"
        if not (repo / ".git").is_dir():
            make_repo(repo)
        sources = list(repo.rglob("*.py"))
        megabytes = sum(p.stat().st_size for p in sources) / 1e6
        print(f"repository: {repo} ({len(sources)} .py files, {megabytes:.0f} MB)")
        print(f"python {sys.version.split()[0]}, tree-sitter map vs aider --show-repo-map")
        print(f"cpus: {os.cpu_count()}, load average now: {os.getloadavg()[0]:.2f}")
        rows = bench_coder(repo, args.runs, args.tokens)
        rows += bench_aider(repo, args.aider_runs, args.tokens, args.aider)
        title = f"case (median of {args.runs} runs)"
        print(f"\n{title:<58} {'wall s':>7} {'cpu s':>7}  note")
        for name, wall, cpu, note in rows:
            figures = [f"{x:7.3f}" if x == x else "    n/a" for x in (wall, cpu)]
            if wall == 0.0:
                figures = ["", ""]
            print(f"{name:<58} {figures[0]:>7} {figures[1]:>7}  {note}")
        print(f"load average after: {os.getloadavg()[0]:.2f} (other work shares these CPUs)")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
