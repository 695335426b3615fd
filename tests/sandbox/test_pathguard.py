"""One path guard for every file tool, `search`, the diff engine and the repo map: no symlink
leads out of the repository (dangling, chained or through a parent directory), protected
and secret paths are refused, and a racing directory-to-symlink swap never writes outside."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from coder.checks import CheckRunner
from coder.conversation import ToolCall
from coder.diff import apply_patch, unified_diff
from coder.repomap import RepoMap
from coder.tools import AutoApprover, ToolContext, ToolRegistry, all_tools, registry
from coder.workspace import Workspace
from tests.conftest import git

SECRET = "the outside secret 7f3a"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "id.py").write_text(f"SECRET = '{SECRET}'\ndef leaked():\n    return SECRET\n")
    return folder


def dispatch(ws: Workspace, tool: str, **arguments: object) -> tuple[bool, str]:
    tools = ToolRegistry(all_tools())
    ctx = ToolContext(
        ws=ws, approver=AutoApprover(), checks=CheckRunner(ws, []), repo_map=RepoMap(ws)
    )
    outcome = tools.dispatch(ctx, ToolCall("c1", tool, arguments))
    return outcome.ok, outcome.text


def escapes(git_repo: Path, outside: Path) -> dict[str, str]:
    """Every way a name in the repository can lead outside it."""
    (git_repo / "direct.py").symlink_to(outside / "id.py")
    (git_repo / "parent").symlink_to(outside)
    (git_repo / "relative.py").symlink_to(Path("..") / outside.name / "id.py")
    (git_repo / "sub").mkdir()
    (git_repo / "sub" / "chain.py").symlink_to(Path("..") / "direct.py")
    (git_repo / "dangling.py").symlink_to(outside / "not-yet.py")
    return {
        "direct.py": "symlink to a file outside",
        "parent/id.py": "symlinked parent directory",
        "relative.py": "relative symlink climbing out",
        "sub/chain.py": "symlink to a symlink that leads out",
        "dangling.py": "dangling symlink pointing outside",
    }


def test_read_file_never_follows_a_link_out(git_repo: Path, outside: Path) -> None:
    ws = Workspace(git_repo)
    for path, why in escapes(git_repo, outside).items():
        ok, text = dispatch(ws, "read_file", path=path)
        assert not ok and SECRET not in text, why


def test_search_and_the_repo_map_never_show_outside_content(git_repo: Path, outside: Path) -> None:
    escapes(git_repo, outside)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "links")
    ws = Workspace(git_repo)
    ok, text = dispatch(ws, "search", query="outside secret")
    assert SECRET not in text
    assert "leaked" not in RepoMap(ws).render(4096)
    ok, text = dispatch(ws, "find_symbol", name="leaked")
    assert SECRET not in text and "id.py" not in text


def test_writes_never_land_outside(git_repo: Path, outside: Path) -> None:
    ws = Workspace(git_repo)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    for path, why in escapes(git_repo, outside).items():
        ok, _ = dispatch(ws, "write_file", path=path, content="overwritten\n")
        assert not ok, why
        result = apply_patch(unified_diff(path, None, "created\n"), ws)
        assert not result.ok, why
    ok, _ = dispatch(ws, "write_file", path="parent/new.py", content="x = 1\n")
    assert not ok
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before


def test_links_that_stay_inside_still_work(git_repo: Path) -> None:
    (git_repo / "real").mkdir()
    (git_repo / "real" / "mod.py").write_text("x = 1\n")
    (git_repo / "alias").symlink_to("real")
    (git_repo / "link.py").symlink_to("real/mod.py")
    ws = Workspace(git_repo)
    assert dispatch(ws, "read_file", path="alias/mod.py")[0]
    tools = registry(("read_file", "write_file"))
    ctx = ToolContext(ws=ws, approver=AutoApprover(), checks=CheckRunner(ws, []))
    assert tools.dispatch(ctx, ToolCall("r", "read_file", {"path": "link.py"})).ok
    written = tools.dispatch(
        ctx, ToolCall("w", "write_file", {"path": "link.py", "content": "x = 2\n"})
    )
    assert written.ok and (git_repo / "real" / "mod.py").read_text() == "x = 2\n"
    assert (git_repo / "link.py").is_symlink()


@pytest.mark.parametrize(
    "path",
    [".git/config", "sub/.git/config", ".GIT/hooks/pre-commit", ".coder.toml", ".coder/state",
     "sub/.coder.toml"],
)  # fmt: skip
def test_protected_paths_are_refused_by_every_file_tool(git_repo: Path, path: str) -> None:
    ws = Workspace(git_repo)
    assert not dispatch(ws, "read_file", path=path)[0]
    assert not dispatch(ws, "write_file", path=path, content="evil\n")[0]
    assert not apply_patch(unified_diff(path, None, "evil\n"), ws).ok
    assert not (git_repo / path).exists() or path.startswith(".git/")


def test_a_link_to_a_protected_path_inside_is_refused(git_repo: Path) -> None:
    (git_repo / "cfg").symlink_to(".git/config")
    (git_repo / "hooks").symlink_to(".git/hooks")
    ws = Workspace(git_repo)
    assert not dispatch(ws, "read_file", path="cfg")[0]
    assert not dispatch(ws, "write_file", path="hooks/pre-commit", content="evil\n")[0]
    assert not (git_repo / ".git" / "hooks" / "pre-commit").exists()


def test_overlong_paths_are_a_tool_error_not_a_crash(git_repo: Path) -> None:
    ws = Workspace(git_repo)
    long_name = "a" * 300 + ".py"
    ok, text = dispatch(ws, "read_file", path=long_name)
    assert not ok and "too long" in text
    result = apply_patch(unified_diff(long_name, None, "x = 1\n"), ws)
    assert not result.ok and "too long" in result.feedback()


def test_racing_directory_to_symlink_swap_never_writes_outside(
    git_repo: Path, outside: Path
) -> None:
    """A thread swaps `box/` for a symlink to outside while 4,000 writes go to box/f.txt."""
    ws = Workspace(git_repo)
    box = git_repo / "box"
    box.mkdir()
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            try:
                shutil.rmtree(box, ignore_errors=True)
                box.symlink_to(outside)
                box.unlink()
                box.mkdir()
            except OSError:
                pass

    racer = threading.Thread(target=swap)
    racer.start()
    try:
        for n in range(4000):
            try:
                ws.write_text("box/f.txt", f"write {n}\n")
            except Exception:  # noqa: BLE001 - refused or raced away: either is fine here
                pass
    finally:
        stop.set()
        racer.join()
    assert sorted(p.name for p in outside.iterdir()) == ["id.py"]
