"""The OS sandbox around every command: real bubblewrap, real processes, real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from coder.errors import SandboxError
from coder.sandbox import Sandbox, command_env
from coder.workspace import LIVE_LIMIT, Workspace

OUTSIDE = Path("/var/tmp")
"""Writable on the host, outside every repository and outside the sandbox's private /tmp."""


def boxed(repo: Path, **options: object) -> Workspace:
    return Workspace(repo, Sandbox(repo, **options))  # type: ignore[arg-type]


def test_writes_outside_the_repository_fail_and_leave_nothing(git_repo: Path) -> None:
    target = OUTSIDE / f"coder-escape-{uuid.uuid4().hex}"
    home_file = Path.home() / ".bashrc-coder-test"
    command = f"echo x > {target}; echo x > {home_file}; cd / && touch /etc/coder-test-file"
    result = boxed(git_repo).run(command)
    assert "Read-only file system" in result.output
    assert not target.exists() and not home_file.exists()
    assert not Path("/etc/coder-test-file").exists()


def test_the_repository_is_writable_but_git_is_not(git_repo: Path) -> None:
    config_before = (git_repo / ".git" / "config").read_bytes()
    command = (
        "echo new > made.txt; echo evil > .git/hooks/pre-commit; "
        "git config core.fsmonitor 'touch /var/tmp/fsmonitor-ran'; echo done"
    )
    result = boxed(git_repo).run(command)
    assert (git_repo / "made.txt").read_text() == "new\n"
    assert not (git_repo / ".git" / "hooks" / "pre-commit").exists()
    assert (git_repo / ".git" / "config").read_bytes() == config_before
    assert result.output.count("Read-only file system") >= 1


def test_coder_config_in_the_repository_is_read_only(git_repo: Path) -> None:
    (git_repo / ".coder.toml").write_text("max-turns = 3\n")
    result = boxed(git_repo).run("echo 'allowed-commands = [\"\"]' >> .coder.toml")
    assert result.exit_code != 0
    assert (git_repo / ".coder.toml").read_text() == "max-turns = 3\n"


def test_read_only_mode_writes_nothing_in_the_repository(git_repo: Path) -> None:
    result = boxed(git_repo, mode="read-only").run(
        "echo x > made.txt; echo tmp > /tmp/ok && cat /tmp/ok"
    )
    assert not (git_repo / "made.txt").exists()
    assert "tmp" in result.output and "Read-only file system" in result.output


def test_no_network_even_to_a_loopback_listener(git_repo: Path) -> None:
    hits: list[bytes] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(5)
        port = server.getsockname()[1]

        def accept() -> None:
            try:
                conn, _ = server.accept()
                hits.append(conn.recv(1000))
                conn.close()
            except OSError:
                pass

        listener = threading.Thread(target=accept)
        listener.start()
        send = (
            f"{sys.executable} -c \"import socket; s = socket.create_connection(('127.0.0.1', "
            f"{port}), timeout=2); s.sendall(b'secret .env contents')\""
        )
        blocked = boxed(git_repo).run(send)
        assert blocked.exit_code != 0
        assert hits == []
        allowed = boxed(git_repo, network=True).run(send)
        listener.join(timeout=10)
    assert allowed.exit_code == 0, allowed.output
    assert hits == [b"secret .env contents"]  # the same command does reach it when allowed


def test_a_detached_process_does_not_outlive_its_command(git_repo: Path) -> None:
    marker = git_repo / "still-alive"
    command = f"setsid sh -c 'sleep 1.5; touch {marker}' > /dev/null 2>&1 & sleep 0.3; echo started"
    result = boxed(git_repo).run(command)
    assert "started" in result.output
    time.sleep(2.5)
    assert not marker.exists()


def test_the_same_detached_process_survives_without_the_sandbox(git_repo: Path) -> None:
    """The test above can fail: unconfined, the detached child does live on."""
    marker = git_repo / "still-alive"
    command = f"setsid sh -c 'sleep 1; touch {marker}' > /dev/null 2>&1 & sleep 0.3; echo started"
    boxed(git_repo, mode="off").run(command)
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists()


def test_timeout_kills_background_children(git_repo: Path) -> None:
    marker = git_repo / "child-alive"
    result = boxed(git_repo).run(f"(sleep 1.5; touch {marker}) & sleep 30", timeout_s=0.5)
    assert result.timed_out
    time.sleep(2)
    assert not marker.exists()


