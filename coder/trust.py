"""Which repositories the user trusts, and the commands they allowed there for good.

Kept in `$XDG_CONFIG_HOME/coder/repositories.json`, outside every repository, so nothing a
repository contains can trust itself. Trust is given to a repository's `.coder.toml` as it
is (its sha256): when the file changes — by the user or by a command the model ran — the
repository is untrusted again until the user says otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from coder.errors import ConfigError

CONFIG_NAME = ".coder.toml"


def records_path() -> Path:
    """`$XDG_CONFIG_HOME/coder/repositories.json` (default under `~/.config`)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "coder" / "repositories.json"


def digest_of(data: bytes | None) -> str | None:
    """sha256 of a `.coder.toml`'s bytes (None: the repository has none).

    The caller reads the file once (`coder.config.read_project_config`) and digests and
    parses those same bytes, so a file swapped between the two can never be trusted.
    """
    return None if data is None else hashlib.sha256(data).hexdigest()


def _load() -> dict[str, Any]:
    path = records_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    repos = data.get("repositories") if isinstance(data, dict) else None
    return repos if isinstance(repos, dict) else {}


def _save(repos: dict[str, Any]) -> None:
    path = records_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": 1, "repositories": repos}, indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".repositories.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _entry(repo: Path) -> dict[str, Any]:
    found = _load().get(str(Path(repo).resolve()))
    return found if isinstance(found, dict) else {}


def _update(repo: Path, **values: Any) -> None:
    repos = _load()
    key = str(Path(repo).resolve())
    found = repos.get(key)
    entry: dict[str, Any] = found if isinstance(found, dict) else {}
    repos[key] = {**entry, **values}
    _save(repos)


def is_trusted(repo: Path, digest: str | None) -> bool:
    """Whether the user trusted the `.coder.toml` whose sha256 is `digest`, in this repository."""
    return digest is not None and _entry(repo).get("trusted_config_sha256") == digest


def trust(repo: Path, digest: str | None) -> None:
    """Trust the `.coder.toml` whose sha256 is `digest` (the bytes the user was shown)."""
    if digest is not None:
        _update(repo, trusted_config_sha256=digest)


def decline(repo: Path, digest: str | None) -> None:
    """Remember that the user declined to trust this `.coder.toml` (the TUI asks once)."""
    if digest is not None:
        _update(repo, declined_config_sha256=digest)


def was_declined(repo: Path, digest: str | None) -> bool:
    """Whether the user already declined to trust this `.coder.toml` as it is now."""
    return digest is not None and _entry(repo).get("declined_config_sha256") == digest


def remembered_commands(repo: Path) -> tuple[str, ...]:
    """Commands the user chose to always allow in this repository."""
    found = _entry(repo).get("allowed_commands", [])
    return tuple(c for c in found if isinstance(c, str) and c.strip())


def remember_commands(repo: Path, entries: list[str]) -> None:
    """Always allow `entries` (command prefixes) in this repository from now on."""
    known = list(remembered_commands(repo))
    _update(repo, allowed_commands=known + [e for e in entries if e not in known])
