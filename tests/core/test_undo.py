"""Undo takes back only what the agent did: per file, against the agent's own record; the
user's later edits are kept (merged when git can), their new files stay, modes and links
come back exactly, ignored and secret files the agent destroyed are restored, redo works."""

from __future__ import annotations

import os
import random
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from coder import undo
from coder.errors import UsageError
from coder.sandbox import Sandbox
from coder.undo import Ledger
from coder.workspace import Workspace
from tests.conftest import git


def agent_workspace(
    repo: Path, mode: str = "workspace-write", read_secrets: bool = False
) -> Workspace:
    """A workspace whose every write and command is recorded, as a session's is."""
    ws = Workspace(repo, Sandbox(repo.resolve(), mode, read_secrets=read_secrets))
    ws.observer = Ledger.start(ws)
    return ws


def lines(n: int, tag: str = "line") -> str:
    return "".join(f"{tag} {i}\n" for i in range(n))


@pytest.fixture
def repo(git_repo: Path) -> Path:
    (git_repo / "a.txt").write_text(lines(20))
    (git_repo / "b.txt").write_text("b\n")
    (git_repo / ".gitignore").write_text("local.cfg\n__pycache__/\n.env\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "files")
    return git_repo


def test_undo_restores_the_agents_files_and_keeps_the_users_later_work(repo: Path) -> None:
    ws = agent_workspace(repo)
    ws.write_text("b.txt", "agent\n")
    ws.write_text("new/agent.py", "x = 1\n")
    # After the run, the user edits another file and creates one.
    (repo / "README.md").write_text("the user's later edit\n")
    (repo / "mine.txt").write_text("the user's new file\n")
    report = undo.undo(Workspace(repo))
    assert sorted(report.restored) == ["b.txt", "new/agent.py"]
    assert (repo / "b.txt").read_text() == "b\n"
    assert not (repo / "new").exists()
    assert (repo / "README.md").read_text() == "the user's later edit\n"
    assert (repo / "mine.txt").read_text() == "the user's new file\n"


def test_a_file_both_changed_is_merged_when_clean_and_left_when_not(repo: Path) -> None:
    ws = agent_workspace(repo)
    ws.write_text("a.txt", lines(20).replace("line 1\n", "agent's line 1\n"))
    ws.write_text("b.txt", "agent\n")
    (repo / "a.txt").write_text((repo / "a.txt").read_text().replace("line 15\n", "user 15\n"))
    (repo / "b.txt").write_text("the user rewrote it\n")
    report = undo.undo(Workspace(repo))
    assert report.merged == ["a.txt"] and report.left == ["b.txt"]
    assert (repo / "a.txt").read_text() == lines(20).replace("line 15\n", "user 15\n")
    assert (repo / "b.txt").read_text() == "the user rewrote it\n"
    assert "left 1 file(s) you changed since" in report.summary()


def test_modes_and_symlinks_come_back_exactly(repo: Path) -> None:
    for name, mode in (("secret-ish.txt", 0o600), ("group.txt", 0o640), ("tool.sh", 0o750)):
        (repo / name).write_text(name)
        (repo / name).chmod(mode)
    (repo / "link").symlink_to("a.txt")
    ws = agent_workspace(repo)
    ws.delete("secret-ish.txt")
    ws.write_text("group.txt", "changed\n")
    ws.run("rm tool.sh && rm link && ln -s b.txt link")
    undo.undo(Workspace(repo))
    assert stat.S_IMODE((repo / "secret-ish.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((repo / "group.txt").stat().st_mode) == 0o640
    assert stat.S_IMODE((repo / "tool.sh").stat().st_mode) == 0o750
    assert (repo / "group.txt").read_text() == "group.txt"
    assert os.readlink(repo / "link") == "a.txt"


def test_ignored_and_secret_files_a_command_destroyed_come_back(repo: Path) -> None:
    (repo / "local.cfg").write_text("the user's local settings\n")
    (repo / ".env").write_text("TOKEN=abc\n")
    (repo / "__pycache__").mkdir()
    (repo / "__pycache__" / "x.pyc").write_bytes(b"regenerable")
    ws = agent_workspace(repo, read_secrets=True)  # else .env is masked: no command can touch it
    result = ws.run("git clean -fdxq && echo cleaned")
    assert "cleaned" in result.output and not (repo / "local.cfg").exists()
    assert not (repo / ".env").exists()
    undo.undo(Workspace(repo))
    assert (repo / "local.cfg").read_text() == "the user's local settings\n"
    assert (repo / ".env").read_text() == "TOKEN=abc\n"
    assert not (repo / "__pycache__").exists()  # rebuilt by tools; never copied
    tree = git(repo, "for-each-ref", "--format=%(objectname)", "refs/coder/")
    assert all(".env" not in git(repo, "ls-tree", "-r", "--name-only", c) for c in tree.split())


def test_a_secret_file_the_user_changes_after_the_run_is_left_exactly(repo: Path) -> None:
    (repo / ".env").write_text("TOKEN=abc\n")
    ws = agent_workspace(repo, read_secrets=True)
    ws.run("echo TOKEN=agent > .env")
    (repo / ".env").write_text("TOKEN=the user's new one\n")
    report = undo.undo(Workspace(repo))
    assert report.left == [".env"]
    assert (repo / ".env").read_text() == "TOKEN=the user's new one\n"


def test_user_edits_between_agent_actions_are_not_taken_back(repo: Path) -> None:
    ws = agent_workspace(repo)
    ws.run("echo one > made-by-agent.txt")
    (repo / "b.txt").write_text("the user, mid-session\n")
    ws.run("echo two >> made-by-agent.txt")
    undo.undo(Workspace(repo))
    assert (repo / "b.txt").read_text() == "the user, mid-session\n"
    assert not (repo / "made-by-agent.txt").exists()


def test_redo_brings_back_what_undo_took_back(repo: Path) -> None:
    ws = agent_workspace(repo)
    ws.write_text("b.txt", "agent\n")
    ws.run("echo created > c.txt")
    undo.undo(Workspace(repo))
    assert (repo / "b.txt").read_text() == "b\n" and not (repo / "c.txt").exists()
    report = undo.redo(Workspace(repo))
    assert sorted(report.restored) == ["b.txt", "c.txt"]
    assert (repo / "b.txt").read_text() == "agent\n" and (repo / "c.txt").read_text() == "created\n"


def test_the_index_the_agent_changed_is_restored(repo: Path) -> None:
    (repo / "b.txt").write_text("user staged\n")
    git(repo, "add", "b.txt")
    status = git(repo, "status", "--porcelain")
    ws = agent_workspace(repo, mode="off")
    ws.run("echo agent > a.txt && git add a.txt")
    undo.undo(Workspace(repo))
    assert git(repo, "status", "--porcelain") == status


def test_nothing_to_undo_is_a_usage_error(repo: Path) -> None:
    with pytest.raises(UsageError, match="nothing to undo"):
        undo.undo(Workspace(repo))


def test_coder_undo_prints_what_it_restored_and_what_it_left(repo: Path) -> None:
    ws = agent_workspace(repo)
    ws.write_text("b.txt", "agent\n")
    ws.write_text("a.txt", "agent\n")
    (repo / "a.txt").write_text("user\n")
    proc = subprocess.run(
        [sys.executable, "-m", "coder", "undo", "--repo", str(repo)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "restored 1 file(s): b.txt" in proc.stdout
    assert "left 1 file(s) you changed since, as they are: a.txt" in proc.stdout
    redo = subprocess.run(
        [sys.executable, "-m", "coder", "redo", "--repo", str(repo)], capture_output=True, text=True
    )
    assert redo.returncode == 0 and "redone 1 file(s): b.txt" in redo.stdout


@pytest.mark.parametrize("seed", range(8))
def test_random_user_work_before_and_after_a_run_survives_undo(repo: Path, seed: int) -> None:
    """Property: whatever the user did before and after the run is exactly there after undo."""
    rng = random.Random(seed)
    names = [f"f{n}.txt" for n in range(12)]
    for name in names:
        (repo / name).write_text(lines(12, name))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "more")

    def user_edit(tag: str) -> None:
        for name in rng.sample(names, 4):
            path = repo / name
            if not path.exists() or rng.random() < 0.2:
                path.write_text(f"{tag} wrote {name}\n")
            elif rng.random() < 0.3:
                path.unlink()
            else:
                text = path.read_text().splitlines(keepends=True)
                text.insert(len(text), f"{tag} appended\n")
                path.write_text("".join(text))
        (repo / f"{tag}-new.txt").write_text(f"{tag}\n")

    user_edit("before")
    before = {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    ws = agent_workspace(repo)
    touched = rng.sample([n for n in names if (repo / n).exists()], 5)
    for name in touched[:3]:
        ws.write_text(name, (repo / name).read_text().replace("line 0", "agent line 0"))
    ws.run(f"rm {touched[3]} && echo agent > agent-made.txt")
    ws.delete(touched[4])
    agent_state = {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    user_edit("after")
    after = {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    names_seen = set(agent_state) | set(after)
    changed_by_user = {n for n in names_seen if after.get(n) != agent_state.get(n)}
    undo.undo(Workspace(repo))
    now = {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    for name in changed_by_user:  # the user's later work: exactly as they left it, or merged
        if name not in after:
            assert name not in now, name  # the user deleted it: it stays deleted
            continue
        assert name in now, name
        if now[name] != after[name]:
            assert b"after appended" in now[name] and b"agent line 0" not in now[name], name
    for name, data in before.items():  # the user's earlier work: back where nobody touched it
        if name not in changed_by_user:
            assert now.get(name) == data, name
    assert "agent-made.txt" not in now or "agent-made.txt" in changed_by_user


def test_an_ignored_file_a_diff_deletes_comes_back(repo: Path) -> None:
    (repo / "local.cfg").write_text("the user's local settings\n")
    ws = agent_workspace(repo)
    ws.delete("local.cfg")
    undo.undo(Workspace(repo))
    assert (repo / "local.cfg").read_text() == "the user's local settings\n"


def test_an_ignored_file_rewritten_at_the_same_size_with_its_times_put_back_comes_back(
    repo: Path,
) -> None:
    (repo / "local.cfg").write_text("mine\n")  # ignored by the fixture's .gitignore
    ws = agent_workspace(repo)
    ws.run(
        "cp -p local.cfg /tmp/stamp; printf 'evil\\n' > local.cfg; touch -r /tmp/stamp local.cfg"
    )
    assert (repo / "local.cfg").read_text() == "evil\n"
    undo.undo(Workspace(repo))
    assert (repo / "local.cfg").read_text() == "mine\n"


def test_a_command_coder_was_killed_during_is_taken_back_by_undo(
    repo: Path, scripted_server: Any
) -> None:
    import signal
    import time

    target = repo / "b.txt"
    before = target.read_text()
    command = f"echo '# changed' >> {target.name}; touch created.txt; sleep 60"
    server = scripted_server(
        [
            {"tool_calls": [{"name": "run", "arguments": {"command": command}}]},
            {"text": "stop", "tool_calls": [], "repeat": True},
        ]
    )
    argv = [sys.executable, "-m", "coder", "run", "fix it", "--repo", str(repo), "--json"]
    argv += ["--base-url", server.base_url, "--model", "scripted", "--check", "true"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (repo / "created.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (repo / "created.txt").exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    result = subprocess.run(
        [sys.executable, "-m", "coder", "undo", "--repo", str(repo)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text() == before
    assert not (repo / "created.txt").exists()


def test_a_large_ignored_file_a_command_deletes_or_replaces_comes_back(repo: Path) -> None:
    data = os.urandom(2 << 20)  # over the 1 MiB a copy is made for: kept by a hard link
    (repo / "local.cfg").write_bytes(data)
    ws = agent_workspace(repo)
    ws.run("rm local.cfg")
    assert not (repo / "local.cfg").exists()
    undo.undo(Workspace(repo))
    assert (repo / "local.cfg").read_bytes() == data
    ws = agent_workspace(repo)
    ws.run("head -c 3000000 /dev/zero > new.bin && mv new.bin local.cfg")
    assert (repo / "local.cfg").read_bytes() != data
    undo.undo(Workspace(repo))
    assert (repo / "local.cfg").read_bytes() == data


def test_the_users_own_staging_during_a_sandboxed_command_is_not_the_commands(
    repo: Path,
) -> None:
    """Sandboxed, a command cannot write .git: an index that changed meanwhile is the user's,
    and undo leaves it."""
    ws = agent_workspace(repo)
    (repo / "b.txt").write_text("the user's\n")
    ws.observer.before_command()  # type: ignore[union-attr]
    git(repo, "add", "b.txt")  # the user, in another terminal, while the command runs
    ws.observer.after_command()  # type: ignore[union-attr]
    ws.write_text("a.txt", "agent\n")
    undo.undo(Workspace(repo))
    assert "b.txt" in git(repo, "diff", "--cached", "--name-only")
