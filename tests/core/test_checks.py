"""Default check detection and failure trimming."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from coder.checks import CheckRunner, detect, run_check, startup_problem, trim_failure
from coder.errors import Interrupted
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


def python_project(repo: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> None:
    """Python tests, no activated virtualenv; `extra` files at the top."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_app.py").write_text("def test_ok():\n    pass\n")
    for name in extra:
        (repo / name).write_text("test:\n\tpytest\n" if name == "Makefile" else "")


def fake_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """An executable `name` first on PATH (detection looks it up; it is not run)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_without_a_project_environment_python3_on_path_runs_pytest(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python_project(git_repo, monkeypatch)
    commands, reason = detect(Workspace(git_repo))
    assert commands == ["python3 -m pytest -q --tb=short"]  # never coder's own interpreter
    assert reason == "Python tests found; python3 on PATH (no project virtualenv found)"


@pytest.mark.parametrize("folder", [".venv", "venv"])
def test_the_repositorys_virtualenv_comes_first(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    python_project(git_repo, monkeypatch, "uv.lock")
    (git_repo / folder / "bin").mkdir(parents=True)
    (git_repo / folder / "bin" / "python").symlink_to(sys.executable)
    monkeypatch.setenv("VIRTUAL_ENV", str(Path(sys.prefix)))
    commands, reason = detect(Workspace(git_repo))
    assert commands == [f"{folder}/bin/python -m pytest -q --tb=short"]
    assert reason == f"Python tests found; the repository's {folder}"


def test_an_activated_virtualenv_is_used_when_the_repository_has_none(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    python_project(git_repo, monkeypatch)
    env = tmp_path / "project env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").symlink_to(sys.executable)
    monkeypatch.setenv("VIRTUAL_ENV", str(env))
    commands, reason = detect(Workspace(git_repo))
    assert commands == [f"'{env}/bin/python' -m pytest -q --tb=short"]
    assert reason == f"Python tests found; the activated virtualenv {env}"


@pytest.mark.parametrize(
    "marker, tool, command",
    [
        ("uv.lock", "uv", "uv run --frozen --offline pytest -q --tb=short"),
        ("poetry.lock", "poetry", "poetry run pytest -q --tb=short"),
        ("hatch.toml", "hatch", "hatch test"),
        ("tox.ini", "tox", "tox -q"),
        ("noxfile.py", "nox", "nox"),
    ],
)
def test_a_project_tool_is_used_where_the_project_uses_it_and_it_is_installed(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, marker: str, tool: str,
    command: str,
) -> None:  # fmt: skip
    python_project(git_repo, monkeypatch, marker)
    assert detect(Workspace(git_repo))[0] == ["python3 -m pytest -q --tb=short"]  # not installed
    fake_tool(tmp_path, monkeypatch, tool)
    commands, reason = detect(Workspace(git_repo))
    assert commands == [command]
    assert reason == f"Python tests found; {marker} and {tool} on PATH"


def test_a_makefile_test_target_is_used(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python_project(git_repo, monkeypatch, "Makefile")
    assert detect(Workspace(git_repo)) == (
        ["make test"],
        "Python tests found; the Makefile's test target",
    )


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


def test_failing_tests_are_counted_in_the_whole_output_not_the_trimmed_one(
    git_repo: Path,
) -> None:
    cases = "\n".join(f"def test_{n}():\n    assert {n} == {n + 1}, 'x' * 400\n" for n in range(80))
    (git_repo / "test_many.py").write_text(cases + "\n\ndef test_ok():\n    pass\n")
    ws = Workspace(git_repo)
    run = run_check(ws, detect(ws)[0][0], timeout_s=60)
    assert run.output.count("FAILED ") < 80  # the model reads a trimmed output
    assert run.failing == 80


@pytest.mark.parametrize(
    "command, reason",
    [
        ("pytset -q", "not found"),
        ("./run-tests.sh", "Permission denied"),  # not executable: exit 126
        ("python3 -m no_such_runner -q", "no_such_runner is not installed for that interpreter"),
    ],
)
def test_a_check_that_cannot_start_is_a_configuration_problem(
    git_repo: Path, command: str, reason: str
) -> None:
    (git_repo / "run-tests.sh").write_text("#!/bin/sh\nexit 0\n")
    run = run_check(Workspace(git_repo), command, timeout_s=60)
    problem = startup_problem(run)
    assert problem is not None and reason in problem and "--check" in problem


def test_a_failing_test_is_not_a_configuration_problem(git_repo: Path) -> None:
    (git_repo / "test_a.py").write_text("import no_such_module\n\ndef test_a():\n    pass\n")
    run = run_check(Workspace(git_repo), f"{sys.executable} -m pytest -q", timeout_s=60)
    assert not run.passed and startup_problem(run) is None  # the project's import error


def test_an_interrupted_baseline_runs_again_with_the_next_task(git_repo: Path) -> None:
    ws = Workspace(git_repo)
    checks = CheckRunner(ws, ["sleep 30"], timeout_s=60)
    checks.start_baseline()
    time.sleep(0.3)
    checks.cancel.set()  # Esc during the first turn
    with pytest.raises(Interrupted):
        checks.ready()
    assert checks.baseline is None
    checks.cancel.clear()
    checks.replace(["true"])  # /checks: a new set of commands, a new baseline
    checks.start_baseline()
    checks.ready()
    assert checks.baseline is not None and [r.passed for r in checks.baseline] == [True]
    checks.start_baseline()  # once per set of commands
    assert checks.final() is checks.baseline


def test_a_baseline_stopped_before_it_was_waited_for_is_run_again(git_repo: Path) -> None:
    checks = CheckRunner(Workspace(git_repo), ["sleep 30"], timeout_s=60)
    checks.start_baseline()
    time.sleep(0.3)
    checks.cancel.set()
    time.sleep(0.5)
    checks.cancel.clear()
    checks.commands[:] = ["true"]
    checks.start_baseline()  # the stopped one left no result: it runs again
    checks.ready()
    assert checks.baseline is not None and checks.baseline[0].command == "true"
