"""The repository working tree: guarded file access, atomic writes, sandboxed commands.

Every file the agent touches goes through the path guard (`coder.pathguard`): no escape by
`..`, absolute paths or symlinks (raced or not), nothing inside `.git/` or `.coder/`, no
`.coder.toml`, and no secret file (`coder.secrets`). Commands run in the root through the
sandbox (`coder.sandbox`) in their own process group; their output is kept bounded.
"""

from __future__ import annotations

import codecs
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from coder.errors import SandboxError, WorkspaceError
from coder.gitsafe import git_command
from coder.journal import Change, Journal
from coder.limits import MIB, OUTPUT_STOP, limit_met
from coder.pathguard import PathGuard, split
from coder.results import SandboxState
from coder.sandbox import Launch, Sandbox
from coder.secrets import is_secret_path

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]")
KEEP_HEAD = 64_000
KEEP_TAIL = 192_000
"""Characters of a command's output kept in memory: its head and its tail."""
MAX_READ_BYTES = 8 << 20
"""Largest file coder reads whole for a tool, a mention or a check (a larger one is refused
before it is read: a sparse file of gigabytes costs nothing)."""
LIVE_LIMIT = 64_000
"""Characters of live output forwarded per command; the rest is only in the head and tail."""


@dataclass(frozen=True)
class CommandResult:
    """Outcome of a shell command."""

    command: str
    exit_code: int
    output: str
    """Combined stdout and stderr, escape sequences stripped; head and tail when long."""
    seconds: float
    timed_out: bool = False
    interrupted: bool = False
    sandbox: SandboxState | None = None
    """What confined the command (None for coder's own git calls)."""
    limit: str | None = None
    """The resource limit the command met, in one line (None: none)."""


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (colour, cursor movement, titles)."""
    return _ANSI.sub("", text)


def head_tail(text: str, max_chars: int, head_share: float = 0.3) -> str:
    """Keep the head and tail of `text` within about `max_chars`, marking the cut."""
    if len(text) <= max_chars:
        return text
    head_len = int(max_chars * head_share)
    tail_len = max_chars - head_len
    omitted = text[head_len : len(text) - tail_len]
    lines = omitted.count("\n")
    return (
        text[:head_len]
        + f"\n[… {len(omitted)} characters, {lines} lines omitted …]\n"
        + text[len(text) - tail_len :]
    )


class ChangeObserver(Protocol):
    """Learns about every change the workspace makes, so it can be undone (`coder.undo`)."""

    def before_command(self) -> None:
        """A command is about to run in the tree."""
        ...

    def after_command(self) -> None:
        """The command ended (normally, by timeout or by interrupt)."""
        ...

    def before_write(self, changes: list[Change]) -> None:
        """These files are about to be written or deleted (their old content is on disk)."""
        ...

    def after_write(self, changes: list[Change]) -> None:
        """These files were written or deleted."""
        ...


class BoundedOutput:
    """A command's output kept as a head and a tail, however much it prints."""

    def __init__(self, head: int = KEEP_HEAD, tail: int = KEEP_TAIL) -> None:
        self.head_limit, self.tail_limit = head, tail
        self.head = ""
        self.tail: list[str] = []
        self.tail_size = 0
        self.total = 0
        self.dropped_lines = 0

    def add(self, text: str) -> None:
        """Append a chunk."""
        self.total += len(text)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += text[:room]
            text = text[room:]
        if not text:
            return
        self.tail.append(text)
        self.tail_size += len(text)
        while self.tail_size - len(self.tail[0]) >= self.tail_limit:
            dropped = self.tail.pop(0)
            self.tail_size -= len(dropped)
            self.dropped_lines += dropped.count("\n")

    def text(self) -> str:
        """Head, a marker of what was dropped, and tail."""
        tail = "".join(self.tail)
        kept = len(self.head) + len(tail)
        if kept >= self.total:
            return self.head + tail
        omitted = self.total - kept
        marker = f"\n[… {omitted} characters, {self.dropped_lines}+ lines omitted …]\n"
        return self.head + marker + tail


