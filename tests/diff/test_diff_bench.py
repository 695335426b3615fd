"""bench/diff_apply.py end to end on a small real git history made here."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = "".join(f"def f{n}(x):\n    return x + {n}\n\n\n" for n in range(40))


def commit(repo: Path, files: dict[str, str | None], message: str) -> None:
    for name, text in files.items():
        if text is None:
            (repo / name).unlink()
        else:
            (repo / name).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True)


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed")
def test_bench_reports_every_tool_and_variant_with_no_coder_misapplication(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    commit(repo, {"m.py": BASE}, "base")
    text = BASE.replace("x + 3\n", "x + 33\n").replace("x + 30\n", "x * 30\n")
    commit(repo, {"m.py": text}, "two hunks")
    commit(repo, {"m.py": text.replace("def f10", "def g10"), "n.py": "N = 1\n"}, "two files")
    commit(repo, {"n.py": None}, "delete")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "diff_apply.py"), str(repo), "3", "--cli-every", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split() for line in proc.stdout.splitlines() if line.split()[1:2] == ["3"]]
    table = {(r[0], r[2]): (int(r[3]), int(r[4]), int(r[5])) for r in rows}
    assert len(table) == 15, proc.stdout
    for variant in ("exact", "shifted", "counts", "headers", "nonumbers"):
        assert table[(variant, "coder")] == (3, 0, 0), proc.stdout
    assert table[("exact", "git")] == (3, 0, 0)
    assert "CLI agreed with the library on 15/15 diffs" in proc.stdout
