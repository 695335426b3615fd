"""Where a repository keeps secrets, and their values: what the sandbox masks and what the
redactor must recognise in any encoding.

Secret files are found by one bounded walk (the deny-list of `coder.secrets`, regenerable
folders skipped); git config is read as text, credential-bearing entries (`extraheader`,
`credential.*`, passwords in URLs) dropped for commands and their values kept for redaction.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from coder.gitdirs import common_git_dir
from coder.secrets import MIN_SECRET_VALUE, is_secret_path

SKIPPED_DIRS = frozenset(
    {".git", "node_modules", ".venv", "venv", "__pycache__", ".pytest_cache", ".mypy_cache",
     ".ruff_cache", ".tox", ".nox", "build", "dist", "target", ".gradle", ".next", ".nuxt",
     ".cache", "htmlcov", ".eggs", "bower_components", ".parcel-cache", ".turbo", ".terraform"}
)  # fmt: skip
"""Folders tools regenerate (and `.git`): never searched for secret files."""
MAX_WALKED = 200_000
"""Directory entries looked at, at most, when searching for secret files."""
MAX_SECRET_FILE = 1 << 16
"""Bytes of a secret file read for its values (keys and env files are small)."""
_URL_CREDENTIALS = re.compile(r"(\w[\w+.-]*://)([^/\s:@]+):([^/\s@]+)@")
_SECTION = re.compile(r"^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+\"((?:[^\"\\]|\\.)*)\")?\s*\]")
_ENTRY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*?))?\s*$")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*[=:]\s*(.+?)\s*$")


def secret_files_in(root: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """Repository-relative paths of the secret files and folders under `root` (bounded)."""
    found: list[str] = []
    pending = [""]
    seen = 0
    while pending and seen < MAX_WALKED:
        relative = pending.pop()
        try:
            entries = list(os.scandir(root / relative if relative else root))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            path = f"{relative}/{entry.name}" if relative else entry.name
            if is_secret_path(path, extra):
                found.append(path)
            elif entry.is_dir(follow_symlinks=False) and entry.name not in SKIPPED_DIRS:
                pending.append(path)
    return sorted(found)


def sanitized_git_config(text: str) -> str:
    """git config text without credential-bearing entries: `credential` sections,
    `http.*.extraheader`, and the password of any URL (git keeps working without them)."""
    out: list[str] = []
    section = ""
    for line in text.splitlines(keepends=True):
        header = _SECTION.match(line)
        if header:
            section = header.group(1).lower()
            if section != "credential":
                out.append(_URL_CREDENTIALS.sub(r"\1\2@", line))
            continue
        entry = _ENTRY.match(line)
        key = entry.group(1).lower() if entry else ""
        if section == "credential" or (section == "http" and key == "extraheader"):
            continue
        out.append(_URL_CREDENTIALS.sub(r"\1\2@", line))
    return "".join(out)


def git_config_secrets(text: str) -> list[str]:
    """The credential values a git config holds: extra headers (and the token in them),
    URL passwords, credential entries' values."""
    values: list[str] = []
    section = ""
    for line in text.splitlines():
        header = _SECTION.match(line)
        if header:
            section = header.group(1).lower()
            values += [m.group(3) for m in _URL_CREDENTIALS.finditer(line)]
            continue
        values += [m.group(3) for m in _URL_CREDENTIALS.finditer(line)]
        entry = _ENTRY.match(line)
        if not entry or entry.group(2) is None:
            continue
        key, value = entry.group(1).lower(), entry.group(2).strip().strip('"')
        if (section == "http" and key == "extraheader") or section == "credential":
            values.append(value)
            values += value.split()[1:]  # "AUTHORIZATION: basic TOKEN" → the token too
    return [v for v in values if len(v) >= MIN_SECRET_VALUE]


def file_secrets(data: bytes) -> list[str]:
    """The values a secret file holds: assignments' values (env files, .npmrc, .pypirc),
    and every other substantial line (keys, tokens)."""
    values: list[str] = []
    for line in data[:MAX_SECRET_FILE].decode("utf-8", "replace").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";", "-----")):
            continue
        match = _ASSIGNMENT.match(stripped)
        value = match.group(1).strip("\"'") if match else stripped
        if len(value) >= MIN_SECRET_VALUE:
            values.append(value)
    return values


def repository_secrets(root: Path, files: list[str]) -> list[str]:
    """The secret values of a repository: its secret files' and its git config's."""
    values: list[str] = []
    for relative in files:
        path = root / relative
        try:
            if path.is_file() and path.stat().st_size <= MAX_SECRET_FILE:
                values += file_secrets(path.read_bytes())
        except OSError:
            continue
    config = git_config_path(root)
    if config is not None:
        try:
            if config.stat().st_size <= MAX_SECRET_FILE:
                values += git_config_secrets(config.read_text("utf-8", "replace"))
        except OSError:
            pass
    return values


def git_config_path(root: Path) -> Path | None:
    """The repository's own git config file (its common git directory's `config`)."""
    git_dir = common_git_dir(root)
    config = git_dir / "config" if git_dir is not None else None
    return config if config is not None and config.is_file() else None
