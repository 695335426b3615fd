"""Settings: one dataclass, loaded in one place.

Precedence: command-line flags > environment (`OPENAI_API_KEY`, `OPENAI_BASE_URL`,
`CODER_MODEL`) > the repository's `.coder.toml` > `~/.config/coder/config.toml`.
A repository's `.coder.toml` is untrusted until the user trusts it (`coder.trust`): until
then it may only narrow what the user set (budgets and timeouts take the smaller value,
`secret-files` adds to the user's, `protect-tests` turns on); every other key it sets is
ignored, with a warning. It is read once, through the path guard, and the bytes that are
digested for trust are the bytes that are parsed.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    ValidationError,
)

from coder import trust
from coder.errors import ConfigError, UsageError, WorkspaceError
from coder.pathguard import PathGuard

NARROWING_LIMITS = (
    "max_turns", "time_budget_s", "max_cost", "max_tokens", "command_timeout_s",
    "check_timeout_s", "model_timeout_s", "max_repeats", "limit_processes", "limit_memory_mb",
    "limit_file_size_mb", "limit_cpu_s", "limit_tmp_mb",
)  # fmt: skip
"""Limits an untrusted `.coder.toml` may lower (never raise): the smaller value holds."""
NARROWING_KEYS = (*NARROWING_LIMITS, "secret_files", "protect_tests")
"""Everything an untrusted `.coder.toml` may set; other keys are ignored with a warning."""
SHOWN_FIRST = ("base_url", "weak_base_url", "api_key", "checks", "allowed_commands", "approval")
"""Keys the trust prompt lists first: where the API key goes, what runs without asking."""
MAX_CONFIG_BYTES = 1 << 20
LOCAL_MODEL = "qwen2.5-coder-1.5b-instruct"


@dataclass(frozen=True)
class Settings:
    """Everything a session needs to know; built by `load()`."""

    repo: Path = Path(".")
    """Repository root the agent works in."""
    model: str | None = None
    """Model name; None picks the embedded local model unless an endpoint is configured."""
    base_url: str | None = None
    """OpenAI-compatible endpoint (…/v1). None means api.openai.com when a key is set."""
    api_key: str | None = field(default=None, repr=False)
    """API key; never logged or sent anywhere but the configured endpoint."""
    api: str = "auto"
    """Wire format: chat (Chat Completions), responses, local (embedded), auto (decide)."""
    reasoning_effort: str | None = None
    """Reasoning effort for reasoning models: low, medium or high."""
    max_turns: int = 30
    """Model turns before the run stops with exit code 1."""
    time_budget_s: float | None = None
    """Wall-clock seconds a run may take (None: no limit); the loop starts no turn past it
    and the small profile plans its candidates within it."""
    weak_model: str | None = None
    """A cheap model for the first attempts (`local`: the embedded model); see `route`."""
    weak_base_url: str | None = None
    """The weak model's endpoint, when it is not the strong model's."""
    route: str | None = None
    """auto: escalate while the checks keep failing (reasoning effort, then weak → strong);
    off: one model. None: auto when a weak model is set, else off."""
    service_tier: str | None = None
    """OpenAI's service tier for every request: flex (cheaper, slower), auto or default."""
    max_cost: float | None = None
    """USD a run may spend: no model call starts that would cross it (None: no limit)."""
    max_tokens: int | None = None
    """Tokens (prompt and completion) a run may use: no model call starts that would cross
    it (None: no limit)."""
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    """Model name → USD per 1M tokens (`input`, `cached_input`, `output`), beside and over
    the table shipped in the package."""
    checks: tuple[str, ...] = ()
    """Check commands; empty means detect a default for the project."""
    checks_source: str = "detected"
    """Where `checks` came from: flag, config or detected."""
    approval: str | None = None
    """Approval mode: suggest, auto-edit or full-auto; None means the face's default
    (full-auto for `coder run`, suggest for the TUI)."""
    allowed_commands: tuple[str, ...] = ()
    """Command prefixes that run without asking in auto-edit mode."""
    command_timeout_s: float = 120.0
    """Default timeout of a `run` tool call."""
    check_timeout_s: float = 600.0
    """Timeout of each check command."""
    model_timeout_s: float = 600.0
    """Longest one model call may take, retries included, before the run stops (exit 3)."""
    max_repeats: int = 3
    """The same tool call with the same arguments this many times in a row is refused."""
    profile: str = "auto"
    """Model-size profile: auto (decide from the model), default or small."""
    protect_tests: bool = False
    """Refuse edits to test files; `finish` stands only if the original tests pass."""
    repo_map_tokens: int | None = None
    """Repo-map budget in tokens; None picks one from the model's context window."""
    model_path: Path | None = None
    """GGUF weights for the embedded model; None uses the installed default."""
    context_window: int | None = None
    """Override of the model's context window, in tokens."""
    sandbox: str = "workspace-write"
    """What confines the model's commands: workspace-write, read-only or off."""
    sandbox_network: bool = False
    """Let sandboxed commands reach the network."""
    limit_processes: int = 1024
    """Processes (and threads) one command's tree may run at once."""
    limit_memory_mb: int = 2048
    """Private writable memory of each process of a command, MiB."""
    limit_file_size_mb: int = 1024
    """Largest file a command may write, MiB."""
    limit_cpu_s: int = 600
    """CPU seconds of each process of a command."""
    limit_tmp_mb: int = 1024
    """Size of the sandbox's private /tmp (and /run), MiB."""
    read_secrets: bool = False
    """Let sandboxed commands read secret files (the deny-list and `secret-files`); by
    default they see them empty, so a command cannot send them to the model."""
    env_passthrough: tuple[str, ...] = ()
    """Extra environment variables commands receive (names that look secret never pass)."""
    secret_files: tuple[str, ...] = ()
    """Extra glob patterns of secret files, beside the built-in deny-list."""
    trust: bool = False
    """Trust the repository's `.coder.toml` for this run (`--trust`)."""
    json: bool = False
    """Headless: JSON Lines events on stdout."""
    focus: tuple[str, ...] = ()
    """Where the user started coder inside the repository: the repo map ranks around it."""
    warnings: tuple[str, ...] = ()
    """What loading noticed and the user should hear (ignored untrusted keys, …)."""
    ignored_keys: tuple[str, ...] = ()
    """Keys of the untrusted `.coder.toml` that were ignored (config spelling)."""
    ignored_values: tuple[tuple[str, str], ...] = ()
    """Those keys with the values they would set (as TOML-like text), for the trust prompt."""
    project_config_digest: str | None = None
    """sha256 of the `.coder.toml` bytes these settings were read from (what trusting trusts)."""
    flags: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The flags `load` was given, so the settings can be loaded again (after trusting)."""

    @property
    def provider_name(self) -> str:
        """The provider the settings select: chat, responses or local."""
        if self.api != "auto":
            return self.api
        if self.base_url or self.api_key or (self.model and self.model != LOCAL_MODEL):
            return "chat"
        return "local"

    @property
    def model_name(self) -> str:
        """The model name to use (the embedded model when nothing is configured)."""
        if self.model:
            return self.model
        return LOCAL_MODEL if self.provider_name == "local" else "gpt-4.1-mini"


_FIELD_NAMES = {f.name for f in fields(Settings)}
INTERNAL_FIELDS = frozenset(
    {
        "repo",
        "json",
        "trust",
        "warnings",
        "ignored_keys",
        "ignored_values",
        "flags",
        "focus",
        "checks_source",
        "project_config_digest",
    }
)
"""Settings fields no config file sets (the rest are `_FileConfig`'s keys)."""


AGENT_FLAGS = (
    "repo", "checks", "model", "base_url", "api_key", "api", "reasoning_effort", "max_turns",
    "time_budget_s", "max_cost", "max_tokens", "service_tier", "weak_model", "weak_base_url",
    "route", "approval", "sandbox",
    "sandbox_network", "read_secrets", "trust", "profile", "protect_tests", "json",
)  # fmt: skip
"""The command-line options (argparse destinations) that are settings."""


def flags_from(args: object) -> dict[str, Any]:
    """The settings a parsed command line gave (absent and unset options left out), with
    the subdirectory coder was started in as the repo map's focus."""
    given = {name: getattr(args, name, None) for name in AGENT_FLAGS}
    flags: dict[str, Any] = {k: v for k, v in given.items() if v not in (None, False, [])}
    subdir = getattr(args, "subdir", None)
    if subdir:
        flags["focus"] = (subdir,)
    if "checks" in flags:
        flags["checks"] = list(flags["checks"])
    if "max_turns" in flags and flags["max_turns"] < 1:
        raise UsageError("--max-turns must be at least 1")
    if "time_budget_s" in flags and not flags["time_budget_s"] > 0:
        raise UsageError("--time-budget must be a positive number of seconds")
    if "max_cost" in flags and not flags["max_cost"] > 0:
        raise UsageError("--max-cost must be a positive number of US dollars")
    if "max_tokens" in flags and flags["max_tokens"] < 1:
        raise UsageError("--max-tokens must be at least 1")
    return flags


def user_config_path() -> Path:
    """`$XDG_CONFIG_HOME/coder/config.toml` (default `~/.config/coder/config.toml`)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "coder" / "config.toml"


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/coder` (default `~/.cache/coder`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coder"


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    return _parse_toml(raw, path)


def _parse_toml(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid config file {path}: {exc}") from None
    return _validated({key.replace("_", "-"): value for key, value in data.items()}, str(path))


def read_project_config(root: Path) -> bytes | None:
    """The bytes of the repository's `.coder.toml`, read once through the path guard (a
    symlink may lead only inside the repository); None when there is none."""
    guard = PathGuard(root.resolve(), allow_protected=True)
    try:
        if guard.inspect(trust.CONFIG_NAME)[1] is None:
            return None
        return guard.read(trust.CONFIG_NAME, limit=MAX_CONFIG_BYTES)
    except WorkspaceError as exc:
        raise ConfigError(f"{root / trust.CONFIG_NAME}: {exc}") from None


def project_config(root: Path) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The repository's `.coder.toml` as trusting it would take it: the sha256 of its bytes
    and every key it sets with its value, the ones that matter most first (read once)."""
    raw = read_project_config(root)
    if raw is None:
        return None, ()
    project = _parse_toml(raw, root / trust.CONFIG_NAME)
    return trust.digest_of(raw), _shown(project, list(project))


