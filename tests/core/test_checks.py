"""Default check detection and failure trimming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coder.checks import detect, run_check, trim_failure
from coder.workspace import Workspace


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"package.json": json.dumps({"scripts": {"test": "vitest run"}})}, ["npm test"]),
        ({"go.mod": "module x\n"}, ["go test ./..."]),
        ({"Cargo.toml": "[package]\n"}, ["cargo test"]),
        ({"README.md": "docs only\n"}, []),
    ],
)
def test_detects_the_project_kind(
    git_repo: Path, files: dict[str, str], expected: list[str]
) -> None:
    for name, text in files.items():
        (git_repo / name).write_text(text)
    assert detect(Workspace(git_repo))[0] == expected


def test_npm_default_placeholder_script_is_not_a_test_suite(git_repo: Path) -> None:
    script = 'echo "Error: no test specified" && exit 1'
    (git_repo / "package.json").write_text(json.dumps({"scripts": {"test": script}}))
    assert detect(Workspace(git_repo)) == ([], "no test suite detected")


def test_python_tests_select_pytest_and_say_why(git_repo: Path) -> None:
    (git_repo / "tests").mkdir()
    (git_repo / "tests" / "test_app.py").write_text("def test_ok():\n    pass\n")
    commands, reason = detect(Workspace(git_repo))
    assert "-m pytest" in commands[0]
    assert reason == "Python tests found: pytest"


def test_failure_output_is_trimmed_to_the_failures_section() -> None:
    output = (
        "collected 300 items\n" + "." * 5000 + "\n=== FAILURES ===\n__ test_x __\nassert 1 == 2\n"
    )
    assert trim_failure(output) == "=== FAILURES ===\n__ test_x __\nassert 1 == 2"


def test_real_pytest_failure_keeps_the_assertion(git_repo: Path) -> None:
    (git_repo / "test_a.py").write_text("def test_a():\n    assert 40 + 1 == 42\n")
    ws = Workspace(git_repo)
    run = run_check(ws, detect(ws)[0][0], timeout_s=60)
    assert not run.passed and run.exit_code == 1
    assert "assert (40 + 1) == 42" in run.output
