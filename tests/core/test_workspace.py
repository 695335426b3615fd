"""Workspace: path confinement, atomic writes, commands with process-group kill."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from coder.errors import WorkspaceError
from coder.workspace import Workspace, head_tail, strip_ansi


@pytest.mark.parametrize(
    "path",
    ["../outside.txt", "sub/../../outside.txt", "/etc/passwd", ".git/config", ".git", ""],
)
def test_escaping_or_git_paths_are_refused(git_repo: Path, path: str) -> None:
    with pytest.raises(WorkspaceError):
        Workspace(git_repo).resolve(path)


def test_symlink_pointing_outside_is_refused(git_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (git_repo / "link.txt").symlink_to(outside)
    with pytest.raises(WorkspaceError, match="outside"):
        Workspace(git_repo).read_text("link.txt")


def test_write_is_atomic_and_keeps_mode(git_repo: Path) -> None:
    script = git_repo / "run.sh"
    script.write_text("echo old\n")
    script.chmod(0o755)
    Workspace(git_repo).write_text("run.sh", "echo new\n")
    assert script.read_text() == "echo new\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert [p.name for p in git_repo.iterdir() if "coder-tmp" in p.name] == []


def test_list_files_has_untracked_but_not_ignored(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("build/\n")
    (git_repo / "build").mkdir()
    (git_repo / "build" / "out.o").write_text("x")
    (git_repo / "new.py").write_text("x = 1\n")
    assert Workspace(git_repo).list_files() == [".gitignore", "README.md", "new.py"]


def test_timeout_kills_background_children(git_repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "child-alive"
    command = f"(sleep 1.5; touch {marker}) & sleep 30"
    result = Workspace(git_repo).run(command, timeout_s=0.5)
    assert result.timed_out
    time.sleep(2)
    assert not marker.exists()


def test_command_output_and_exit_code(git_repo: Path) -> None:
    result = Workspace(git_repo).run("printf 'a\\033[31mred\\033[0m\\n'; exit 4")
    assert result.exit_code == 4
    assert result.output == "ared\n"


def test_head_tail_keeps_both_ends() -> None:
    text = "HEAD" + "x" * 10_000 + "TAIL"
    short = head_tail(text, 1000)
    assert short.startswith("HEAD") and short.endswith("TAIL") and len(short) < 1100


def test_strip_ansi_removes_title_and_cursor_sequences() -> None:
    assert strip_ansi("\x1b]0;title\x07ok\x1b[2K\x1b[1A") == "ok"


def test_command_runs_in_repo_root(git_repo: Path) -> None:
    result = Workspace(git_repo).run("pwd")
    assert Path(result.output.strip()) == Path(os.path.realpath(git_repo))