def _shown(project: dict[str, Any], names: list[str]) -> tuple[tuple[str, str], ...]:
    ordered = sorted(names, key=lambda k: SHOWN_FIRST.index(k) if k in SHOWN_FIRST else 99)
    return tuple((k.replace("_", "-"), shown_value(project[k])) for k in ordered)


def shown_value(value: Any) -> str:
    """A config value as the trust prompt shows it (JSON, which TOML strings resemble)."""
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _strings(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Strings = Annotated[list[str], BeforeValidator(_strings)]
"""A list of strings; one string alone is a list of one."""


class _Strict(BaseModel):
    """A config table: unknown keys refused, no coercion, keys spelt with hyphens."""

    model_config = ConfigDict(
        extra="forbid", strict=True, alias_generator=lambda name: name.replace("_", "-")
    )


class _Price(_Strict):
    """One model's prices in USD per 1M tokens (`[prices."name"]` in a config file)."""

    input: NonNegativeFloat
    cached_input: NonNegativeFloat | None = None
    output: NonNegativeFloat
    context_window: PositiveInt | None = None


class _FileConfig(_Strict):
    """What a config file (or the environment) may set, and the type of each key."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    api: Literal["chat", "responses", "local", "auto"] | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    max_turns: PositiveInt | None = None
    time_budget_s: PositiveFloat | None = None
    max_cost: PositiveFloat | None = None
    max_tokens: PositiveInt | None = None
    service_tier: Literal["flex", "auto", "default"] | None = None
    weak_model: str | None = None
    weak_base_url: str | None = None
    route: Literal["auto", "off"] | None = None
    prices: dict[str, _Price] | None = None
    checks: Strings | None = None
    approval: Literal["suggest", "auto-edit", "full-auto"] | None = None
    allowed_commands: Strings | None = None
    command_timeout_s: PositiveFloat | None = None
    check_timeout_s: PositiveFloat | None = None
    model_timeout_s: PositiveFloat | None = None
    max_repeats: PositiveInt | None = None
    profile: Literal["auto", "default", "small"] | None = None
    protect_tests: bool | None = None
    repo_map_tokens: PositiveInt | None = None
    model_path: str | None = None
    context_window: PositiveInt | None = None
    sandbox: Literal["workspace-write", "read-only", "off"] | None = None
    sandbox_network: bool | None = None
    read_secrets: bool | None = None
    limit_processes: PositiveInt | None = None
    limit_memory_mb: PositiveInt | None = None
    limit_file_size_mb: PositiveInt | None = None
    limit_cpu_s: PositiveInt | None = None
    limit_tmp_mb: PositiveInt | None = None
    env_passthrough: Strings | None = None
    secret_files: Strings | None = None


def _validated(data: dict[str, Any], origin: str) -> dict[str, Any]:
    """`data` (config spelling) checked by `_FileConfig`: Settings field name → value; one
    line naming the file, the key and what it should be when it is wrong."""
    try:
        parsed = _FileConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"] if isinstance(part, str)) or "?"
        if error["type"] == "extra_forbidden":
            raise ConfigError(f"{origin}: unknown key {key!r}") from None
        got = json.dumps(error.get("input"), default=str)
        raise ConfigError(f"{origin}: {key}: {error['msg'].lower()}, not {got}") from None
    out = parsed.model_dump(exclude_unset=True)
    if out.get("prices") is not None:
        out["prices"] = {
            name: {k: v for k, v in price.items() if v is not None}
            for name, price in out["prices"].items()
        }
    for name in ("checks", "allowed_commands", "env_passthrough", "secret_files"):
        if out.get(name) is not None:
            out[name] = tuple(out[name])
    if out.get("model_path") is not None:
        out["model_path"] = Path(out["model_path"]).expanduser()
    return out


def load(flags: dict[str, Any] | None = None, repo: Path | None = None) -> Settings:
    """Build Settings from flags, environment and config files (in that precedence).

    `flags` holds only the options the user actually gave (None values are ignored).
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None and k in _FIELD_NAMES}
    root = Path(repo or flags.get("repo") or ".")
    if not root.is_dir():
        raise ConfigError(f"repository directory not found: {root}")
    merged: dict[str, Any] = {}
    user = _read_toml(user_config_path())
    project_path = root / trust.CONFIG_NAME
    raw = read_project_config(root)
    digest = trust.digest_of(raw)
    project = _parse_toml(raw, project_path) if raw is not None else {}
    warned: list[str] = []
    ignored: list[str] = []
    narrowing: dict[str, Any] = {}
    if project and not (flags.get("trust") or trust.is_trusted(root, digest)):
        narrowing = {k: v for k, v in project.items() if k in NARROWING_KEYS}
        ignored_values = _shown(project, [k for k in project if k not in NARROWING_KEYS])
        ignored = [key.replace("-", "_") for key, _ in ignored_values]
        if ignored:
            keys = ", ".join(name.replace("_", "-") for name in ignored)
            warned.append(
                f"ignored in the untrusted {project_path}: {keys} (trust this repository "
                "with --trust or `coder trust` to use them)"
            )
        project = {}
    else:
        ignored_values = ()
    env: dict[str, Any] = {}
    if os.environ.get("OPENAI_API_KEY"):
        env["api_key"] = os.environ["OPENAI_API_KEY"]
    if os.environ.get("OPENAI_BASE_URL"):
        env["base_url"] = os.environ["OPENAI_BASE_URL"]
    if os.environ.get("CODER_MODEL"):
        env["model"] = os.environ["CODER_MODEL"]
    for layer, source in ((user, "config"), (project, "config"), (env, None), (flags, "flag")):
        merged.update(layer)
        if "checks" in layer and source:
            merged["checks_source"] = source
    if isinstance(merged.get("checks"), list):
        merged["checks"] = tuple(merged["checks"])
    merged.update(_narrowed(merged, narrowing))
    merged["repo"] = root.resolve()
    merged["warnings"] = tuple(warned)
    merged["ignored_keys"] = tuple(name.replace("_", "-") for name in ignored)
    merged["ignored_values"] = ignored_values
    merged["project_config_digest"] = digest
    merged["flags"] = dict(flags)
    return replace(Settings(), **merged)


def _narrowed(merged: dict[str, Any], narrowing: dict[str, Any]) -> dict[str, Any]:
    """What an untrusted `.coder.toml` changes: only ever a stricter value."""
    defaults = Settings()
    out: dict[str, Any] = {}
    for name, value in narrowing.items():
        current = merged.get(name, getattr(defaults, name))
        if name in NARROWING_LIMITS:
            out[name] = value if current is None else min(current, value)
        elif name == "secret_files":
            out[name] = (*current, *(p for p in value if p not in current))
        elif name == "protect_tests":
            out[name] = bool(current or value)
    return out