class Workspace:
    """A repository root and the only way coder reads, writes or runs anything in it."""

    def __init__(
        self,
        root: Path,
        sandbox: Sandbox | None = None,
        secret_files: tuple[str, ...] = (),
        deny_secrets: bool = True,
        allow_protected: bool = False,
    ) -> None:
        root = Path(root)
        if not root.is_dir():
            raise WorkspaceError(f"not a directory: {root}")
        self.root = root.resolve()
        self.guard = PathGuard(self.root, allow_protected)
        self.secret_files = secret_files
        """Extra deny-list patterns (`secret-files`) beside the defaults."""
        self.deny_secrets = deny_secrets
        """Refuse secret files (False only for the user's own `coder apply`)."""
        self.journal = Journal(self.root, self.guard)
        self.journal.recover()  # a write that a crash interrupted is rolled back first
        self._sandbox = sandbox
        self.commands_run = 0
        """How many commands `run` started (events mark results that ran one)."""
        self.observer: ChangeObserver | None = None
        """Told of every write and command (the session's undo ledger)."""
        self.generation = 0
        """Bumped by every write (and, by the ledger, by every command that changed files)."""

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox commands run in (workspace-write unless the session chose)."""
        if self._sandbox is None:
            self._sandbox = Sandbox(self.root, secret_files=self.secret_files)
        return self._sandbox

    # ---- paths -------------------------------------------------------------------------

    def resolve(self, path: str, *, must_exist: bool = False) -> Path:
        """The absolute path `path` names inside the root (symlinks resolved), refusing escapes."""
        real, kind, _ = self.guard.inspect(path)
        if must_exist and kind is None:
            raise WorkspaceError(f"no such file: {path}")
        return self.root / real if real else self.root

    def relative(self, path: Path) -> str:
        """The repository-relative POSIX form of an absolute path inside the root."""
        return path.resolve().relative_to(self.root).as_posix()

    def inspect(self, path: str) -> tuple[str | None, int]:
        """(kind, permission bits) of `path` itself: file, dir, symlink, other or None."""
        _, kind, mode = self.guard.inspect(path, follow=False)
        return kind, mode

    def refuse_secret(self, path: str) -> None:
        """Raise if `path` (as given or as resolved) is on the secret deny-list."""
        if not self.deny_secrets:
            return
        names = [path]
        try:
            names.append(self.guard.inspect(path)[0])
        except WorkspaceError:
            pass
        for name in names:
            if is_secret_path(name, self.secret_files):
                raise WorkspaceError(
                    f"refused: {name} is a secret file (coder keeps secrets from the model; "
                    "see `secret-files` in the README)"
                )

    def is_secret(self, path: str) -> bool:
        """Whether a listed (repository-relative) path is on the secret deny-list."""
        return is_secret_path(path, self.secret_files)

    # ---- files -------------------------------------------------------------------------

    def read_bytes(self, path: str, limit: int | None = MAX_READ_BYTES) -> bytes:
        """Read a file inside the workspace; WorkspaceError when it is over `limit` bytes
        (its size is checked before anything is read)."""
        self.refuse_secret(path)
        return self.guard.read(path, limit)

    def read_text(self, path: str) -> str:
        """Read a text file inside the workspace (UTF-8, undecodable bytes replaced)."""
        return self.read_bytes(path).decode("utf-8", errors="replace")

    def write_bytes(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Write atomically (journaled; temp file, fsync, rename); keep the mode bits."""
        self.apply_changes([Change(path, data, mode)])

    def write_text(self, path: str, text: str) -> None:
        """Write a UTF-8 text file atomically."""
        self.write_bytes(path, text.encode("utf-8"))

    def delete(self, path: str) -> None:
        """Delete a file inside the workspace."""
        self.apply_changes([Change(path, None)])

    def apply_changes(self, changes: list[Change]) -> None:
        """Write and delete several files as one: all land, or (even after SIGKILL) none.

        A write through a symlink inside the repository goes to its target.
        """
        resolved = []
        for change in changes:
            self.refuse_secret(change.path)
            if change.data is not None:
                change = Change(self.guard.inspect(change.path)[0], change.data, change.mode)
            resolved.append(change)
        if self.observer is not None:
            self.observer.before_write(resolved)
        self.journal.apply(resolved)
        self.generation += 1
        if self.observer is not None:
            self.observer.after_write(resolved)

    def exists(self, path: str) -> bool:
        """Whether `path` names something inside the workspace (False when refused)."""
        try:
            return self.guard.inspect(path)[1] is not None
        except WorkspaceError:
            return False

    def is_git(self) -> bool:
        """Whether the root is inside a git work tree."""
        return (self.root / ".git").exists() or self.git("rev-parse", "--git-dir").exit_code == 0

    def git(self, *args: str) -> CommandResult:
        """Run coder's own git command in the root (no hooks, filters or external programs)."""
        start = time.monotonic()
        argv, env = git_command(self.root, list(args))
        proc = subprocess.run(
            argv,
            cwd=self.root,
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            env=env,
        )
        return CommandResult(
            " ".join(args), proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start
        )

    def git_bytes(self, *args: str) -> tuple[int, bytes]:
        """Like `git` but returns (exit code, raw stdout), for `-z` listings."""
        argv, env = git_command(self.root, list(args))
        proc = subprocess.run(
            argv, cwd=self.root, capture_output=True, stdin=subprocess.DEVNULL, env=env
        )
        return proc.returncode, proc.stdout

    def list_files(self) -> list[str]:
        """Tracked files plus untracked files that are not ignored, sorted, POSIX paths."""
        code, out = self.git_bytes("ls-files", "-z", "--cached", "--others", "--exclude-standard")
        if code == 0:
            names = {n for n in out.decode("utf-8", "replace").split("\0") if n}
            return sorted(n for n in names if _listed(self.root, n))
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if d not in {".git", "node_modules", ".venv"}]
            for name in filenames:
                found.append((Path(dirpath) / name).relative_to(self.root).as_posix())
        return sorted(found)

    # ---- commands ----------------------------------------------------------------------

    def run(
        self,
        command: str,
        timeout_s: float = 120.0,
        on_output: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        writable: tuple[Path, ...] = (),
        overlays: dict[str, Path] | None = None,
    ) -> CommandResult:
        """Run a shell command in the root, sandboxed; kill it all on timeout or cancel.

        `writable` and `overlays` as `Sandbox.launch` takes them. Raises SandboxError when
        the sandbox cannot start the command.
        """
        sandbox = self.sandbox
        sandbox.probe()
        if self.observer is not None:
            self.observer.before_command()
        try:
            launch = sandbox.launch(command, writable, overlays)
            return self._run(sandbox, launch, command, timeout_s, on_output, cancel)
        finally:
            if self.observer is not None:
                self.observer.after_command()

    def _run(
        self,
        sandbox: Sandbox,
        launch: Launch,
        command: str,
        timeout_s: float,
        on_output: Callable[[str], None] | None,
        cancel: threading.Event | None,
    ) -> CommandResult:
        start = time.monotonic()
        self.commands_run += 1
        limits = sandbox.limits
        cgroup = sandbox.process_cgroup()
        refused_before = cgroup.refusals() if cgroup is not None else 0

        def confine() -> None:  # in the child, before bubblewrap starts
            if cgroup is not None:
                cgroup.enter()
            limits.apply_rlimits()

        try:
            proc = subprocess.Popen(
                launch.argv,
                cwd=launch.cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=launch.env,
                pass_fds=launch.pass_fds,
                preexec_fn=confine,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            sandbox.close(launch)
            if launch.status_fd is not None:
                os.close(launch.status_fd)
            raise SandboxError(f"cannot start the command: {exc}") from None
        sandbox.close(launch)
        output = BoundedOutput()
        live = _LiveOutput(on_output)

        def pump() -> None:
            assert proc.stdout is not None
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            for raw in iter(lambda: proc.stdout.read1(65536), b""):  # type: ignore[union-attr,attr-defined]
                text = strip_ansi(decoder.decode(raw))
                output.add(text)
                live.send(text)
            output.add(decoder.decode(b"", final=True))

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = interrupted = flooded = False
        deadline = start + timeout_s
        while proc.poll() is None:
            if cancel is not None and cancel.is_set():
                interrupted = True
                break
            if time.monotonic() >= deadline:
                timed_out = True
                break
            if output.total > OUTPUT_STOP:
                flooded = True
                break
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        # Kill leftovers too: a background child holding the pipe would keep the reader open.
        _kill_group(proc)
        proc.wait()
        reader.join(timeout=2)
        killed = timed_out or interrupted or flooded
        code = proc.returncode
        processes_hit = cgroup is not None and cgroup.refusals() > refused_before
        if launch.status_fd is not None:
            reported = sandbox.exit_code(launch)
            if reported is None and not killed:
                raise SandboxError(
                    "the sandbox could not start the command: "
                    + (output.text().strip().splitlines() or ["no reason given"])[-1]
                )
            code = reported if reported is not None else code
        if killed:
            code = -signal.SIGKILL
        text = output.text()
        if flooded:
            met: str | None = (
                f"the command was stopped after {OUTPUT_STOP // MIB} MiB of output "
                "(its head and tail are kept)"
            )
        else:
            met = None if interrupted else limit_met(limits, code, text, processes_hit)
        if met is not None:
            text += f"\n[coder: {met}]\n"
        return CommandResult(
            command,
            code,
            text,
            time.monotonic() - start,
            timed_out,
            interrupted,
            sandbox.state,
            met,
        )


class _LiveOutput:
    """Forwards live output up to LIVE_LIMIT characters, then says once that it stopped."""

    def __init__(self, sink: Callable[[str], None] | None) -> None:
        self.sink, self.sent, self.stopped = sink, 0, False

    def send(self, text: str) -> None:
        if self.sink is None or self.stopped or not text:
            return
        room = LIVE_LIMIT - self.sent
        if len(text) > room:
            self.sink(text[:room])
            self.sink("\n[… live output stops here; the result keeps its head and tail …]\n")
            self.stopped = True
            return
        self.sent += len(text)
        self.sink(text)


def _listed(root: Path, name: str) -> bool:
    """A listed name worth showing: a file, or a symlink to a file (never a directory)."""
    try:
        split(name)
    except WorkspaceError:
        return False
    return (root / name).is_file() or (root / name).is_symlink()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
