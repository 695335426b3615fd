"""Shared fixtures: isolation from the developer's machine, real git repos, fixture paths."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point HOME and XDG dirs at a temp dir and drop OPENAI_* so no real config leaks in."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "CODER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")


@pytest.fixture
def fixtures_dir() -> Path:
    """The repository's fixtures/ directory."""
    return FIXTURES


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return stdout (raises on failure)."""
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty git repository with one commit, in a temp dir."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("hello\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


@pytest.fixture
def scripted_server():
    """Factory: `scripted_server(turns_or_json_path)` → a started ScriptedServer.

    Every server it starts is stopped at teardown. The class lives in
    fixtures/scripted_server.py (not a package), so it is loaded by path.
    """
    import importlib.util
    import sys

    module = sys.modules.get("scripted_server")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "scripted_server", FIXTURES / "scripted_server.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["scripted_server"] = module
        spec.loader.exec_module(module)
    servers = []

    def start(turns, port: int = 0):
        server = module.ScriptedServer(turns, port=port).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The textutil fixture as a committed git repository (outside /tmp's sandbox view)."""
    path = tmp_path / "work" / "textutil"
    shutil.copytree(FIXTURES / "repos" / "textutil", path)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


CALC_STUB = "def add(a, b):\n    pass\n\n\ndef sub(a, b):\n    pass\n"
CALC_TESTS = """from calc import add, sub


def test_add():
    assert add(2, 3) == 5


def test_add_negative():
    assert add(-1, 1) == 0


def test_sub():
    assert sub(5, 3) == 2
"""


@pytest.fixture
def calc(tmp_path: Path) -> Path:
    """Two stubbed functions and their three tests, committed (the small profile's candidates)."""
    repo = tmp_path / "work" / "calc"
    repo.mkdir(parents=True)
    (repo / "calc.py").write_text(CALC_STUB)
    (repo / "test_calc.py").write_text(CALC_TESTS)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "stub")
    return repo
