"""What a sandboxed command cannot see: secret files (present but empty), git credentials
(while git keeps working), the real HOME (toolchains and the project's own environment
excepted), and host daemons on unix sockets. Real bwrap, real git, real sockets."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from coder.sandbox import Sandbox
from coder.workspace import Workspace
from tests.conftest import git

TOKEN = "dG9rZW4tc2VjcmV0LXZhbHVl"
PASSWORD = "hunter2-password"


def boxed(repo: Path, **options: object) -> Workspace:
    return Workspace(repo, Sandbox(repo, **options))  # type: ignore[arg-type]


@pytest.fixture
def outside_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A HOME outside /tmp (the sandbox's /tmp is private anyway, which would prove nothing)."""
    home = Path("/var/tmp") / f"coder-home-{uuid.uuid4().hex}"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_secret_files_and_git_credentials_are_masked_while_git_works(git_repo: Path) -> None:
    (git_repo / ".env").write_text("API_TOKEN=s3cr3t-value-123\n")
    (git_repo / "deploy").mkdir()
    (git_repo / "deploy" / "site.pem").write_text("-----BEGIN PRIVATE KEY-----\nabc\n")
    git(git_repo, "config", "http.https://github.com/.extraheader", f"AUTHORIZATION: basic {TOKEN}")
    git(git_repo, "remote", "add", "origin", f"https://user:{PASSWORD}@example.com/r.git")
    git(git_repo, "config", "credential.helper", "store --file=/secret/creds")
    result = boxed(git_repo).run(
        "cat .env deploy/site.pem; wc -c < .env; cat .git/config; "
        "git log --oneline | wc -l; git remote -v; git status --short | wc -l"
    )
    for secret in ("s3cr3t-value", "BEGIN PRIVATE", TOKEN, PASSWORD, "/secret/creds"):
        assert secret not in result.output
    assert "\n0\n" in f"\n{result.output}"  # .env is there, empty
    assert "https://user@example.com/r.git" in result.output  # the remote, less its password
    assert result.output.count("\n1\n") >= 1  # git log still reads the repository
    assert (git_repo / ".env").read_text() == "API_TOKEN=s3cr3t-value-123\n"
    assert TOKEN in (git_repo / ".git" / "config").read_text()  # the host's copy is untouched


def test_read_secrets_lets_commands_read_secret_files(git_repo: Path) -> None:
    (git_repo / ".env").write_text("API_TOKEN=s3cr3t-value-123\n")
    result = boxed(git_repo, read_secrets=True).run("cat .env")
    assert "s3cr3t-value-123" in result.output


def test_secret_files_patterns_of_the_user_are_masked_too(git_repo: Path) -> None:
    (git_repo / "vault.yml").write_text("password: letmein-please\n")
    result = boxed(git_repo, secret_files=("vault.yml",)).run("cat vault.yml; echo end")
    assert "letmein" not in result.output and "end" in result.output


def test_the_real_home_is_hidden_but_toolchains_and_git_identity_remain(
    git_repo: Path, outside_home: Path
) -> None:
    (outside_home / "notes.txt").write_text("private notes\n")
    (outside_home / "projects-list").mkdir()
    tool = outside_home / ".cargo" / "bin" / "cargo-tool"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\necho tool ran\n")
    tool.chmod(0o755)
    (outside_home / ".gitconfig").write_text(
        f"[user]\n\tname = Home User\n[credential]\n\thelper = store\n"
        f'[url "https://x:{PASSWORD}@example.com/"]\n\tinsteadOf = https://example.com/\n'
    )
    result = boxed(git_repo).run(
        f"cat {outside_home}/notes.txt; ls {outside_home}; {tool}; "
        "git config --global user.name; cat ~/.gitconfig"
    )
    assert "private notes" not in result.output and "projects-list" not in result.output
    assert "tool ran" in result.output
    assert "Home User" in result.output
    assert PASSWORD not in result.output and "helper" not in result.output


def test_a_sibling_package_a_venv_pth_names_stays_readable(
    tmp_path: Path, outside_home: Path
) -> None:
    sibling = outside_home / "src" / "sibling"
    sibling.mkdir(parents=True)
    (sibling / "sibling_pkg.py").write_text("VALUE = 'from the sibling'\n")
    repo = outside_home / "src" / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    packages = repo / ".venv" / "lib" / "python3.11" / "site-packages"
    packages.mkdir(parents=True)
    (packages / "__editable__sibling.pth").write_text(f"{sibling}\n")
    result = boxed(repo).run(f"cat {sibling}/sibling_pkg.py; ls {outside_home}/src")
    assert "from the sibling" in result.output
    assert "project" in result.output  # the repository itself is there, under HOME


def test_a_host_unix_socket_listener_receives_nothing(git_repo: Path) -> None:
    path = Path("/var/tmp") / f"coder-listener-{uuid.uuid4().hex[:8]}.sock"
    received: list[bytes] = []
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        listener.listen()
        listener.settimeout(0.3)
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                received.append(conn.recv(100) or b"(connected)")
                conn.close()

        thread = threading.Thread(target=accept)
        thread.start()
        try:
            probe = (
                f'{sys.executable} -c "import socket; s = socket.socket(socket.AF_UNIX); '
                f"s.connect('{path}'); s.send(b'leak'); print('connected')\""
            )
            result = boxed(git_repo).run(probe)
            allowed = boxed(git_repo, network=True).run(probe)
        finally:
            stop.set()
            thread.join()
            os.unlink(path)
    assert "connected" not in result.output and "ConnectionRefusedError" in result.output
    assert received == [b"leak"]  # only the run whose network was on reached it
    assert "connected" in allowed.output


def test_a_masked_secret_file_cannot_be_changed_or_removed_by_a_command(git_repo: Path) -> None:
    (git_repo / ".env").write_text("TOKEN=abc\n")
    result = boxed(git_repo).run("echo TOKEN=evil > .env; rm -f .env; git clean -fdxq; echo done")
    assert "done" in result.output
    assert (git_repo / ".env").read_text() == "TOKEN=abc\n"
