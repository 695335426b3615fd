"""TUI test helpers: a fixture repository with failing tests, settings for the scripted
server, and a polling wait for Pilot tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coder import config
from coder.config import Settings

ROOT = Path(__file__).resolve().parents[2]
STATS = ROOT / "fixtures" / "tasks" / "stats_fix"
CHECK = f"{sys.executable} -m pytest -q -p no:cacheprovider"


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio (Textual's loop)."""
    return "asyncio"


def make_repo(tmp_path: Path) -> Path:
    """A committed copy of fixtures/tasks/stats_fix (mean and median are wrong)."""
    repo = tmp_path / "stats"
    shutil.copytree(STATS, repo)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


@pytest.fixture
def stats_repo(tmp_path: Path) -> Path:
    """A git repository whose tests fail until stats/center.py is fixed."""
    return make_repo(tmp_path)


def settings_for(repo: Path, base_url: str, approval: str = "suggest", **extra: Any) -> Settings:
    """Settings pointing at the scripted server, with the fixture's pytest as the check."""
    flags = {"base_url": base_url, "approval": approval, "checks": [CHECK], **extra}
    return config.load(flags, repo=repo)


async def wait_for(pilot: Any, condition: Callable[[], object], timeout: float = 15.0) -> None:
    """Let the app run until `condition()` is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.05)


def sent_to_model(server: Any) -> str:
    """Everything the scripted server received, as one string (for `in` assertions)."""
    import json

    return "\n".join(json.dumps(body) for body in server.received)
