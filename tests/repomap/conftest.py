"""Fixtures for the repo map tests: fixture directories committed into real git repos."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "repomap"


def commit_all(repo: Path) -> None:
    """Stage and commit everything in `repo` (which must be a git repository)."""
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(
        ["git", "commit", "-q", "-m", "update"], cwd=repo, check=True, capture_output=True
    )


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], Path]:
    """Copy fixtures/repomap/<name> into a fresh git repository and commit it."""

    def make(name: str) -> Path:
        repo = tmp_path / name
        shutil.copytree(FIXTURES / name, repo)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        commit_all(repo)
        return repo

    return make