def test_commands_get_a_clean_environment(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {
        "OPENAI_API_KEY": "sk-live-abcdefghijklmnopqrstuvwxyz",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "GITHUB_TOKEN": "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
        "MY_SERVICE_PASSWORD": "hunter2hunter2",
        "AWS_REGION": "eu-west-1",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FAVOURITE_COLOUR", "green")
    for mode in ("workspace-write", "off"):
        output = boxed(git_repo, mode=mode).run("env").output
        for value in secrets.values():
            assert value not in output, mode
        assert "FAVOURITE_COLOUR" not in output
        assert "GIT_TERMINAL_PROMPT=0" in output and "GIT_EDITOR=true" in output
    passed = boxed(git_repo, passthrough=("FAVOURITE_COLOUR", "GITHUB_TOKEN")).run("env").output
    assert "FAVOURITE_COLOUR=green" in passed
    assert secrets["GITHUB_TOKEN"] not in passed  # a secret-looking name never passes


def test_git_commit_without_a_message_does_not_wait_for_an_editor(git_repo: Path) -> None:
    (git_repo / "README.md").write_text("changed\n")
    subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
    started = time.monotonic()
    result = boxed(git_repo, mode="off").run("git commit", timeout_s=20)
    assert not result.timed_out and time.monotonic() - started < 10
    assert result.exit_code != 0


def test_credential_stores_in_home_are_hidden(git_repo: Path) -> None:
    ssh = Path.home() / ".ssh"
    ssh.mkdir(exist_ok=True)
    (ssh / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n")
    (Path.home() / ".netrc").write_text("machine example.com password hunter2\n")
    output = (
        boxed(git_repo).run(f"cat {ssh / 'id_ed25519'} {Path.home() / '.netrc'}; ls {ssh}").output
    )
    assert "PRIVATE KEY" not in output and "hunter2" not in output


def test_output_is_bounded_in_memory_and_live(git_repo: Path) -> None:
    chunks: list[str] = []
    result = boxed(git_repo).run(
        "head -c 12000000 /dev/zero | tr '\\0' 'x'; echo; echo THE-END", on_output=chunks.append
    )
    assert result.exit_code == 0
    assert len(result.output) < 400_000
    assert result.output.rstrip().endswith("THE-END") and "characters" in result.output
    assert sum(len(c) for c in chunks) < LIVE_LIMIT + 200


def test_sandbox_that_cannot_start_refuses_loudly(git_repo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "bwrap"
    broken.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    broken.chmod(0o755)
    ws = Workspace(git_repo, Sandbox(git_repo, bwrap=str(broken)))
    with pytest.raises(SandboxError, match="the sandbox cannot start.*--sandbox off"):
        ws.run("echo should not run")
    missing = Workspace(git_repo, Sandbox(git_repo, bwrap=str(tmp_path / "nope")))
    with pytest.raises(SandboxError, match="cannot start"):
        missing.run("echo should not run")


def test_command_env_has_a_sandbox_home_and_toolchains() -> None:
    env = command_env(home="/tmp/coder-home", environ={"PATH": "/bin", "HOME": str(Path.home())})
    assert env["HOME"] == "/tmp/coder-home" and env["TMPDIR"] == "/tmp"
    assert env["PAGER"] == "cat" and env["GIT_TERMINAL_PROMPT"] == "0"
    cargo = Path.home() / ".cargo"
    cargo.mkdir(exist_ok=True)
    env = command_env(home="/tmp/coder-home", environ={"HOME": str(Path.home())})
    assert env["CARGO_HOME"] == str(cargo)


def test_the_sandbox_dies_with_coder(git_repo: Path, tmp_path: Path) -> None:
    """kill -9 of the process running a command leaves nothing of the command alive."""
    tag = f"coder-kill-test-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "runner.py"
    script.write_text(
        "import sys\nfrom pathlib import Path\nfrom coder.workspace import Workspace\n"
        f"Workspace(Path({str(git_repo)!r})).run('sleep 60 # {tag}', timeout_s=120)\n"
    )
    runner = subprocess.Popen([sys.executable, str(script)], env={**os.environ})
    deadline = time.monotonic() + 20
    while not _running(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(tag)
    runner.kill()
    runner.wait()
    deadline = time.monotonic() + 5
    while _running(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(tag)


def _running(tag: str) -> bool:
    found = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True)
    return any(int(pid) != os.getpid() for pid in found.stdout.split())


def test_tools_installed_under_tmp_stay_usable(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The private /tmp must not hide a virtualenv or a PATH entry that lives in /tmp."""
    tools = tmp_path / "venv" / "bin"
    tools.mkdir(parents=True)
    (tools / "mytool").write_text("#!/bin/sh\necho tool ran\n")
    (tools / "mytool").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    result = boxed(git_repo).run("mytool && echo x > /tmp/scratch && cat /tmp/scratch")
    assert result.output.splitlines() == ["tool ran", "x"]
    denied = boxed(git_repo).run(f"echo y > {tools / 'mytool'}")
    assert "Read-only file system" in denied.output
