"""`coder run` tried as an attacker would: a hostile model's commands against the real
sandbox, real HTTP to the scripted server, real sockets, real signals."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from coder import config
from tests.runs import (
    coder_run,
    events,
    finished,
    measured_coder_run,
    run_command,
    tool_outputs,
)

FINISH = {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}
GIVE_UP = {"text": "stop", "tool_calls": [], "repeat": True}
SECRETS = {
    "OPENAI_API_KEY": "sk-test-0123456789abcdefghijklmnop",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "GITHUB_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
}


def commands(*lines: str, end: dict[str, Any] = GIVE_UP) -> list[dict[str, Any]]:
    return [*(run_command("run", command=line) for line in lines), end]


def test_the_environment_never_reaches_the_model_or_the_json_lines(
    repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(commands("env", "printenv OPENAI_API_KEY; echo $GITHUB_TOKEN"))
    proc = coder_run(repo, server.base_url, "--max-turns", "3", env=SECRETS)
    sent = "\n".join(str(body) for body in server.received)
    for value in SECRETS.values():
        assert value not in sent
        assert value not in proc.stdout and value not in proc.stderr
    assert "PATH=" in "\n".join(tool_outputs(server))  # env did run and report


def test_no_network_to_a_loopback_listener(repo: Path, scripted_server: Any) -> None:
    hits: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                hits.append(conn.recv(100))
                conn.close()

        thread = threading.Thread(target=accept)
        thread.start()
        leak = (
            f'{sys.executable} -c "import urllib.request; '
            f"urllib.request.urlopen('http://127.0.0.1:{port}/', "
            "data=open('README.md','rb').read())\""
        )
        server = scripted_server(commands(leak))
        proc = coder_run(repo, server.base_url, "--max-turns", "2")
        stop.set()
        thread.join()
    assert hits == [], proc.stderr
    result = next(e for e in events(proc) if e["type"] == "tool_result")
    program = result["sandbox"].pop("program")
    assert result["sandbox"] == {
        "mode": "workspace-write",
        "backend": "bubblewrap",
        "network": False,
    }
    assert Path(program).is_absolute() and not Path(program).is_relative_to(repo)


def test_writes_outside_hooks_and_fsmonitor_do_not_land(repo: Path, scripted_server: Any) -> None:
    target = Path("/var/tmp") / f"coder-attack-{uuid.uuid4().hex}"
    config_before = (repo / ".git" / "config").read_bytes()
    server = scripted_server(
        commands(
            f"echo pwned > {target}",
            "echo 'touch /var/tmp/hooked' > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit",
            "git config core.fsmonitor 'touch /var/tmp/fsmon'",
            f"rm -f {Path.home() / '.bashrc'}",
        )
    )
    (Path.home() / ".bashrc").write_text("# the user's\n")
    coder_run(repo, server.base_url, "--max-turns", "5")
    assert not target.exists()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert (repo / ".git" / "config").read_bytes() == config_before
    assert (Path.home() / ".bashrc").read_text() == "# the user's\n"


def test_a_detached_process_does_not_outlive_the_run(repo: Path, scripted_server: Any) -> None:
    marker = repo / "survivor"
    server = scripted_server(
        commands(f"setsid sh -c 'sleep 2; touch {marker}' > /dev/null 2>&1 & sleep 0.3")
    )
    coder_run(repo, server.base_url, "--max-turns", "2")
    time.sleep(3)
    assert not marker.exists()


def test_kill_9_of_coder_kills_the_running_command(repo: Path, scripted_server: Any) -> None:
    tag = f"coder-attack-{uuid.uuid4().hex[:8]}"
    server = scripted_server(commands(f"sleep 60 # {tag}"))
    argv = [sys.executable, "-m", "coder", "run", "x", "--repo", str(repo)]
    argv += ["--base-url", server.base_url, "--model", "scripted"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _running(tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _running(tag)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while _running(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(tag)


def test_escape_sequences_never_reach_the_terminal_raw(repo: Path, scripted_server: Any) -> None:
    nasty = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x07\x1b[2J\x1b]8;;http://evil\x1b\\link\x9b31m"
    server = scripted_server(
        [
            {"text": f"thinking {nasty}", **run_command("run", command=f"printf '{nasty}'")},
            {"tool_calls": [{"name": "finish", "arguments": {"summary": f"done {nasty}"}}]},
        ]
    )
    proc = coder_run(repo, server.base_url, "--check", "true")
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in proc.stderr
        assert raw not in proc.stdout
    assert "␛]52" in proc.stderr  # shown, not obeyed
    assert finished(proc)["summary"].startswith("done")


def test_a_sandbox_that_cannot_start_refuses_the_run_with_the_fix(
    repo: Path, scripted_server: Any, tmp_path: Path
) -> None:
    broken = tmp_path / "bwrap"
    broken.write_text(
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n"
    )
    broken.chmod(0o755)
    server = scripted_server(commands("touch unconfined"))
    proc = coder_run(repo, server.base_url, env={"CODER_BWRAP": str(broken)})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "the sandbox cannot start" in lines[0]
    assert "Permission denied" in lines[0] and "--sandbox off" in lines[0]
    assert server.received == [] and not (repo / "unconfined").exists()


def test_sandbox_off_runs_unconfined_and_says_so(repo: Path, scripted_server: Any) -> None:
    server = scripted_server(commands("touch made-unconfined", end=FINISH))
    proc = coder_run(repo, server.base_url, "--sandbox", "off", "--check", "true")
    assert "warning: --sandbox off" in proc.stderr
    started = events(proc)[0]
    assert started["sandbox"] == {
        "mode": "off",
        "backend": "none",
        "network": True,
        "program": None,
    }
    checks = [e for e in events(proc) if e["type"] == "check_result"]
    assert checks and all(c["sandbox"]["mode"] == "off" for c in checks)
    assert (repo / "made-unconfined").exists()


def test_auto_edit_allow_list_is_not_bypassed_by_compound_commands(
    repo: Path, scripted_server: Any
) -> None:
    path = config.user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('allowed-commands = ["git status"]\n')
    server = scripted_server(
        commands(
            "git status && touch and",
            "git status; touch semi",
            "git status $(touch subst)",
            "git statusx || touch prefix",
            "git status",
        )
    )
    proc = coder_run(repo, server.base_url, "--approval", "auto-edit", "--max-turns", "6")
    for name in ("and", "semi", "subst", "prefix"):
        assert not (repo / name).exists()
    results = [e["output"] for e in events(proc) if e["type"] == "tool_result"]
    assert sum("declined" in r for r in results) == 4
    assert "On branch main" in results[4]


def test_the_models_timeout_is_capped_by_command_timeout(repo: Path, scripted_server: Any) -> None:
    path = config.user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("command-timeout-s = 2\n")
    server = scripted_server([run_command("run", command="sleep 30", timeout_s=10000), GIVE_UP])
    started = time.monotonic()
    proc = coder_run(repo, server.base_url, "--max-turns", "2")
    assert time.monotonic() - started < 20
    result = next(e for e in events(proc) if e["type"] == "tool_result")
    assert "timed out after 2 s" in result["output"]


def test_huge_output_stops_the_command_and_stays_bounded_in_memory_and_json_lines(
    repo: Path, scripted_server: Any, tmp_path: Path
) -> None:
    """100 MB of output: the command is stopped past the output cap (it never reaches its
    END), and coder's own peak memory (VmHWM, read inside it) stays small."""
    server = scripted_server(commands("head -c 100000000 /dev/zero | tr '\\0' 'y'; echo; echo END"))
    proc, peak_mib = measured_coder_run(repo, server.base_url, tmp_path, "--max-turns", "2")
    assert len(proc.stdout) < 1_000_000
    assert peak_mib < 200, f"coder peaked at {peak_mib:.0f} MiB"
    result = next(e for e in events(proc) if e["type"] == "tool_result")
    assert "\nEND" not in result["output"]
    assert result["output"].rstrip().endswith("MiB of output (its head and tail are kept)]")


def _running(tag: str) -> bool:
    found = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True)
    return any(int(pid) != os.getpid() for pid in found.stdout.split())
