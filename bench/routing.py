"""Routing on the shipped tasks: a strong model alone against the embedded model as the weak
one with the same strong model behind it (`--weak-model local --route auto`).

The strong model is the scripted OpenAI-compatible server (fixtures/scripted_server.py)
answering every request with the task's reference fix, named `gpt-5.4` so that its turns
are priced at gpt-5.4's list prices (the server counts tokens at 4 characters a token).
Alone it gets the default profile (native tool calls: apply_diff, then finish); routed, the
embedded model takes the first attempts under the small profile and the strong model takes
over after two failing checks, answering in that profile's code blocks. Each task is judged
by its own restored tests (as bench/local_eval.py does). Prints solved / total and, per
solved task, median turns, tokens and cost, with and without routing, side by side.

    python bench/routing.py [--only NAME ...] [--timeout 420] [--logs DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_eval import ROOT, judge, prepare, restore_tests, run_coder  # noqa: E402

TASKS = ROOT / "fixtures" / "tasks"
STRONG = "gpt-5.4"
SOLUTIONS: dict[str, list[tuple[str, str, str]]] = {
    "age_check": [("validators.py", "age > ADULT_AGE", "age >= ADULT_AGE")],
    "fizzbuzz": [
        (
            "fizzbuzz.py",
            '    if n % 3 == 0:\n        return "Fizz"',
            '    if n % 15 == 0:\n        return "FizzBuzz"\n    if n % 3 == 0:\n'
            '        return "Fizz"',
        )
    ],
    "reverse_words": [
        (
            "textutils.py",
            "def capitalize_words(text):",
            'def reverse_words(text):\n    """The words of `text` in reverse order."""\n'
            '    return " ".join(reversed(text.split()))\n\n\ndef capitalize_words(text):',
        )
    ],
    "shared_cart": [
        (
            "cart.py",
            "def __init__(self, items=[]):\n        self.items = items",
            "def __init__(self, items=None):\n        self.items = list(items or [])",
        ),
    ],  # fmt: skip
    "shop_totals": [
        ("shop/pricing.py", "(1 + TAX_RATE_PERCENT)", "(1 + TAX_RATE_PERCENT / 100)"),
        ("shop/receipt.py", "{total:.1f}", "{total:.2f}"),
    ],
    "stack_peek": [
        (
            "stack.py",
            "    def __len__(self):",
            '    def peek(self):\n        """The top item, left in place; IndexError when '
            'empty."""\n        if not self._items:\n            raise IndexError("peek from '
            'empty stack")\n        return self._items[-1]\n\n    def __len__(self):',
        )
    ],
    "stats_fix": [
        ("stats/center.py", "(len(values) - 1)", "len(values)"),
        ("stats/center.py", "ordered = list(values)", "ordered = sorted(values)"),
    ],
    "stock_lookup": [
        ("inventory.py", "return self._stock[name]", "return self._stock.get(name, 0)")
    ],
    "sum_to_n": [("mathutils.py", "range(1, n))", "range(1, n + 1))")],
    "temperature": [("temperature.py", "celsius * 9 / 5 - 32", "celsius * 9 / 5 + 32")],
}


@dataclass
class Result:
    """One task under one configuration."""

    task: str
    config: str
    solved: bool
    seconds: float
    turns: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    models: dict[str, int] = field(default_factory=dict)


def fixed_files(task: Path) -> dict[str, tuple[str, str]]:
    """Path → (original, fixed) for each file the reference fix changes."""
    files: dict[str, tuple[str, str]] = {}
    for path, old, new in SOLUTIONS[task.name]:
        original, current = files.get(path, ((task / path).read_text(),) * 2)
        if old not in current:
            raise SystemExit(f"routing bench: the fix of {task.name} no longer applies ({path})")
        files[path] = (original, current.replace(old, new, 1))
    return files


