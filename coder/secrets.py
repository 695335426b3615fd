"""Secrets: which files hold them, which variables do, and one redaction pass for text.

The deny-list keeps secret files away from the file tools, `search`, the repo map and the
checkpoints. `Redactor.redact` runs over everything that is sent to a model or written to
JSON Lines, the TUI or stderr: known key formats, private-key blocks, secret-looking
assignments in env-file style, and the literal values of this session's secret variables.
"""

from __future__ import annotations

import base64
import fnmatch
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

SECRET_FILES: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    "_netrc",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    ".htpasswd",
    ".dockercfg",
    "credentials",
    "credentials.json",
    "service-account*.json",
)
"""Default deny-list, matched against a file's name (patterns with a slash: its path)."""
TEMPLATE_NAMES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
"""Names the patterns match that hold no secrets by convention; they stay readable."""

SECRET_WORDS = re.compile(
    r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|AUTH|COOKIE",
    re.IGNORECASE,
)
"""A variable whose name holds one of these words has its value redacted everywhere."""
SECRET_PREFIXES = re.compile(r"^(AWS|AZURE|GCP|GOOGLE|DOCKER|VAULT|OP|NPM|PYPI|TWINE)_", re.I)
"""Providers' variables that are never passed to a command, whatever the rest of the name."""

_KEY_FORMATS: tuple[tuple[str, str], ...] = (
    (
        "private key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    ),
    (
        "private key",
        r"(?:^[A-Za-z0-9+/=]{16,}\r?\n)+-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
    ),
    ("api key", r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ("aws key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    ("github token", r"\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{20,}"),
    ("gitlab token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
    ("slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("google key", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("stripe key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("hugging face token", r"\bhf_[A-Za-z0-9]{30,}"),
    ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
)
_PATTERN = re.compile(
    "|".join(f"(?P<k{i}>{body})" for i, (_, body) in enumerate(_KEY_FORMATS)), re.MULTILINE
)
_KINDS = {f"k{i}": kind for i, (kind, _) in enumerate(_KEY_FORMATS)}
_BEARER = re.compile(r"(?i)\b(authorization:\s*(?:bearer|token|basic)\s+)[^\s\"']+")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^/\s@]+(@)")
_ASSIGNMENT = re.compile(
    r"(?m)(\b(?=[A-Z])[A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_?KEY"
    r"|PRIVATE_?KEY|CREDENTIALS?)[A-Z0-9_]*[ \t]*[:=][ \t]*)"
    r"(\"[^\"\n]{6,}\"|'[^'\n]{6,}'|[A-Za-z0-9+/=_\-.~:@]{6,})(?=[ \t]*(?:[;,#\n]|$))"
)
MIN_SECRET_VALUE = 8
"""Values shorter than this are not redacted literally (they would match ordinary text)."""


def _glob_regex(patterns: Iterable[str]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    by_name = [fnmatch.translate(p) for p in patterns if "/" not in p]
    by_path = [fnmatch.translate(p.strip("/")) for p in patterns if "/" in p]
    never = "(?!)"
    return (
        re.compile("|".join(by_name) or never, re.IGNORECASE),
        re.compile("|".join(by_path) or never, re.IGNORECASE),
    )


@lru_cache(maxsize=8)
def _matchers(extra: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return _glob_regex((*SECRET_FILES, *extra))


def secret_pathspecs(extra: tuple[str, ...] = (), exclude: bool = False) -> list[str]:
    """git pathspecs naming the deny-list's files (or, with `exclude`, everything else)."""
    magic = "exclude,glob,icase" if exclude else "glob,icase"
    patterns = [*SECRET_FILES, *extra, ".ssh/**"]
    return [f":({magic})**/{p.strip('/')}" for p in patterns]


def private_dir() -> Path:
    """Where coder keeps copies of secret files for undo: outside every repository, mode
    0700, and hidden from sandboxed commands (`$XDG_STATE_HOME/coder/private`)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "coder" / "private"


def is_secret_path(path: str, extra: tuple[str, ...] = ()) -> bool:
    """Whether a repository-relative path names a secret file (any component may match)."""
    by_name, by_path = _matchers(extra)
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        return False
    if parts[-1].lower() in TEMPLATE_NAMES:
        return False
    if by_path.match("/".join(parts)):
        return True
    # A secret directory's contents are secret too (e.g. `.ssh/` copied into a repo).
    return any(by_name.match(part) for part in parts) or parts[0] == ".ssh"


def secret_variable(name: str) -> bool:
    """Whether an environment variable's name looks like it holds a secret."""
    return bool(SECRET_WORDS.search(name) or SECRET_PREFIXES.match(name))


class Redactor:
    """Replaces secrets in text with `[REDACTED …]`; deterministic, so prompts stay stable."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        wanted = {v.strip() for v in values if v and len(v.strip()) >= MIN_SECRET_VALUE}
        forms = {form for value in wanted for form in encoded_forms(value)}
        ordered = sorted(forms, key=len, reverse=True)
        # A line break may fall anywhere inside an encoded form (base64 wraps at 76, xxd -p
        # at 60 characters).
        wrapped = ("(?:\r?\n)?".join(map(re.escape, form)) for form in ordered)
        self._values = re.compile("|".join(wrapped)) if ordered else None

    @classmethod
    def for_session(
        cls,
        api_key: str | None,
        environ: Mapping[str, str] | None = None,
        known: Iterable[str] = (),
    ) -> Redactor:
        """The redactor of a session: its API key, every secret-looking variable's value and
        the `known` values (the repository's secret files and git credentials)."""
        env = os.environ if environ is None else environ
        values = [value for name, value in env.items() if SECRET_WORDS.search(name)]
        return cls([*values, *([api_key] if api_key else []), *known])

    def redact(self, text: str) -> str:
        """`text` with every recognised secret replaced."""
        if not text:
            return text
        if self._values is not None:
            text = self._values.sub("[REDACTED secret value]", text)
        text = _PATTERN.sub(lambda m: f"[REDACTED {_KINDS[m.lastgroup or 'k0']}]", text)
        text = _BEARER.sub(r"\1[REDACTED]", text)
        text = _URL_PASSWORD.sub(r"\1[REDACTED]\2", text)
        return _ASSIGNMENT.sub(_redact_assignment, text)

    def holds_partial_block(self, text: str) -> bool:
        """Whether `text` opens a private-key block it does not close (wait for more)."""
        start = text.rfind("-----BEGIN ")
        return (
            start != -1
            and "PRIVATE KEY" in text[start : start + 60]
            and ("-----END " not in text[start:])
        )


def encoded_forms(value: str) -> list[str]:
    """The texts that give `value` away: itself, reversed, hex (either case), and base64
    (standard and URL-safe) at each of the three alignments it can have inside a longer
    encoded text, less the edge characters that depend on its neighbours."""
    data = value.encode("utf-8")
    forms = [value, value[::-1], data.hex(), data.hex().upper()]
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode("ascii")
        start, end = -(-8 * offset // 6), 8 * (offset + len(data)) // 6
        core = encoded[start:end]
        forms += [core, core.translate(_URL_SAFE)]
    return [form for form in forms if len(form) >= MIN_SECRET_VALUE]


_URL_SAFE = str.maketrans("+/", "-_")


def _redact_assignment(match: re.Match[str]) -> str:
    value = match.group(2)
    bare = value.strip("\"'")
    if bare.isdigit() or bare.startswith("$") or bare.lower() in {"true", "false", "none", "null"}:
        return match.group(0)
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match.group(1)}{quote}[REDACTED]{quote}"
