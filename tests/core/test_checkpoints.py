"""Checkpoints: save the whole tree without touching branch, index or stash; undo restores it."""

from __future__ import annotations

from pathlib import Path

import pytest

from coder import checkpoints
from coder.errors import UsageError
from coder.workspace import Workspace
from tests.conftest import git


def _dirty(repo: Path) -> None:
    (repo / "README.md").write_bytes(b"user edit, not committed\r\n")
    (repo / "notes.txt").write_text("untracked user notes\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")


def test_checkpoint_leaves_branch_index_and_stash_alone(git_repo: Path) -> None:
    _dirty(git_repo)
    before = (git(git_repo, "status", "--porcelain"), git(git_repo, "rev-parse", "HEAD"))
    checkpoints.create(Workspace(git_repo))
    after = (git(git_repo, "status", "--porcelain"), git(git_repo, "rev-parse", "HEAD"))
    assert before == after
    assert git(git_repo, "stash", "list") == ""
    assert git(git_repo, "for-each-ref", "refs/coder/").count("refs/coder/checkpoints/") == 1


def test_undo_restores_user_changes_byte_identical(git_repo: Path) -> None:
    _dirty(git_repo)
    ws = Workspace(git_repo)
    status = git(git_repo, "status", "--porcelain")
    checkpoints.create(ws)
    ws.write_text("README.md", "agent rewrote this\n")
    ws.write_text("src/new_module.py", "x = 1\n")
    ws.delete("notes.txt")
    git(git_repo, "add", "-A")
    message = checkpoints.undo(ws)
    assert "restored 3 file(s)" in message
    assert (git_repo / "README.md").read_bytes() == b"user edit, not committed\r\n"
    assert (git_repo / "notes.txt").read_text() == "untracked user notes\n"
    assert not (git_repo / "src").exists()
    assert git(git_repo, "status", "--porcelain") == status


def test_undo_can_itself_be_undone_from_pre_undo_ref(git_repo: Path) -> None:
    ws = Workspace(git_repo)
    checkpoints.create(ws)
    ws.write_text("README.md", "agent\n")
    checkpoints.undo(ws)
    saved = git(git_repo, "show", f"{checkpoints.PRE_UNDO_REF}:README.md")
    assert saved == "agent\n"


def test_undo_without_checkpoint_is_a_usage_error(git_repo: Path) -> None:
    with pytest.raises(UsageError, match="nothing to undo"):
        checkpoints.undo(Workspace(git_repo))


def test_non_git_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a git repository"):
        checkpoints.create(Workspace(tmp_path))


def test_checkpoint_works_before_first_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a\n")
    ws = Workspace(tmp_path)
    checkpoints.create(ws)
    ws.write_text("a.txt", "changed\n")
    checkpoints.undo(ws)
    assert (tmp_path / "a.txt").read_text() == "a\n"
