"""Fixtures of the core tests: the textutil fixture repository as a real git repo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, git


@pytest.fixture
def textutil(tmp_path: Path) -> Path:
    """The textutil fixture (slugify drops capitals) as a committed git repository."""
    repo = tmp_path / "textutil"
    shutil.copytree(FIXTURES / "repos" / "textutil", repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo
