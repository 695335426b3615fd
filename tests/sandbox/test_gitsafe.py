"""coder's own git calls run no program the repository names: no hooks, fsmonitor,
clean/smudge/process filters, diff.external or textconv."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from coder import checkpoints, undo
from coder.repomap import RepoMap
from coder.undo import Ledger
from coder.workspace import Workspace
from tests.conftest import git


@pytest.fixture
def hostile(git_repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose .git/config and .gitattributes name programs that leave markers."""
    markers = tmp_path / "ran"
    markers.mkdir()

    def program(name: str, then: str = "cat") -> str:
        return f"touch {markers / name}; {then}"

    (git_repo / ".gitattributes").write_text("* filter=evil diff=evil\n")
    for key, value in {
        "filter.evil.clean": program("clean"),
        "filter.evil.smudge": program("smudge"),
        "filter.evil.process": program("process", "false"),
        "filter.evil.required": "true",
        "diff.evil.textconv": program("textconv"),
        "diff.evil.command": program("diff-command", "true"),
        "diff.external": program("diff-external", "true"),
        "core.fsmonitor": program("fsmonitor", "false"),
        "core.hooksPath": str(markers),
        "commit.gpgSign": "true",
        "gpg.program": program("gpg", "false"),
    }.items():
        git(git_repo, "config", key, value)
    (markers / "post-checkout").write_text(f"#!/bin/sh\ntouch {markers / 'hook'}\n")
    (markers / "post-checkout").chmod(0o755)
    (git_repo / "module.py").write_text("def f():\n    return 1\n")
    return git_repo, markers


def test_checkpoint_diff_undo_and_listing_run_no_repository_program(
    hostile: tuple[Path, Path],
) -> None:
    repo, markers = hostile
    before = {p.name for p in markers.iterdir()}
    ws = Workspace(repo)
    ledger = Ledger.start(ws)
    ws.observer = ledger
    ws.write_text("module.py", "def f():\n    return 2\n")
    assert "return 2" in checkpoints.diff_since(ws, ledger.checkpoint)
    ws.list_files()
    RepoMap(ws).render(512)
    undo.undo(Workspace(repo))
    assert (repo / "module.py").read_text() == "def f():\n    return 1\n"
    assert {p.name for p in markers.iterdir()} == before


def test_the_markers_do_appear_with_plain_git(hostile: tuple[Path, Path]) -> None:
    """The test above can fail: git itself runs these programs."""
    repo, markers = hostile
    subprocess.run(["git", "add", "-A"], cwd=repo, capture_output=True)
    subprocess.run(["git", "status"], cwd=repo, capture_output=True)
    assert (markers / "process").exists() and (markers / "fsmonitor").exists()
