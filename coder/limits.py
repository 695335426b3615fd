"""Resource limits of every sandboxed command: processes, memory, file size, CPU time, /tmp.

rlimits, set in the child before bubblewrap starts and inherited by everything it runs,
bound memory (RLIMIT_DATA per process: private writable memory, so runtimes that only
reserve address space, as V8, Go and the JVM do, still start), file size (RLIMIT_FSIZE),
CPU time (RLIMIT_CPU) and, for users other than root, processes (RLIMIT_NPROC). Root
ignores RLIMIT_NPROC, so the process count of the whole tree is bounded by a pids cgroup of
its own wherever coder may make one (cgroup v2 delegated to the user, or v1 as root). The
sandbox's /tmp and /run are tmpfs of a fixed size (`Sandbox`). A command that meets a limit
ends with one line naming it.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
OUTPUT_STOP = 16 * MIB
"""Characters of output after which a command is stopped (not only its capture)."""


@dataclass(frozen=True)
class Limits:
    """What one command's process tree may use (config keys `limit-…`)."""

    processes: int = 1024
    """Processes and threads at once, the whole tree (`limit-processes`)."""
    memory_mb: int = 2048
    """Private writable memory of each process, MiB (`limit-memory-mb`)."""
    file_size_mb: int = 1024
    """Largest file a process may write, MiB (`limit-file-size-mb`)."""
    cpu_s: int = 600
    """CPU seconds of each process (`limit-cpu-s`)."""
    tmp_mb: int = 1024
    """Size of the sandbox's private /tmp and of its /run, MiB each (`limit-tmp-mb`)."""

    def apply_rlimits(self) -> None:
        """Set the rlimits in this process (the command's child, before it execs)."""
        for kind, soft, hard in (
            (resource.RLIMIT_DATA, self.memory_mb * MIB, self.memory_mb * MIB),
            (resource.RLIMIT_FSIZE, self.file_size_mb * MIB, self.file_size_mb * MIB),
            (resource.RLIMIT_CPU, self.cpu_s, self.cpu_s + 5),  # SIGXCPU first, then KILL
            (resource.RLIMIT_NPROC, self.processes, self.processes),
            (resource.RLIMIT_CORE, 0, 0),
        ):
            _lower(kind, soft, hard)


def _lower(kind: int, soft: int, hard: int) -> None:
    """Lower a limit, never raise it past what coder itself was given."""
    current_soft, current_hard = resource.getrlimit(kind)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    soft = min(soft, hard)
    if current_soft != resource.RLIM_INFINITY:
        soft = min(soft, current_soft)
    resource.setrlimit(kind, (soft, hard))


class ProcessCgroup:
    """A pids cgroup for a sandbox's commands (made once: a cgroup per command cost about
    20 ms); `enter` runs in each command's child before exec."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self._procs = os.fspath(path / "cgroup.procs")

    @classmethod
    def create(cls, limit: int) -> ProcessCgroup | None:
        """A fresh cgroup holding at most `limit` processes; None where coder cannot make one.
        It is removed when the object is collected or coder exits."""
        parent = _pids_parent()
        if parent is None:
            return None
        path = parent / f"coder-{os.getpid()}-{time.monotonic_ns()}"
        try:
            path.mkdir()
        except OSError:
            return None
        try:
            (path / "pids.max").write_text(str(limit))
        except OSError:
            _remove(path)
            return None
        made = cls(path, limit)
        weakref.finalize(made, _remove, path)
        return made

    def enter(self) -> None:
        """Move the calling process into the cgroup (between fork and exec)."""
        fd = os.open(self._procs, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)

    def refusals(self) -> int:
        """How many forks the limit has refused so far (a command met it when this grew)."""
        try:
            events = (self.path / "pids.events").read_text()
        except OSError:
            return 0
        match = re.search(r"^max (\d+)", events, re.M)
        return int(match.group(1)) if match else 0


def _remove(path: Path) -> None:
    for _ in range(20):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


_PARENT: list[Path | None] = []


def _pids_parent() -> Path | None:
    """Where coder may make pids cgroups: found once."""
    if not _PARENT:
        _PARENT.append(_find_pids_parent())
    return _PARENT[0]


def _find_pids_parent() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    v1 = Path("/sys/fs/cgroup/pids")
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(",") and v1.is_dir():
            candidate = v1 / path.lstrip("/")
            if os.access(candidate, os.W_OK):
                return candidate
    unified = Path("/sys/fs/cgroup")
    for line in lines:
        if line.startswith("0::"):
            candidate = unified / line[3:].lstrip("/")
            try:
                enabled = (candidate / "cgroup.subtree_control").read_text().split()
            except OSError:
                return None
            if "pids" in enabled and os.access(candidate, os.W_OK):
                return candidate
    return None


_MEMORY = re.compile(
    r"MemoryError|Cannot allocate memory|std::bad_alloc|out of memory|"
    r"JavaScript heap out of memory|fatal error: runtime: cannot allocate",
    re.I,
)
_FORK = re.compile(
    r"Cannot fork|fork: Resource temporarily unavailable|fork failed|"
    r"BlockingIOError: \[Errno 11\]|can't start new thread",
    re.I,
)
_NO_SPACE = re.compile(r"No space left on device")


def limit_met(limits: Limits, exit_code: int, output: str, processes_hit: bool) -> str | None:
    """The one line naming the limit a command met, judged from how it ended; None if none."""
    signalled = exit_code - 128 if exit_code > 128 else -exit_code if exit_code < 0 else 0
    tail = output[-4000:]
    if processes_hit or (exit_code != 0 and _FORK.search(tail)):
        return (
            f"the command met the process limit ({limits.processes} at once; "
            "config key limit-processes)"
        )
    if signalled == signal.SIGXFSZ or "File size limit exceeded" in tail:
        return (
            f"the command met the file size limit ({limits.file_size_mb} MiB per file; "
            "config key limit-file-size-mb)"
        )
    if signalled == signal.SIGXCPU or "CPU time limit exceeded" in tail:
        return (
            f"the command met the CPU time limit ({limits.cpu_s} s per process; "
            "config key limit-cpu-s)"
        )
    if exit_code != 0 and _MEMORY.search(tail):
        return (
            f"the command likely met the memory limit ({limits.memory_mb} MiB per process; "
            "config key limit-memory-mb)"
        )
    if exit_code != 0 and _NO_SPACE.search(tail):
        return (
            f"the command filled a disk: the sandbox's /tmp holds {limits.tmp_mb} MiB "
            "(config key limit-tmp-mb)"
        )
    return None
