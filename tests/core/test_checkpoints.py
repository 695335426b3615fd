"""Checkpoints: save the whole tree without touching branch, index or stash."""

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


def test_checkpoint_holds_the_dirty_tree_and_the_index(git_repo: Path) -> None:
    _dirty(git_repo)
    ws = Workspace(git_repo)
    saved = checkpoints.create(ws)
    store = checkpoints.GitStore(ws)
    files = store.entries(saved.tree)
    assert store.get(files["README.md"][0]) == b"user edit, not committed\r\n"
    assert store.get(files["notes.txt"][0]) == b"untracked user notes\n"
    assert "staged.txt" in store.entries(store.index_of(saved))
    assert "notes.txt" not in store.entries(store.index_of(saved))


def test_diff_since_shows_every_change(git_repo: Path) -> None:
    ws = Workspace(git_repo)
    saved = checkpoints.create(ws)
    ws.write_text("README.md", "agent\n")
    ws.write_text("src/new.py", "x = 1\n")
    diff = checkpoints.diff_since(ws, saved)
    assert "+agent" in diff and "+x = 1" in diff


def test_snapshots_report_what_changed(git_repo: Path) -> None:
    ws = Workspace(git_repo)
    store = checkpoints.GitStore(ws)
    index = git_repo / ".git" / "coder-test.index"
    first = store.snapshot(index)
    (git_repo / "README.md").write_text("changed\n")
    (git_repo / "new.txt").write_text("new\n")
    changes = store.changes(first, store.snapshot(index))
    assert sorted(changes) == ["README.md", "new.txt"]
    assert changes["new.txt"][0] is None and changes["new.txt"][1] is not None


def test_non_git_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a git repository"):
        checkpoints.create(Workspace(tmp_path))


def test_checkpoint_works_before_first_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a\n")
    saved = checkpoints.create(Workspace(tmp_path))
    assert git(tmp_path, "show", f"{saved.tree}:a.txt") == "a\n"
