"""What the sandbox costs per command: coder's bubblewrap sandbox beside running unconfined.

Runs the same short commands many times each way, interleaved so the machine's noise hits
every variant alike, and prints the median wall time per command:

- plain: `subprocess.run(["/bin/sh", "-c", CMD])`, the floor;
- coder off: `Workspace.run` with `--sandbox off` (coder's own pipe, reader thread, group kill);
- coder workspace-write: `Workspace.run` in the default sandbox (bubblewrap: mount, PID, net,
  IPC, UTS and user namespaces, private /tmp and /run, status pipe);
- coder session: the workspace-write run as a session makes it, with the undo ledger
  snapshotting the tree before and after (its cost grows with the repository's size);
- landlock: the plain run with a Landlock ruleset applied before exec (writes only in the
  repository and /tmp, TCP bind/connect denied where the kernel's ABI has it) — the
  alternative the sandbox was measured against: it starts no namespaces, but it cannot give
  a private /tmp, a PID namespace (nothing outliving the command) or block UDP and unix
  sockets, which is why coder uses bubblewrap.

    python bench/sandbox.py [--runs 40] [--files 500] [--repo DIR]

The repository is a temporary one with `--files` small files, or a copy of `--repo`.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coder.sandbox import Sandbox  # noqa: E402
from coder.undo import Ledger  # noqa: E402
from coder.workspace import Workspace  # noqa: E402

COMMANDS = ["true", "echo hello", f"{sys.executable} -c pass"]
_SYS_CREATE, _SYS_ADD, _SYS_RESTRICT = 444, 445, 446  # x86-64 syscall numbers
_FS_ALL_V3 = (1 << 15) - 1
_FS_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read file, read dir


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none)."""
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def landlock_preexec(writable: list[str]) -> Callable[[], None]:
    """A preexec_fn confining the child: read anywhere, write only under `writable`."""
    abi = landlock_abi()

    def confine() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        net = 0b11 if abi >= 4 else 0

        class Ruleset(ctypes.Structure):
            _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64)]

        class PathBeneath(ctypes.Structure):
            _pack_ = 1
            _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

        attr = Ruleset(_FS_ALL_V3, net)
        size = ctypes.sizeof(attr) if net else 8
        ruleset = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), 0)
        if ruleset < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
        for path, access in [("/", _FS_READ), *[(p, _FS_ALL_V3) for p in writable]]:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            rule = PathBeneath(access, fd)
            libc.syscall(_SYS_ADD, ruleset, 1, ctypes.byref(rule), 0)
            os.close(fd)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
        if libc.syscall(_SYS_RESTRICT, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")

    return confine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="runs per command and variant")
    parser.add_argument("--files", type=int, default=500, help="files in the temporary repo")
    parser.add_argument("--repo", type=Path, help="measure in a copy of this repository")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coder-sandbox-bench-") as folder:
        repo = Path(folder) / "repo"
        if args.repo:
            shutil.copytree(args.repo, repo, symlinks=True)
        else:
            for n in range(args.files):
                path = repo / f"pkg{n % 20}" / f"mod{n}.py"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"def f{n}():\n    return {n}\n")
        if not (repo / ".git").exists():
            subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(
            ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"],
            cwd=repo,
            check=True,
        )
        files = len(
            subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True).stdout.splitlines()
        )
        off = Workspace(repo, Sandbox(repo, mode="off"))
        boxed = Workspace(repo, Sandbox(repo))
        boxed.sandbox.probe()
        session = Workspace(repo, Sandbox(repo))
        session.observer = Ledger.start(session)
        abi = landlock_abi()
        confine = landlock_preexec([str(repo), "/tmp"]) if abi else None

        def plain(command: str) -> None:
            subprocess.run(["/bin/sh", "-c", command], cwd=repo, capture_output=True)

        def landlock(command: str) -> None:
            subprocess.run(
                ["/bin/sh", "-c", command], cwd=repo, capture_output=True, preexec_fn=confine
            )

        variants: dict[str, Callable[[str], object]] = {
            "plain": plain,
            "coder off": off.run,
            "coder workspace-write": boxed.run,
            "coder session": session.run,
        }
        if confine is not None:
            variants[f"landlock (ABI {abi})"] = landlock
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):
            for command in COMMANDS:
                for name, run in variants.items():
                    start = time.perf_counter()
                    run(command)
                    times.setdefault((name, command), []).append(time.perf_counter() - start)
    print(f"median wall time per command, {args.runs} interleaved runs each (ms); {files} files\n")
    names = list(variants)
    width = max(len(c) for c in COMMANDS) + 2
    print("command".ljust(width) + "".join(n.rjust(24) for n in names))
    for command in COMMANDS:
        cells = [statistics.median(times[(n, command)]) * 1000 for n in names]
        print(command.ljust(width) + "".join(f"{c:24.1f}" for c in cells))
    print()
    for command in COMMANDS:
        floor = statistics.median(times[("coder off", command)])
        boxed_s = statistics.median(times[("coder workspace-write", command)])
        ledger_s = statistics.median(times[("coder session", command)])
        print(
            f"{command}: sandbox adds {(boxed_s - floor) * 1000:.1f} ms "
            f"({boxed_s / floor:.2f}x coder off); "
            f"the undo ledger {(ledger_s - boxed_s) * 1000:.1f} ms more"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
