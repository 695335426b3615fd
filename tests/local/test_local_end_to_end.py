"""`coder run` with the real embedded model fixes a fixture task, as the README promises."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, git
from tests.local.conftest import require_model

DEMO_TASK = "sum_to_n"


@pytest.mark.local_model
def test_coder_run_fixes_the_demo_task_offline(tmp_path: Path) -> None:
    model = require_model()
    repo = tmp_path / DEMO_TASK
    shutil.copytree(
        FIXTURES / "tasks" / DEMO_TASK,
        repo,
        ignore=shutil.ignore_patterns("ISSUE.md", "__pycache__", ".pytest_cache"),
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "task")
    config = Path.home() / ".config" / "coder" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'model-path = "{model}"\n')
    issue = (FIXTURES / "tasks" / DEMO_TASK / "ISSUE.md").read_text()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "coder",
            "run",
            issue,
            "--repo",
            str(repo),
            "--json",
            "--max-turns",
            "6",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert events[0]["type"] == "session_started" and events[0]["provider"] == "local"
    assert events[-2]["type"] == "finished" and events[-2]["outcome"] == "passed"
    assert events[-1]["type"] == "report" and events[-1]["report"]["outcome"] == "passed"
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo
    )
    assert tests.returncode == 0
    assert git(repo, "diff", "--stat", "--", "tests").strip() == ""
