"""The repository working tree: safe path resolution, atomic writes, subprocesses.

Every file the agent touches goes through `Workspace.resolve`, which refuses paths that
leave the root (`..`, absolute paths, symlinks pointing out) or enter `.git/`. Commands run
in the root in their own process group, so a timeout or interrupt kills their children too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coder.errors import WorkspaceError

SAFE_GIT = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor="]
"""Prefix for coder's own git calls: never run the user's hooks or fsmonitor."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]")


@dataclass(frozen=True)
class CommandResult:
    """Outcome of a shell command."""

    command: str
    exit_code: int
    output: str
    """Combined stdout and stderr, escape sequences stripped, untruncated."""
    seconds: float
    timed_out: bool = False
    interrupted: bool = False


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


class Workspace:
    """A repository root and the only way coder reads, writes or runs anything in it."""

    def __init__(self, root: Path) -> None:
        root = Path(root)
        if not root.is_dir():
            raise WorkspaceError(f"not a directory: {root}")
        self.root = root.resolve()

    # ---- paths -------------------------------------------------------------------------

    def resolve(self, path: str, *, must_exist: bool = False) -> Path:
        """Turn a repository-relative path into an absolute one, refusing escapes."""
        if not path or not path.strip():
            raise WorkspaceError("empty path")
        if "\x00" in path:
            raise WorkspaceError(f"invalid path: {path!r}")
        candidate = Path(path)
        if candidate.is_absolute():
            raise WorkspaceError(f"absolute paths are refused: {path}")
        if ".." in candidate.parts:
            raise WorkspaceError(f"paths with '..' are refused: {path}")
        full = self.root / candidate
        real = full.resolve()
        if real != self.root and self.root not in real.parents:
            raise WorkspaceError(f"path leads outside the repository: {path}")
        relative = real.relative_to(self.root)
        if relative.parts and relative.parts[0] == ".git" or ".git" in candidate.parts[:1]:
            raise WorkspaceError(f"paths inside .git/ are refused: {path}")
        if must_exist and not full.exists():
            raise WorkspaceError(f"no such file: {path}")
        return full

    def relative(self, path: Path) -> str:
        """The repository-relative POSIX form of an absolute path inside the root."""
        return path.resolve().relative_to(self.root).as_posix()

    # ---- files -------------------------------------------------------------------------

    def read_bytes(self, path: str) -> bytes:
        """Read a file inside the workspace."""
        full = self.resolve(path, must_exist=True)
        if full.is_dir():
            raise WorkspaceError(f"is a directory: {path}")
        return full.read_bytes()

    def read_text(self, path: str) -> str:
        """Read a text file inside the workspace (UTF-8, undecodable bytes replaced)."""
        return self.read_bytes(path).decode("utf-8", errors="replace")

    def write_bytes(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Write atomically: temp file in the same directory, fsync, rename; keep mode bits."""
        full = self.resolve(path)
        full.parent.mkdir(parents=True, exist_ok=True)
        if mode is None and full.exists():
            mode = full.stat().st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=f".{full.name}.", suffix=".coder-tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, full)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def write_text(self, path: str, text: str) -> None:
        """Write a UTF-8 text file atomically."""
        self.write_bytes(path, text.encode("utf-8"))

    def delete(self, path: str) -> None:
        """Delete a file inside the workspace."""
        self.resolve(path, must_exist=True).unlink()

    def is_git(self) -> bool:
        """Whether the root is inside a git work tree."""
        return (self.root / ".git").exists() or self.git("rev-parse", "--git-dir").exit_code == 0

    def git(self, *args: str) -> CommandResult:
        """Run coder's own git command in the root (no hooks, no fsmonitor)."""
        start = time.monotonic()
        proc = subprocess.run(
            [*SAFE_GIT, *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
        )
        return CommandResult(
            " ".join(args), proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start
        )

    def list_files(self) -> list[str]:
        """Tracked files plus untracked files that are not ignored, sorted, POSIX paths."""
        proc = subprocess.run(
            [*SAFE_GIT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=self.root,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode == 0:
            names = {n for n in proc.stdout.decode("utf-8", "replace").split("\0") if n}
            return sorted(n for n in names if (self.root / n).is_file())
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
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run a shell command in the root; kill its whole process group on timeout/cancel."""
        start = time.monotonic()
        proc = subprocess.Popen(
            command,
            shell=True,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        chunks: list[str] = []

        def pump() -> None:
            assert proc.stdout is not None
            for raw in iter(lambda: proc.stdout.read1(4096), b""):  # type: ignore[union-attr,attr-defined]
                text = strip_ansi(raw.decode("utf-8", errors="replace"))
                chunks.append(text)
                if on_output is not None:
                    on_output(text)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = interrupted = False
        deadline = start + timeout_s
        while proc.poll() is None:
            if cancel is not None and cancel.is_set():
                interrupted = True
                break
            if time.monotonic() >= deadline:
                timed_out = True
                break
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        # Kill leftovers too: a background child holding the pipe would keep the reader open.
        _kill_group(proc)
        proc.wait()
        reader.join(timeout=2)
        output = "".join(chunks)
        code = proc.returncode if not (timed_out or interrupted) else -signal.SIGKILL
        return CommandResult(
            command, code, output, time.monotonic() - start, timed_out, interrupted
        )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
