"""Nothing a command or the repository writes runs outside the sandbox: coder's own git and
bubblewrap are found outside the repository, coder's installation and every git directory
stay read-only to commands, and the run report names the executables a run left behind.
Real `coder run` processes, real bwrap, real git."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from coder.hostprogs import host_program, safe_path
from coder.sandbox import Sandbox
from coder.workspace import Workspace
from tests.conftest import ROOT, git
from tests.runs import coder_run, events, run_command

REAL_GIT = shutil.which("git")
GIVE_UP = {"text": "stop", "tool_calls": [], "repeat": True}


def plant(name: str, marker: Path, real: str) -> str:
    """A shell command that plants `.venv/bin/NAME`: it notes each run in `marker` (outside
    the repository and the sandbox), then runs the real program so nothing else breaks."""
    script = f'#!/bin/sh\necho "$0 $*" >> {marker}\nexec {real} "$@"\n'
    return (
        f"mkdir -p .venv/bin && printf '%s' '{script}' > .venv/bin/{name} "
        f"&& chmod +x .venv/bin/{name} && echo planted {name}"
    )


def ignored_venv(repo: Path) -> None:
    (repo / ".gitignore").write_text(".venv/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore the virtualenv")


def test_a_planted_git_and_bwrap_on_an_activated_venv_path_never_run_on_the_host(
    repo: Path, scripted_server: Any, tmp_path: Path
) -> None:
    ignored_venv(repo)
    marker = Path("/var/tmp") / f"coder-planted-{os.getpid()}-{tmp_path.name}"
    marker.unlink(missing_ok=True)
    bwrap = Sandbox(repo).bwrap
    assert REAL_GIT and bwrap
    activated = {"PATH": f"{repo / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    server = scripted_server(
        [
            run_command("run", command=plant("git", marker, REAL_GIT)),
            run_command("run", command=plant("bwrap", marker, bwrap)),
            run_command("run", command="echo one more command"),
            GIVE_UP,
        ]
    )
    first = coder_run(repo, server.base_url, "--max-turns", "4", env=activated)
    assert (repo / ".venv" / "bin" / "git").exists() and (repo / ".venv" / "bin" / "bwrap").exists()
    # The next run starts with the plants already on PATH: still never run.
    again = scripted_server([run_command("run", command="echo second run"), GIVE_UP])
    second = coder_run(repo, again.base_url, "--max-turns", "2", env=activated)
    try:
        assert not marker.exists(), marker.read_text()
    finally:
        marker.unlink(missing_ok=True)
    for proc in (first, second):
        assert proc.returncode in (0, 1), proc.stderr
        started = events(proc)[0]
        program = started["sandbox"]["program"]
        assert Path(program).is_absolute() and not Path(program).is_relative_to(repo)
        assert f"bubblewrap {program}" in proc.stderr
    report = next(e for e in events(first) if e["type"] == "report")["report"]
    assert {".venv/bin/git", ".venv/bin/bwrap"} <= set(report["executables"])
    assert "executables made or changed: .venv/bin/" in first.stderr
    assert any("second run" in str(body) for body in again.received)


def test_coder_installed_in_an_in_repository_virtualenv_cannot_be_changed_by_a_command(
    repo: Path, scripted_server: Any
) -> None:
    ignored_venv(repo)
    venv = repo / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    packages = Path(
        subprocess.run(
            [str(python), "-c", "import site; print(site.getsitepackages()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # coder and its libraries, reachable from the in-repository interpreter.
    (packages / "coder_test_paths.pth").write_text(f"{ROOT}\n{site.getsitepackages()[0]}\n")
    config_before = (venv / "pyvenv.cfg").read_bytes()
    inside = packages.relative_to(repo)
    attack = (
        f"echo 'import os' > {inside}/evil.pth; touch .venv/bin/planted; "
        "echo x >> .venv/pyvenv.cfg; echo written > allowed.txt"
    )
    server = scripted_server([run_command("run", command=attack), GIVE_UP])
    argv = [str(python), "-m", "coder", "run", "fix it", "--repo", str(repo)]
    argv += ["--base-url", server.base_url, "--model", "scripted", "--json", "--max-turns", "2"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=repo)
    assert proc.returncode in (0, 1), proc.stderr
    started = events(proc)[0]
    assert started["type"] == "session_started"
    assert not (packages / "evil.pth").exists()
    assert not (venv / "bin" / "planted").exists()
    assert (venv / "pyvenv.cfg").read_bytes() == config_before
    assert (repo / "allowed.txt").read_text() == "written\n"  # the rest stays writable


def test_a_separate_git_dir_inside_the_work_tree_is_read_only(tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    git(root, "init", "-q", "-b", "main", "--separate-git-dir", str(root / ".gitstore"))
    (root / "a.txt").write_text("a\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    assert (root / ".git").is_file()
    dot_git = (root / ".git").read_bytes()
    ws = Workspace(root, Sandbox(root))
    result = ws.run(
        "echo evil > .gitstore/hooks/post-commit; echo 'gitdir: /tmp' > .git; "
        "git log --oneline | wc -l; echo new > b.txt"
    )
    assert not (root / ".gitstore" / "hooks" / "post-commit").exists(), result.output
    assert (root / ".git").read_bytes() == dot_git
    assert "Read-only file system" in result.output
    assert "1\n" in result.output  # git inside the sandbox still reads the repository
    assert (root / "b.txt").read_text() == "new\n"


def test_a_submodules_git_dir_inside_the_work_tree_is_read_only(git_repo: Path) -> None:
    nested = git_repo / "vendor" / "lib"
    nested.mkdir(parents=True)
    git(nested, "init", "-q", "-b", "main")
    (git_repo / ".gitmodules").write_text('[submodule "lib"]\n\tpath = vendor/lib\n')
    ws = Workspace(git_repo, Sandbox(git_repo))
    result = ws.run("echo evil > vendor/lib/.git/hooks/pre-commit; echo done")
    assert not (nested / ".git" / "hooks" / "pre-commit").exists(), result.output
    assert "Read-only file system" in result.output


def test_the_host_path_drops_every_entry_the_repository_decides(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".venv" / "bin").mkdir(parents=True)
    outside = tmp_path / "tools"
    outside.mkdir()
    (outside / "into-repo").symlink_to(root / ".venv" / "bin")
    search = os.pathsep.join(
        [str(root / ".venv" / "bin"), "bin", "", str(outside / "into-repo"), str(outside)]
    )
    assert safe_path(root, search) == str(outside)


def test_a_program_planted_in_the_repository_is_never_the_host_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    bin_dir = root / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    planted = bin_dir / "coder-test-tool"
    planted.write_text("#!/bin/sh\n")
    planted.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert host_program("coder-test-tool", root) is None
    found = host_program("git", root)
    assert found is not None and not Path(found).is_relative_to(root)


def test_the_review_editor_is_never_a_program_inside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coder.tui.screens.review import editor_command

    root = tmp_path / "repo"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "my-editor").write_text("#!/bin/sh\n")
    (root / "bin" / "my-editor").chmod(0o755)
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("EDITOR", "my-editor --wait")
    with pytest.raises(OSError, match="not found outside the repository"):
        editor_command(root)
    monkeypatch.setenv("EDITOR", f"{root / 'bin' / 'my-editor'}")
    with pytest.raises(OSError, match="inside the repository"):
        editor_command(root)
    monkeypatch.setenv("EDITOR", "true --flag")
    assert editor_command(root) == [shutil.which("true"), "--flag"]
