"""coder's own git calls run no program the repository names.

A repository's `.git/config` (and `.gitattributes`) can make git run commands: hooks,
`core.fsmonitor`, clean/smudge/process filters, `diff.external`, textconv, signing
programs. Every git call coder makes gets an environment that switches each of them off,
the filters by name (they are read from the merged config first); diff commands also take
`--no-ext-diff --no-textconv`. git itself is the one `coder.hostprogs` resolves outside the
repository, and runs with a PATH that holds no folder a sandboxed command can write.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from coder.errors import UsageError
from coder.hostprogs import host_program, safe_path

FIXED = {
    "core.hooksPath": "/dev/null",
    "core.fsmonitor": "false",
    "core.pager": "cat",
    "core.editor": "true",
    "core.askPass": "true",
    "core.sshCommand": "false",
    "diff.external": "",
    "commit.gpgSign": "false",
    "tag.gpgSign": "false",
    "gpg.program": "false",
    "credential.helper": "",
    "protocol.allow": "never",
}
"""Settings that hold for every git call coder makes."""
IDENTITY = {
    "GIT_AUTHOR_NAME": "coder",
    "GIT_AUTHOR_EMAIL": "coder@localhost",
    "GIT_COMMITTER_NAME": "coder",
    "GIT_COMMITTER_EMAIL": "coder@localhost",
}
"""The author of checkpoint commits (never the user's identity, never a prompt for one)."""
DIFF_FLAGS = ("--no-ext-diff", "--no-textconv")
_FILTER_KEYS = ("clean", "smudge", "process")


def filter_drivers(root: Path) -> list[str]:
    """Names of the filter drivers any config in effect for `root` defines."""
    proc = subprocess.run(
        [git_program(root), "config", "-z", "--name-only", "--get-regexp", r"^filter\."],
        cwd=root,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **_config_env(FIXED), "PATH": safe_path(root)},
    )
    names = set()
    for key in proc.stdout.decode("utf-8", "replace").split("\0"):
        head, _, last = key.rpartition(".")
        if head.startswith("filter.") and last.lower() in (*_FILTER_KEYS, "required"):
            names.add(head[len("filter.") :])
    return sorted(names)


def safe_env(root: Path) -> dict[str, str]:
    """Environment additions for a git call in `root` (GitPython takes them as `env=`)."""
    settings = dict(FIXED)
    for name in filter_drivers(root):
        for key in _FILTER_KEYS:
            settings[f"filter.{name}.{key}"] = ""
        settings[f"filter.{name}.required"] = "false"
    return {
        **_config_env(settings),
        **IDENTITY,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "PATH": safe_path(root),
    }


def git_program(root: Path) -> str:
    """The absolute path of the git coder runs for `root` (never one inside it)."""
    found = host_program("git", root)
    if found is None:
        raise UsageError(
            "git is not installed outside the repository; coder needs it to checkpoint your work"
        )
    return found


def git_command(root: Path, args: list[str]) -> tuple[list[str], dict[str, str]]:
    """argv and the full environment of a safe `git ARGS` in `root`."""
    argv = [git_program(root), *args]
    if args and args[0] in ("diff", "log", "show"):
        argv[2:2] = DIFF_FLAGS
    return argv, {**os.environ, **safe_env(root)}


def _config_env(settings: dict[str, str]) -> dict[str, str]:
    env = {"GIT_CONFIG_COUNT": str(len(settings))}
    for index, (key, value) in enumerate(settings.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env
