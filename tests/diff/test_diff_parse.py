"""parse_patch: the tolerant reading of model-written diffs, one quirk per case."""

from __future__ import annotations

import pytest

from coder.diff import parse_patch
from coder.errors import PatchError, UsageError

GIT_DIFF = """diff --git a/src/app.py b/src/app.py
index 3b18e51..a2c1f0e 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,3 +1,3 @@ def main():
 one
-two
+TWO
 three
"""

EXPECTED = [(" ", "one"), ("-", "two"), ("+", "TWO"), (" ", "three")]


def _body(text: str) -> tuple[str, list[tuple[str, str]]]:
    patch = parse_patch(text)
    assert len(patch.hunks) == 1
    return patch.files[0].path, patch.hunks[0].lines


@pytest.mark.parametrize(
    "name, text",
    [
        ("plain git diff", GIT_DIFF),
        ("fenced in markdown with prose", "Fix:\n```diff\n" + GIT_DIFF + "```\nDone.\n"),
        ("no diff --git or index lines", "\n".join(GIT_DIFF.splitlines()[2:]) + "\n"),
        (
            "no a/ b/ prefixes",
            "--- src/app.py\n+++ src/app.py\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n",
        ),
        ("counts too large", GIT_DIFF.replace("@@ -1,3 +1,3 @@", "@@ -1,7 +1,9 @@")),
        ("counts too small", GIT_DIFF.replace("@@ -1,3 +1,3 @@", "@@ -1,2 +1,1 @@")),
        ("no counts at all", GIT_DIFF.replace("@@ -1,3 +1,3 @@", "@@ -1 +1 @@")),
        ("diff sent with CRLF line ends", GIT_DIFF.replace("\n", "\r\n")),
        (
            "timestamps after the paths",
            "--- src/app.py\t2024-01-01 10:00:00\n+++ src/app.py\t2024-01-02 10:00:00\n"
            "@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n",
        ),
        (
            "only a +++ header",
            "+++ src/app.py\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n",
        ),
    ],
)
def test_model_quirks_parse_to_the_same_hunk(name: str, text: str) -> None:
    path, lines = _body(text)
    assert path == "src/app.py", name
    assert lines == EXPECTED, name


@pytest.mark.parametrize("header", ["@@ @@", "@@", "@@ line 12 @@", "@@ ... @@ def main():"])
def test_hunk_header_without_numbers_marks_hunk_as_positionless(header: str) -> None:
    patch = parse_patch(f"--- a/x.py\n+++ b/x.py\n{header}\n a\n-b\n+c\n")
    hunk = patch.hunks[0]
    assert not hunk.has_position and hunk.lines == [(" ", "a"), ("-", "b"), ("+", "c")]
    assert hunk.header.startswith("@@ @@")


def test_blank_line_in_body_is_empty_context_and_trailing_blanks_are_dropped() -> None:
    text = "--- a/x.py\n+++ b/x.py\n@@ -1,9 +1,9 @@\n a\n\n-b\n+c\n\n\n"
    assert parse_patch(text).hunks[0].lines == [(" ", "a"), (" ", ""), ("-", "b"), ("+", "c")]


def test_removed_line_that_looks_like_a_header_is_read_by_counts() -> None:
    text = "--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,2 @@\n--- old comment\n+++ new comment\n x\n"
    assert parse_patch(text).hunks[0].lines == [
        ("-", "-- old comment"),
        ("+", "++ new comment"),
        (" ", "x"),
    ]


def test_crlf_file_content_keeps_its_carriage_returns() -> None:
    text = "--- a/w.txt\n+++ b/w.txt\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n"
    assert parse_patch(text).hunks[0].lines == [(" ", "a\r"), ("-", "b\r"), ("+", "c\r")]


def test_no_newline_marker_is_recorded_per_side() -> None:
    text = "--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
    hunk = parse_patch(text).hunks[0]
    assert hunk.old_no_eol and not hunk.new_no_eol
    assert "\\ No newline at end of file" in hunk.text()


def test_multi_file_hunks_are_flat_in_diff_order() -> None:
    two = GIT_DIFF + GIT_DIFF.replace("src/app.py", "src/other.py")
    patch = parse_patch(two)
    assert [f.path for f in patch.files] == ["src/app.py", "src/other.py"]
    assert [h.path for h in patch.hunks] == ["src/app.py", "src/other.py"]


def test_new_deleted_and_renamed_files_are_recognised() -> None:
    text = (
        "diff --git a/new.py b/new.py\nnew file mode 100755\n--- /dev/null\n+++ b/new.py\n"
        "@@ -0,0 +1 @@\n+hi\n"
        "diff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n"
        "@@ -1 +0,0 @@\n-bye\n"
        "diff --git a/old.py b/moved.py\nsimilarity index 100%\nrename from old.py\n"
        "rename to moved.py\n"
    )
    new, gone, moved = parse_patch(text).files
    assert new.is_new and new.path == "new.py" and new.new_mode == "100755"
    assert gone.is_deleted and gone.path == "gone.py"
    assert moved.is_rename and (moved.source_path, moved.path) == ("old.py", "moved.py")
    assert moved.hunks[0].kind == "rename"


def test_mode_change_without_content_gets_a_selectable_hunk() -> None:
    text = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
    fp = parse_patch(text).files[0]
    assert (fp.old_mode, fp.new_mode) == ("100644", "100755")
    assert [h.kind for h in fp.hunks] == ["mode"]


def test_binary_diff_is_parsed_as_binary() -> None:
    text = (
        "diff --git a/img.png b/img.png\nindex 1..2 100644\n"
        "Binary files a/img.png and b/img.png differ\n"
    )
    fp = parse_patch(text).files[0]
    assert fp.is_binary and fp.hunks[0].kind == "binary"


def test_quoted_paths_with_spaces_are_unquoted() -> None:
    text = '--- "a/my file.txt"\n+++ "b/my file.txt"\n@@ -1 +1 @@\n-a\n+b\n'
    assert parse_patch(text).files[0].path == "my file.txt"


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "Please change the greeting to hello.", "@@ -1 +1 @@\n-a\n+b\n"],
)
def test_text_without_a_usable_diff_raises_a_usage_level_patch_error(text: str) -> None:
    with pytest.raises(PatchError) as info:
        parse_patch(text)
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2


def test_hunk_text_round_trips_through_parse() -> None:
    hunk = parse_patch(GIT_DIFF).hunks[0]
    again = parse_patch("--- a/src/app.py\n+++ b/src/app.py\n" + hunk.text()).hunks[0]
    assert again.lines == hunk.lines and hunk.header.startswith("@@ -1,3 +1,3 @@")


def test_counts_too_large_do_not_swallow_the_next_files_header() -> None:
    text = (
        "--- a/one.txt\n+++ b/one.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n"
        "--- a/two.txt\n+++ b/two.txt\n@@ -1,2 +1,2 @@\n-x\n+y\n z\n"
    )
    patch = parse_patch(text)
    assert [f.path for f in patch.files] == ["one.txt", "two.txt"]
    assert patch.hunks[0].lines == [(" ", "a"), ("-", "b"), ("+", "c")]


def test_context_line_missing_its_leading_space_is_kept_when_counts_say_so() -> None:
    text = "--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\ndef f():\n-    return 1\n+    return 2\n \n"
    assert parse_patch(text).hunks[0].lines == [
        (" ", "def f():"),
        ("-", "    return 1"),
        ("+", "    return 2"),
        (" ", ""),
    ]
