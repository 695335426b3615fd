"""Default check commands for a project, run in the project's own environment.

What kind of project (package.json's test script, go.mod, Cargo.toml, Python tests) picks
the runner; for Python, the project's interpreter and runner are preferred over anything
of coder's, and `detect` says what it chose and why.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

from coder.errors import CoderError
from coder.workspace import Workspace

__all__ = ["detect", "python_check"]

PYTEST_ARGS = "-m pytest -q --tb=short"


def python_check(ws: Workspace, names: set[str]) -> tuple[str, str]:
    """How this project runs its Python tests, in its own environment, and why: the
    repository's virtualenv, the activated one, uv / poetry / hatch / tox / nox where the
    project uses them and the tool is installed, a Makefile `test` target, else python3 on
    PATH. Never coder's own interpreter (a pipx-installed coder lacks the project's deps)."""
    for folder in (".venv", "venv"):
        if (ws.root / folder / "bin" / "python").exists():
            return f"{folder}/bin/python {PYTEST_ARGS}", f"the repository's {folder}"
    active = os.environ.get("VIRTUAL_ENV")
    if active and (Path(active) / "bin" / "python").exists():
        python = shlex.quote(str(Path(active) / "bin" / "python"))
        return f"{python} {PYTEST_ARGS}", f"the activated virtualenv {active}"
    tools = (
        ("uv.lock", "uv", "uv run --frozen --offline pytest -q --tb=short"),
        ("poetry.lock", "poetry", "poetry run pytest -q --tb=short"),
        ("hatch.toml", "hatch", "hatch test"),
        ("tox.ini", "tox", "tox -q"),
        ("noxfile.py", "nox", "nox"),
    )
    for marker, tool, command in tools:
        if marker in names and shutil.which(tool):
            return command, f"{marker} and {tool} on PATH"
    if "Makefile" in names and re.search(r"^test\s*:", _text(ws, "Makefile"), re.M):
        return "make test", "the Makefile's test target"
    if shutil.which("python3"):
        return f"python3 {PYTEST_ARGS}", "python3 on PATH (no project virtualenv found)"
    return f"python {PYTEST_ARGS}", "python on PATH (no project virtualenv found)"


def _text(ws: Workspace, path: str) -> str:
    try:
        return ws.read_text(path)
    except CoderError:
        return ""


def detect(ws: Workspace) -> tuple[list[str], str]:
    """Default check commands for the project, and a short reason for the choice."""
    files = ws.list_files()
    names = set(files)
    basenames = {name.rsplit("/", 1)[-1] for name in files}
    if "package.json" in names:
        try:
            scripts = json.loads(ws.read_text("package.json")).get("scripts", {})
        except (json.JSONDecodeError, AttributeError):
            scripts = {}
        test = scripts.get("test", "") if isinstance(scripts, dict) else ""
        if test and "no test specified" not in test:
            return ["npm test"], "package.json has a test script"
    if "go.mod" in names:
        return ["go test ./..."], "go.mod found"
    if "Cargo.toml" in names:
        return ["cargo test"], "Cargo.toml found"
    python_tests = [
        name
        for name in files
        if re.search(r"(^|/)(test_[^/]*|[^/]*_test)\.py$", name) or name.startswith("tests/")
    ]
    if python_tests or basenames & {"pytest.ini", "conftest.py"}:
        command, why = python_check(ws, names)
        return [command], f"Python tests found; {why}"
    return [], "no test suite detected"