def native_fix(files: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The strong model alone (default profile): one apply_diff, then finish."""
    diff = "".join(
        "".join(
            difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{p}", f"b/{p}")
        )
        for p, (old, new) in files.items()
    )
    calls = [
        {"name": "apply_diff", "arguments": {"diff": diff}},
        {"name": "finish", "arguments": {"summary": "applied the fix"}},
    ]
    return [{"text": "Here is the fix.", "tool_calls": calls, "repeat": True}]


def text_fix(files: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The strong model under the small profile: each fixed file whole, in a code block."""
    blocks = "\n\n".join(f"{p}\n```python\n{new.rstrip()}\n```" for p, (_, new) in files.items())
    return [{"text": blocks, "repeat": True}]


def _server_class() -> Any:
    spec = importlib.util.spec_from_file_location(
        "scripted_server", ROOT / "fixtures" / "scripted_server.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["scripted_server"] = module
    spec.loader.exec_module(module)
    return module.ScriptedServer


def evaluate(task: Path, config: str, timeout: float, logs: Path | None) -> Result:
    """Run one task under `strong` (the strong model alone) or `routed`."""
    files = fixed_files(task)
    script = native_fix(files) if config == "strong" else text_fix(files)
    server = _server_class()(script).start()
    try:
        via = ["--base-url", server.base_url, "--model", STRONG]
        if config == "routed":
            via += ["--weak-model", "local", "--route", "auto"]
        issue = (task / "ISSUE.md").read_text(encoding="utf-8").strip()
        with tempfile.TemporaryDirectory(prefix=f"coder-routing-{task.name}-") as tmp:
            work = Path(tmp) / task.name
            prepare(task, work)
            log = logs / f"{task.name}.{config}.log" if logs else None
            _, events, seconds = run_coder(issue, work, timeout, 20, log, via)
            restore_tests(task, work)
            solved = judge(work)
    finally:
        server.stop()
    usage = [e for e in events if e.get("type") == "usage"]
    report = next((e["report"] for e in events if e.get("type") == "report"), {})
    return Result(
        task=task.name,
        config=config,
        solved=solved,
        seconds=round(seconds, 1),
        turns=len(usage),
        prompt_tokens=sum(int(e["prompt_tokens"]) for e in usage),  # type: ignore[call-overload]
        completion_tokens=sum(int(e["completion_tokens"]) for e in usage),  # type: ignore[call-overload]
        cost_usd=sum(float(e.get("turn_cost_usd") or 0) for e in usage),  # type: ignore[arg-type]
        models=dict(report.get("models", {})),
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def print_table(results: list[Result]) -> None:
    """Per task and configuration, then medians per solved task."""
    header = f"{'task':<14} {'config':<7} {'ok':<4} {'sec':>5} {'turns':>5} {'tokens':>7}"
    print(header + f" {'cost $':>8}  models")
    for r in results:
        models = ", ".join(f"{m} {n}" for m, n in r.models.items())
        print(
            f"{r.task:<14} {r.config:<7} {'yes' if r.solved else 'no':<4} {r.seconds:>5.0f} "
            f"{r.turns:>5} {r.prompt_tokens + r.completion_tokens:>7} {r.cost_usd:>8.4f}  {models}"
        )
    for config in ("strong", "routed"):
        mine = [r for r in results if r.config == config]
        solved = [r for r in mine if r.solved]
        if not mine:
            continue
        print(
            f"\n{config}: solved {len(solved)}/{len(mine)}; per solved task: median turns "
            f"{_median([r.turns for r in solved]):.1f}, tokens "
            f"{_median([r.prompt_tokens + r.completion_tokens for r in solved]):.0f}, cost "
            f"${_median([r.cost_usd for r in solved]):.4f} "
            f"(total ${sum(r.cost_usd for r in mine):.4f})"
        )


def main(argv: list[str] | None = None) -> int:
    """Run both configurations on every task, interleaved."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME")
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds per task")
    parser.add_argument("--logs", type=Path, help="keep each run's stderr and JSONL here")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    tasks = sorted(p for p in TASKS.iterdir() if (p / "ISSUE.md").is_file())
    tasks = [t for t in tasks if not args.only or t.name in args.only]
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    results = []
    for task in tasks:
        for config in ("strong", "routed"):
            results.append(evaluate(task, config, args.timeout, args.logs))
            r = results[-1]
            line = f"# {r.task} [{config}]: {'solved' if r.solved else 'not solved'} in "
            line += f"{r.seconds:.0f} s, {r.turns} turns, ${r.cost_usd:.4f}"
            print(line, file=sys.stderr, flush=True)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
