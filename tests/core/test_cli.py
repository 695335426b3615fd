"""The command line as a new user types it: real subprocesses, real git repositories, real
HTTP to the scripted server."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from coder import __version__, cli
from tests.conftest import FIXTURES, git
from tests.runs import coder

CHECK = f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider"
SCRIPT = FIXTURES / "scripts" / "fix_textutil.json"


def events(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def user_texts(server: Any) -> str:
    first = server.received[0]["messages"]
    return "\n".join(str(m["content"]) for m in first if m["role"] == "user")


def test_options_before_the_subcommand_are_used(repo: Path, scripted_server: Any) -> None:
    server = scripted_server(SCRIPT)
    proc = coder(
        "--base-url", server.base_url, "--model", "scripted", "--check", CHECK,
        "run", "@" + str(repo / "ISSUE.md"), "--json", cwd=repo,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    started = events(proc)[0]
    assert started["model"] == "scripted" and started["provider"] == "chat"
    assert started["checks"] == [CHECK]
    assert server.received, "the endpoint given before `run` was never called"


def test_an_option_given_on_both_sides_takes_the_later_one(
    repo: Path, scripted_server: Any
) -> None:
    server = scripted_server(SCRIPT)
    proc = coder(
        "--model", "first", "run", "@" + str(repo / "ISSUE.md"), "--model", "scripted",
        "--base-url", server.base_url, "--check", CHECK, "--json", cwd=repo,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert events(proc)[0]["model"] == "scripted"


def test_repo_before_map_maps_that_repository_not_the_working_directory(
    repo: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "unrelated.py").write_text("def unrelated_function():\n    pass\n")
    proc = coder("--repo", str(repo), "map", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert "textutil.py" in proc.stdout
    assert "unrelated" not in proc.stdout


def test_an_agent_option_that_does_not_apply_is_an_error_not_ignored(repo: Path) -> None:
    proc = coder("--model", "gpt-x", "map", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "coder: error: --model does not apply to `coder map` (see --help)"
    )


def test_run_from_a_subdirectory_works_in_the_repository_root(
    repo: Path, scripted_server: Any
) -> None:
    sub = repo / "docs" / "deep"
    sub.mkdir(parents=True)
    (sub / "notes.md").write_text("notes\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "docs")
    server = scripted_server(SCRIPT)
    proc = coder(
        "run", "@" + str(repo / "ISSUE.md"), "--base-url", server.base_url,
        "--model", "scripted", "--check", CHECK, "--json", cwd=sub,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert events(proc)[0]["repo"] == str(repo)
    assert "title.lower()" in (repo / "textutil.py").read_text()


def test_map_from_a_subdirectory_ranks_that_directory_first(git_repo: Path) -> None:
    for folder, name in (("alpha", "apples"), ("beta", "bananas"), ("gamma", "grapes")):
        (git_repo / folder).mkdir()
        for index in range(3):
            (git_repo / folder / f"{name}{index}.py").write_text(
                f"def {name}_{index}(x):\n    return x\n\n\nclass {name.title()}{index}:\n"
                "    pass\n"
            )
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "three packages")
    proc = coder("map", "--tokens", "60", cwd=git_repo / "gamma")
    assert proc.returncode == 0, proc.stderr
    first_file = next(line for line in proc.stdout.splitlines() if line.endswith(".py:"))
    assert first_file.startswith("gamma/"), proc.stdout


def test_run_dash_reads_the_task_from_standard_input(repo: Path, scripted_server: Any) -> None:
    server = scripted_server(SCRIPT)
    task = "Fix title_case:\nit must lower-case the rest of each word.\n"
    proc = coder(
        "run", "-", "--repo", str(repo), "--base-url", server.base_url, "--model", "scripted",
        "--check", CHECK, "--json", stdin=task,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert events(proc)[0]["task"] == task.strip()
    assert "it must lower-case the rest of each word." in user_texts(server)


def test_a_run_outside_any_repository_is_one_line(tmp_path: Path) -> None:
    proc = coder(
        "run", "fix it", "--api", "chat", "--base-url", "http://127.0.0.1:9/v1", cwd=tmp_path
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "not a git repository" in proc.stderr


def test_version() -> None:
    proc = coder("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"coder {__version__}"


@pytest.mark.parametrize(
    "argv, task",
    [
        (["fix the date parser"], "fix the date parser"),
        (["--model", "gpt-x", "fix the date parser"], "fix the date parser"),
        (["fix the date parser", "--approval", "auto-edit"], "fix the date parser"),
        (["--", "run the numbers"], "run the numbers"),
        ([], None),
    ],
)
def test_a_first_word_that_is_no_subcommand_is_the_tuis_task(
    argv: list[str], task: str | None, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(git_repo)
    args = cli.parse(argv)
    assert args.command is None
    assert args.task == task
    assert args.repo == str(git_repo)


def test_the_tui_is_started_on_the_task_given_on_the_command_line(
    stats_repo_for_cli: Path, scripted_server: Any
) -> None:
    """`coder TASK` in a real terminal: the task runs without being typed."""
    from tests.tui.scripts import whole_fix
    from tests.tui.test_tmux import TMUX, Terminal

    if TMUX is None:
        pytest.skip("tmux is not installed")
    server = scripted_server(whole_fix())
    command = shlex.join(
        [
            str(Path(sys.executable).parent / "coder"), "fix the statistics",
            "--base-url", server.base_url, "--check", CHECK, "--approval", "full-auto",
        ]
    )  # fmt: skip
    term = Terminal(command, stats_repo_for_cli)
    try:
        term.wait_for("done: the checks pass")
        term.keys("-l", "/quit")
        term.keys("Enter")
        assert "EXITED 0" in term.wait_for("EXITED")
    finally:
        term.close()
    assert "fix the statistics" in user_texts(server)


@pytest.fixture
def stats_repo_for_cli(tmp_path: Path) -> Path:
    from tests.tui.conftest import make_repo

    return make_repo(tmp_path)


@pytest.mark.parametrize("profile", ["default", "small"])
def test_an_at_mention_puts_the_file_in_the_first_request_once(
    repo: Path, scripted_server: Any, profile: str
) -> None:
    """The small profile already opens with the files a task names: no second copy."""
    server = scripted_server([{"text": "Looking at it."}])
    proc = coder(
        "run", "slugify loses capitals: see @textutil.py", "--repo", str(repo),
        "--base-url", server.base_url, "--model", "scripted", "--profile", profile,
        "--max-turns", "1", "--json",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    notices = [e["message"] for e in events(proc) if e["type"] == "notice"]
    assert "in the model's context with the task: textutil.py" in notices
    first = json.dumps(server.received[0])
    assert first.count('words = re.findall(r\\"[a-z0-9]+\\", title)') == 1
