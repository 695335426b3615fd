"""Every command's process tree is bounded: processes, memory, file size, CPU time, /tmp;
a command that meets a limit ends with one line naming it. Real bwrap, real processes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from coder import config
from coder.limits import Limits
from coder.sandbox import Sandbox
from coder.workspace import Workspace
from tests.runs import coder_run, events, measured_coder_run, run_command


def boxed(repo: Path, limits: Limits | None = None) -> Workspace:
    return Workspace(repo, Sandbox(repo, limits=limits))


def test_fifteen_hundred_background_processes_stop_at_the_process_limit(git_repo: Path) -> None:
    result = boxed(git_repo).run(
        "for i in $(seq 1500); do sleep 60 & done; echo all-started; wait", timeout_s=60
    )
    assert "all-started" not in result.output
    assert result.limit is not None and "process limit (1024 at once" in result.limit
    assert result.output.rstrip().endswith("config key limit-processes)]")
    assert result.seconds < 30  # the tree ended with its shell, it did not wait on sleeps


def test_a_two_gib_allocation_stops_at_the_memory_limit(git_repo: Path) -> None:
    result = boxed(git_repo).run(f'{sys.executable} -c "x = bytearray(2 << 30); print(len(x))"')
    assert "2147483648" not in result.output
    assert result.limit is not None and "memory limit (2048 MiB per process" in result.limit


def test_a_two_gib_write_to_tmp_stops_at_a_limit(git_repo: Path) -> None:
    result = boxed(git_repo).run(
        "head -c 2147483648 /dev/zero > /tmp/big; ls -l /tmp/big; exit 1", timeout_s=60
    )
    assert result.limit is not None
    assert "file size limit (1024 MiB" in result.limit or "/tmp holds 1024 MiB" in result.limit
    assert "2147483648" not in result.output.split("\n", 1)[1]  # the file never got there


def test_the_private_tmp_has_a_size(git_repo: Path) -> None:
    limits = Limits(tmp_mb=16)
    result = boxed(git_repo, limits).run("df -m /tmp; head -c 40000000 /dev/zero > /tmp/big")
    assert result.limit is not None and "/tmp holds 16 MiB" in result.limit


def test_cpu_time_is_limited_per_process(git_repo: Path) -> None:
    result = boxed(git_repo, Limits(cpu_s=1)).run(
        f'{sys.executable} -c "while True: pass"', timeout_s=60
    )
    assert result.limit is not None and "CPU time limit (1 s per process" in result.limit
    assert result.seconds < 20


def test_a_command_under_the_limits_is_not_flagged(git_repo: Path) -> None:
    result = boxed(git_repo).run("for i in $(seq 20); do sleep 0.1 & done; wait; echo fine")
    assert result.exit_code == 0 and result.limit is None and "fine" in result.output


def test_config_keys_set_the_limits_and_the_model_reads_which_it_met(
    repo: Path, scripted_server: Any
) -> None:
    path = config.user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("limit-processes = 40\n")
    server = scripted_server(
        [
            run_command("run", command="for i in $(seq 100); do sleep 30 & done; wait"),
            {"text": "stop", "tool_calls": [], "repeat": True},
        ]
    )
    proc = coder_run(repo, server.base_url, "--max-turns", "2")
    result = next(e for e in events(proc) if e["type"] == "tool_result")
    assert "[coder: the command met the process limit (40 at once" in result["output"]
    sent = "\n".join(str(body) for body in server.received)
    assert "met the process limit (40 at once" in sent


def test_huge_files_a_command_makes_cost_coder_no_memory(
    repo: Path, scripted_server: Any, tmp_path: Path
) -> None:
    """A 2 GB sparse file, a 10 MB and a 3 MB single-line file: read_file, search, the
    ledger and the report never read them whole; coder's peak memory (VmHWM, read inside
    it) stays under 200 MB, and the JSON Lines stay small."""
    path = config.user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("limit-file-size-mb = 4096\n")  # a 2 GB file may be made here
    make = (
        "truncate -s 2G big.bin; head -c 10000000 /dev/zero | tr '\\0' b > huge.txt; "
        "head -c 3000000 /dev/zero | tr '\\0' a > line.txt; echo made"
    )
    server = scripted_server(
        [
            run_command("run", command=make),
            run_command("read_file", path="big.bin"),
            run_command("read_file", path="huge.txt"),
            run_command("read_file", path="line.txt"),
            run_command("search", query="needle"),
            {"text": "stop", "tool_calls": [], "repeat": True},
        ]
    )
    proc, peak_mib = measured_coder_run(repo, server.base_url, tmp_path, "--max-turns", "6")
    assert peak_mib < 200, f"coder peaked at {peak_mib:.0f} MiB"
    assert len(proc.stdout) < 300_000
    results = [e["output"] for e in events(proc) if e["type"] == "tool_result"]
    assert "made" in results[0]
    assert "larger than 8,388,608 bytes" in results[1]
    assert "larger than 8,388,608 bytes" in results[2]
    assert "more characters on this line" in results[3] and len(results[3]) < 5000
    assert "no matches" in results[4]
    report = next(e for e in events(proc) if e["type"] == "report")["report"]
    assert "Binary or large file big.bin: absent → 2,147,483,648 bytes, not shown" in report["diff"]
    assert len(report["diff"]) < 10_000


def test_a_bubblewrap_without_size_still_confines(git_repo: Path, tmp_path: Path) -> None:
    """An older bubblewrap (before --size) refuses the option: the probe finds that out once
    and the sandbox runs without tmpfs sizes rather than refusing every command."""
    real = Sandbox(git_repo).bwrap
    old = tmp_path / "old-bwrap"
    old.write_text(
        '#!/bin/sh\nfor a in "$@"; do [ "$a" = --size ] && '
        "{ echo 'bwrap: Unknown option --size' >&2; exit 1; }; done\n"
        f'exec {real} "$@"\n'
    )
    old.chmod(0o755)
    ws = Workspace(git_repo, Sandbox(git_repo, bwrap=str(old)))
    result = ws.run("echo inside > made.txt; cat /etc/hostname > /dev/null; echo ok")
    assert "ok" in result.output and (git_repo / "made.txt").exists()
    assert ws.sandbox.sized_tmpfs is False
    outside = ws.run("touch /etc/coder-test-file")
    assert "Read-only file system" in outside.output
