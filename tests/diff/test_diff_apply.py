"""apply_patch against real files: placement outcomes, transactions, file operations."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from coder.diff import apply_patch, parse_patch, unified_diff
from coder.errors import PatchError
from coder.workspace import Workspace

LINES = "".join(f"line {n}\n" for n in range(1, 21))


def make(tmp_path: Path, files: dict[str, str | bytes]) -> Workspace:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(data)
    return Workspace(tmp_path)


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_exact_hunk_applies_and_reports_exact(tmp_path: Path) -> None:
    ws = make(tmp_path, {"a.txt": LINES})
    new = edit(LINES, "line 5\n", "line five\n")
    result = apply_patch(unified_diff("a.txt", LINES, new), ws)
    assert result.ok and [h.status for h in result.hunks] == ["exact"]
    assert (tmp_path / "a.txt").read_text() == new
    assert result.written == ["a.txt"]


def test_wrong_line_numbers_apply_at_offset(tmp_path: Path) -> None:
    ws = make(tmp_path, {"a.txt": LINES})
    new = edit(LINES, "line 12\n", "line twelve\n")
    diff = unified_diff("a.txt", LINES, new).replace("@@ -9,7 +9,7 @@", "@@ -3,7 +3,7 @@")
    result = apply_patch(diff, ws)
    assert [(h.status, h.offset) for h in result.hunks] == [("offset", 6)]
    assert (tmp_path / "a.txt").read_text() == new


def test_later_hunk_uses_earlier_hunks_offset(tmp_path: Path) -> None:
    text = "".join(f"x{n % 3}\n" for n in range(30))
    ws = make(tmp_path, {"a.txt": "head\n" * 5 + text})
    diff = (
        "--- a/a.txt\n+++ b/a.txt\n"
        "@@ -1,3 +1,3 @@\n x0\n-x1\n+ONE\n x2\n"
        "@@ -4,3 +4,3 @@\n x0\n-x1\n+TWO\n x2\n"
    )
    result = apply_patch(diff, ws)
    assert [(h.status, h.offset) for h in result.hunks] == [("offset", 5), ("offset", 5)]
    lines = (tmp_path / "a.txt").read_text().splitlines()
    assert lines[5:12] == ["x0", "ONE", "x2", "x0", "TWO", "x2", "x0"]


def test_multi_file_patch_applies_to_every_file(tmp_path: Path) -> None:
    ws = make(tmp_path, {"a.txt": LINES, "sub/b.txt": LINES})
    new_a = edit(LINES, "line 1\n", "first\n")
    new_b = edit(LINES, "line 20\n", "last\n")
    diff = unified_diff("a.txt", LINES, new_a) + unified_diff("sub/b.txt", LINES, new_b)
    result = apply_patch(diff, ws)
    assert result.ok and sorted(result.written) == ["a.txt", "sub/b.txt"]
    assert (tmp_path / "a.txt").read_text() == new_a
    assert (tmp_path / "sub/b.txt").read_text() == new_b


def test_one_rejected_hunk_leaves_every_file_byte_identical(tmp_path: Path) -> None:
    ws = make(tmp_path, {"a.txt": LINES, "b.txt": LINES})
    good = unified_diff("a.txt", LINES, edit(LINES, "line 1\n", "first\n"))
    bad = unified_diff("b.txt", LINES.replace("line 7", "seven"), LINES.replace("line 7", "7"))
    result = apply_patch(good + bad, ws)
    assert not result.ok and result.written == []
    assert [h.status for h in result.hunks] == ["exact", "rejected"]
    assert (tmp_path / "a.txt").read_text() == LINES
    assert (tmp_path / "b.txt").read_text() == LINES


def test_check_mode_writes_nothing_but_reports(tmp_path: Path) -> None:
    ws = make(tmp_path, {"a.txt": LINES})
    result = apply_patch(unified_diff("a.txt", LINES, LINES + "more\n"), ws, check=True)
    assert result.ok and result.written == [] and result.hunks[0].status == "exact"
    assert (tmp_path / "a.txt").read_text() == LINES


def test_selected_hunks_only_are_applied(tmp_path: Path) -> None:
    ws = make(tmp_path, {"a.txt": LINES})
    new = edit(edit(LINES, "line 2\n", "two\n"), "line 18\n", "eighteen\n")
    diff = unified_diff("a.txt", LINES, new)
    assert len(parse_patch(diff).hunks) == 2
    result = apply_patch(diff, ws, select={1})
    assert [h.status for h in result.hunks] == ["skipped", "exact"]
    assert (tmp_path / "a.txt").read_text() == edit(LINES, "line 18\n", "eighteen\n")


def test_new_file_is_created_and_deleted_file_removed(tmp_path: Path) -> None:
    ws = make(tmp_path, {"old.txt": LINES})
    diff = unified_diff("new/made.txt", None, "hello\n") + unified_diff("old.txt", LINES, None)
    result = apply_patch(diff, ws)
    assert result.ok
    assert (tmp_path / "new/made.txt").read_text() == "hello\n"
    assert not (tmp_path / "old.txt").exists()


def test_rejected_hunk_feedback_quotes_current_numbered_lines(tmp_path: Path) -> None:
    ws = make(tmp_path, {"a.txt": LINES})
    diff = "--- a/a.txt\n+++ b/a.txt\n@@ -10,3 +10,3 @@\n line 9\n-line ten\n+line 10!\n line 11\n"
    result = apply_patch(diff, ws)
    text = result.feedback()
    assert "rejected" in text and "nothing was written" in text
    assert "10 | line 10" in text and "11 | line 11" in text


def test_garbage_raises_patch_error(tmp_path: Path) -> None:
    with pytest.raises(PatchError):
        apply_patch("I think you should change line 3.", make(tmp_path, {}))


def test_executable_mode_is_kept(tmp_path: Path) -> None:
    ws = make(tmp_path, {"run.sh": "#!/bin/sh\necho hi\n"})
    os.chmod(tmp_path / "run.sh", 0o755)
    apply_patch(unified_diff("run.sh", "#!/bin/sh\necho hi\n", "#!/bin/sh\necho bye\n"), ws)
    assert (tmp_path / "run.sh").stat().st_mode & 0o777 == 0o755


def test_unified_diff_round_trips_through_git_apply(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    old, new = "a\nb\nc", "a\nB\nc\nd\n"
    (tmp_path / "f.txt").write_text(old)
    (tmp_path / "p.diff").write_text(unified_diff("f.txt", old, new))
    subprocess.run(["git", "apply", "p.diff"], cwd=tmp_path, check=True)
    assert (tmp_path / "f.txt").read_text() == new
