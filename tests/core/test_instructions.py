"""Project instructions: AGENTS.md nearest first, the user's, then CLAUDE.md and
CONVENTIONS.md, as the scripted server received them; and `coder init`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import FIXTURES, git
from tests.core.test_cli import CHECK, events

SCRIPT = FIXTURES / "scripts" / "fix_textutil.json"


def test_instructions_reach_the_model_nearest_first(
    repo: Path, scripted_server: Any, tmp_path: Path
) -> None:
    deep = repo / "pkg" / "deep"
    deep.mkdir(parents=True)
    (repo / "AGENTS.md").write_text("ROOT-RULE: use tabs\n")
    (repo / "pkg" / "AGENTS.md").write_text("PKG-RULE: no globals\n")
    (deep / "AGENTS.md").write_text("DEEP-RULE: spaces, not tabs\n")
    (repo / "CLAUDE.md").write_text("CLAUDE-RULE: be brief\n")
    (repo / "CONVENTIONS.md").write_text("CONVENTIONS-RULE: snake_case\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "instructions")
    config_home = tmp_path / "xdg"
    (config_home / "coder").mkdir(parents=True)
    (config_home / "coder" / "AGENTS.md").write_text("USER-RULE: explain every change\n")
    server = scripted_server(SCRIPT)
    proc = subprocess.run(
        [
            sys.executable, "-m", "coder", "run", "@" + str(repo / "ISSUE.md"),
            "--base-url", server.base_url, "--model", "scripted", "--check", CHECK, "--json",
        ],
        capture_output=True, text=True, cwd=deep, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "XDG_CONFIG_HOME": str(config_home)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert events(proc)[0]["instructions"] == [
        "pkg/deep/AGENTS.md",
        "pkg/AGENTS.md",
        "AGENTS.md",
        "~/.config/coder/AGENTS.md",
        "CLAUDE.md",
        "CONVENTIONS.md",
    ]
    sent = json.dumps(server.received[0])
    order = [
        sent.index(rule)
        for rule in ("DEEP-RULE", "PKG-RULE", "ROOT-RULE", "USER-RULE", "CLAUDE-RULE", "CONV")
    ]
    assert order == sorted(order)
    assert sent.index("CONVENTIONS-RULE") < sent.index("Repository map")  # in the prefix
    for later in server.received[1:]:  # a stable prefix: the same first messages every turn
        assert later["messages"][:2] == server.received[0]["messages"][:2]


def test_instructions_are_cut_to_the_limit_and_say_so(repo: Path, scripted_server: Any) -> None:
    (repo / "AGENTS.md").write_text("Rule line.\n" * 4000)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "long instructions")
    server = scripted_server(SCRIPT)
    proc = subprocess.run(
        [
            sys.executable, "-m", "coder", "run", "@" + str(repo / "ISSUE.md"), "--repo",
            str(repo), "--base-url", server.base_url, "--model", "scripted", "--check", CHECK,
            "--json",
        ],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    notices = [e["message"] for e in events(proc) if e["type"] == "notice"]
    assert "AGENTS.md: cut short to fit the prompt" in notices
    sent = json.dumps(server.received[0])
    assert sent.count("Rule line.") < 4000


def test_coder_init_writes_a_skeleton_once(repo: Path) -> None:
    def init() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "coder", "init"],
            capture_output=True, text=True, cwd=repo, timeout=60,
        )  # fmt: skip

    proc = init()
    assert proc.returncode == 0, proc.stderr
    text = (repo / "AGENTS.md").read_text()
    assert "## Languages\n\nPython" in text
    assert "-m pytest" in text  # the detected check command
    assert "- `textutil.py`" in text and "- `test_textutil.py`" in text
    (repo / "AGENTS.md").write_text("mine\n")
    again = init()
    assert again.returncode == 2
    assert (
        again.stderr.strip() == f"coder: error: {repo / 'AGENTS.md'} already exists: left as it is"
    )
    assert (repo / "AGENTS.md").read_text() == "mine\n"
