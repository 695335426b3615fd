"""`coder apply` as a user runs it: a real subprocess, exit codes, --check, stdin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LINES = "".join(f"line {n}\n" for n in range(1, 11))
GOOD = "--- a/a.txt\n+++ b/a.txt\n@@ -4,3 +4,3 @@\n line 4\n-line 5\n+line five\n line 6\n"
BAD = "--- a/a.txt\n+++ b/a.txt\n@@ -4,3 +4,3 @@\n line 4\n-line fifty\n+line five\n line 6\n"


def coder(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coder", *args], input=stdin, capture_output=True, text=True, cwd=cwd
    )


def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.txt").write_text(LINES)
    return root


def test_apply_from_file_exits_0_and_prints_each_hunk(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (tmp_path / "p.diff").write_text(GOOD)
    proc = coder("apply", str(tmp_path / "p.diff"), "--repo", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "hunk 1 @@ -4,3 +4,3 @@: exact" in proc.stdout
    assert (root / "a.txt").read_text() == LINES.replace("line 5\n", "line five\n")


def test_apply_from_stdin_in_current_directory(tmp_path: Path) -> None:
    root = repo(tmp_path)
    proc = coder("apply", "-", stdin=GOOD, cwd=root)
    assert proc.returncode == 0 and "line five" in (root / "a.txt").read_text()


def test_check_reports_without_writing(tmp_path: Path) -> None:
    root = repo(tmp_path)
    proc = coder("apply", "-", "--check", "--repo", str(root), stdin=GOOD)
    assert proc.returncode == 0 and "nothing was written" in proc.stdout
    assert (root / "a.txt").read_text() == LINES


def test_rejected_hunk_exits_1_quotes_current_lines_and_writes_nothing(tmp_path: Path) -> None:
    root = repo(tmp_path)
    proc = coder("apply", "-", "--repo", str(root), stdin=BAD)
    assert proc.returncode == 1
    assert "rejected" in proc.stdout and "5 | line 5" in proc.stdout
    assert (root / "a.txt").read_text() == LINES


def test_unparseable_patch_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = coder("apply", "-", "--repo", str(repo(tmp_path)), stdin="just some words\n")
    assert proc.returncode == 2
    assert proc.stderr.startswith("coder: error:") and "Traceback" not in proc.stderr


def test_missing_patch_file_exits_2(tmp_path: Path) -> None:
    proc = coder("apply", str(tmp_path / "nope.diff"), "--repo", str(repo(tmp_path)))
    assert proc.returncode == 2 and "cannot read patch" in proc.stderr
