"""apply_patch against real files: placement outcomes, transactions, file operations."""

from __future__ import annotations

import os
import random
import re
import resource
import signal
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


def test_path_through_symlink_leading_out_of_repo_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("a\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "link").symlink_to(outside)
    diff = "--- a/link/secret.txt\n+++ b/link/secret.txt\n@@ -1 +1 @@\n-a\n+b\n"
    result = apply_patch(diff, Workspace(root))
    assert not result.ok and "outside the repository" in result.hunks[0].reason
    assert (outside / "secret.txt").read_text() == "a\n"


def test_symlink_inside_repo_is_not_patched_through(tmp_path: Path) -> None:
    ws = make(tmp_path, {"real.txt": "a\n"})
    (tmp_path / "alias.txt").symlink_to(tmp_path / "real.txt")
    result = apply_patch("--- a/alias.txt\n+++ b/alias.txt\n@@ -1 +1 @@\n-a\n+b\n", ws)
    assert not result.ok and "symbolic link" in result.hunks[0].reason
    assert (tmp_path / "alias.txt").is_symlink()


def test_new_file_gets_ordinary_permissions(tmp_path: Path) -> None:
    ws = make(tmp_path, {})
    apply_patch(unified_diff("made.txt", None, "x\n"), ws)
    assert (tmp_path / "made.txt").stat().st_mode & 0o777 == 0o644


def test_rename_hunk_can_be_left_unselected(tmp_path: Path) -> None:
    ws = make(tmp_path, {"old.txt": "same\n", "a.txt": LINES})
    diff = (
        "diff --git a/old.txt b/new.txt\nsimilarity index 100%\nrename from old.txt\n"
        "rename to new.txt\n" + unified_diff("a.txt", LINES, LINES + "end\n")
    )
    assert [h.kind for h in parse_patch(diff).hunks] == ["rename", "change"]
    result = apply_patch(diff, ws, select=[1])
    assert [h.status for h in result.hunks] == ["skipped", "exact"]
    assert (tmp_path / "old.txt").exists() and not (tmp_path / "new.txt").exists()


def test_crlf_diff_of_crlf_file_applies_byte_exact(tmp_path: Path) -> None:
    old = "one\r\ntwo\r\nthree\r\n"
    new = "one\r\n2\r\nthree\r\n"
    ws = make(tmp_path, {"w.txt": old.encode()})
    result = apply_patch(unified_diff("w.txt", old, new), ws)
    assert result.ok and (tmp_path / "w.txt").read_bytes() == new.encode()


def test_whitespace_hunk_reindents_added_lines_to_the_file(tmp_path: Path) -> None:
    text = "class A:\n    def f(self):\n        return 1\n"
    ws = make(tmp_path, {"a.py": text})
    diff = (
        "--- a/a.py\n+++ b/a.py\n@@ -2,2 +2,3 @@\n"
        " def f(self):\n-    return 1\n+    x = 1\n+    return x\n"
    )
    result = apply_patch(diff, ws)
    assert result.hunks[0].status == "whitespace"
    assert (tmp_path / "a.py").read_text() == (
        "class A:\n    def f(self):\n        x = 1\n        return x\n"
    )


def test_unified_diff_marks_missing_final_newlines_and_file_creation() -> None:
    text = unified_diff("n.txt", "a\nb", "a\nc")
    assert text.count("\\ No newline at end of file") == 2
    created = unified_diff("new.txt", None, "x\n")
    assert "new file mode" in created and "--- /dev/null" in created
    assert unified_diff("same.txt", "x\n", "x\n") == ""


def test_unified_diff_output_applies_back_for_every_edit_shape(tmp_path: Path) -> None:
    cases = [("", "a\n"), ("a\n", ""), ("a\nb", "a\nb\n"), ("x\r\ny\r\n", "x\r\nz\r\n")]
    for number, (old, new) in enumerate(cases):
        name = f"f{number}.txt"
        ws = make(tmp_path, {name: old})
        assert apply_patch(unified_diff(name, old, new), ws).ok, (old, new)
        assert (tmp_path / name).read_bytes() == new.encode(), (old, new)


def test_a_file_where_a_folder_is_needed_rejects_the_patch_before_writing(tmp_path: Path) -> None:
    ws = make(tmp_path, {"a.txt": LINES, "blocker": "a file, not a folder\n"})
    diff = unified_diff("a.txt", LINES, LINES + "more\n") + unified_diff(
        "blocker/new.txt", None, "x\n"
    )
    result = apply_patch(diff, ws)
    assert not result.ok and "not a directory: blocker" in result.feedback()
    assert (tmp_path / "a.txt").read_text() == LINES
    assert (tmp_path / "blocker").read_text() == "a file, not a folder\n"


def test_failed_write_puts_back_files_already_written(tmp_path: Path) -> None:
    """A real write failure (EFBIG past RLIMIT_FSIZE) on the second file of a patch."""
    ws = make(tmp_path, {"a.txt": LINES, "b.txt": LINES})
    big = "x" * 200_000 + "\n"
    diff = unified_diff("a.txt", LINES, LINES + "more\n") + unified_diff(
        "b.txt", LINES, LINES + big
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, hard))
    try:
        with pytest.raises(PatchError, match="could not write b.txt"):
            apply_patch(diff, ws)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert (tmp_path / "a.txt").read_text() == LINES
    assert (tmp_path / "b.txt").read_text() == LINES
    assert [p.name for p in tmp_path.iterdir() if "coder-tmp" in p.name] == []


def test_random_edits_round_trip_and_shifted_numbers_never_misapply(tmp_path: Path) -> None:
    rng = random.Random(3)
    vocab = ["a", "b", "c", "", "x = 1", "return"]
    misapplied = []
    for case in range(200):
        old_lines = [rng.choice(vocab) for _ in range(rng.randint(0, 30))]
        new_lines = list(old_lines)
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(new_lines))
            if rng.random() < 0.5 or at == len(new_lines):
                new_lines.insert(at, rng.choice(vocab) + "!")
            else:
                del new_lines[at]
        old = "\n".join(old_lines) + ("\n" if old_lines and rng.random() < 0.8 else "")
        new = "\n".join(new_lines) + ("\n" if new_lines and rng.random() < 0.8 else "")
        diff = unified_diff("f.txt", old, new)
        k = rng.choice([-2, -1, 1, 2])
        shifted = re.sub(
            r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@",
            lambda m, k=k: f"@@ -{max(int(m[1]) + k, 1)}{m[2] or ''} +{int(m[3])}{m[4] or ''} @@",
            diff,
            flags=re.M,
        )
        for name, text in (("exact", diff), ("shifted", shifted)):
            (tmp_path / "f.txt").write_text(old)
            result = apply_patch(text, Workspace(tmp_path))
            got = (tmp_path / "f.txt").read_text()
            if name == "exact":
                assert result.ok and got == new, (old, new, result.feedback())
            elif not (result.ok and got == new) and not (not result.ok and got == old):
                misapplied.append((case, old, new))
    assert misapplied == []
