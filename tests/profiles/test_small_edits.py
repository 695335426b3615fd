"""The small model's code blocks become whole-file writes: merging, targeting, diffing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from coder.profiles.small.edits import edits_from_text, file_diff, infer_target, merge_python

STACK = '''"""A stack."""


class Stack:
    def __init__(self):
        self._items = []

    def pop(self):
        return self._items.pop()
'''

MATH = '''"""Helpers."""

from functools import reduce

RATE = 20


def sum_to(n):
    return sum(range(1, n))


def product_to(n):
    return reduce(lambda a, b: a * b, range(1, n + 1), 1)
'''


def test_a_fixed_function_replaces_only_that_function() -> None:
    merged = merge_python(MATH, "def sum_to(n):\n    return sum(range(1, n + 1))\n")
    assert merged == MATH.replace("range(1, n))", "range(1, n + 1))")


def test_a_method_alone_is_added_to_its_only_class() -> None:
    block = "    def peek(self):\n        return self._items[-1]\n"
    merged = merge_python(STACK, block)
    assert merged is not None
    assert merged.endswith(
        "        return self._items.pop()\n\n    def peek(self):\n        return self._items[-1]\n"
    )


def test_a_partial_class_keeps_the_methods_it_does_not_mention() -> None:
    block = "class Stack:\n    def pop(self):\n"
    block += "        return self._items.pop() if self._items else None\n"
    merged = merge_python(STACK, block)
    assert merged is not None
    assert "def __init__(self):" in merged
    assert "if self._items else None" in merged


def test_new_functions_and_imports_are_added_and_constants_replaced() -> None:
    block = "import math\n\nRATE = 0.2\n\n\ndef area(r):\n    return math.pi * r * r\n"
    merged = merge_python(MATH, block)
    assert merged is not None
    assert merged.index("import math") < merged.index("RATE = 0.2") < merged.index("def area")
    assert "RATE = 20" not in merged
    compile(merged, "m.py", "exec")


def test_new_constants_go_before_the_code_and_example_calls_are_left_out() -> None:
    stub = "\nclass Board:\n    def __init__(self, board):\n        pass\n"
    answer = (
        "Add these to the `board.py` file:\n\n```python\nWHITE = 'W'\nBLACK = 'B'\n```\n\n"
        "The corrected file is:\n\n```python\nclass Board:\n    def __init__(self, board):\n"
        "        self.board = board\n\n\nboard = Board([' B '])\nSIZE = len(board.board)\n```\n"
    )
    edits, _ = edits_from_text(answer, {"board.py": stub}.get, ["board.py"])

    assert [edit.path for edit in edits] == ["board.py"]
    merged = edits[0].content
    assert merged.startswith("WHITE = 'W'\nBLACK = 'B'\n\n\nclass Board:")
    assert "self.board = board" in merged
    assert "board = Board(" not in merged and "SIZE" not in merged  # not literals: left out
    namespace: dict[str, object] = {}
    exec(compile(merged, "board.py", "exec"), namespace)
    assert namespace["WHITE"] == "W"


def test_echoed_tests_and_self_imports_are_not_merged_into_the_source() -> None:
    block = "from mathutils import sum_to\n\n\ndef test_sum():\n    assert sum_to(5) == 15\n"
    assert merge_python(MATH.replace("from functools import reduce", ""), block) is not None
    merged = merge_python("def sum_to(n):\n    return n\n", block)
    assert merged == "def sum_to(n):\n    return n\n"


def test_code_that_is_not_python_is_not_merged() -> None:
    assert merge_python(MATH, "def broken(:\n") is None


@pytest.mark.parametrize(
    ("answer", "expected_path"),
    [
        ("Fix:\nmathutils.py\n```python\ndef sum_to(n):\n    return 0\n```", "mathutils.py"),
        ("Fix:\n`pkg/other.py`:\n```python\ndef sum_to(n):\n    return 0\n```", "pkg/other.py"),
        ("The fix:\n```python\ndef sum_to(n):\n    return 0\n```", "mathutils.py"),
        ("src/calc.py\n```python\ndef sum_to(n):\n    return 0\n```", "mathutils.py"),
        ("```python\n# mathutils.py\ndef sum_to(n):\n    return 0\n```", "mathutils.py"),
    ],
    ids=["path-line", "quoted-path", "inferred", "made-up-path", "comment-path"],
)
def test_the_target_file_comes_from_the_answer_or_from_the_names(
    answer: str, expected_path: str
) -> None:
    files = {"mathutils.py": MATH, "pkg/other.py": MATH, "tests/test_m.py": "def test(): pass\n"}
    sources = ["mathutils.py", "tests/test_m.py"]
    edits, _ = edits_from_text(answer, files.get, sources)
    assert [edit.path for edit in edits] == [expected_path]
    assert "return 0" in edits[0].content


def test_two_blocks_for_one_file_become_one_edit_with_both_changes() -> None:
    answer = (
        "mathutils.py\n```python\ndef sum_to(n):\n    return 1\n```\n"
        "and\nmathutils.py\n```python\ndef product_to(n):\n    return 2\n```\n"
    )
    edits, _ = edits_from_text(answer, {"mathutils.py": MATH}.get, ["mathutils.py"])
    assert len(edits) == 1
    assert "return 1" in edits[0].content and "return 2" in edits[0].content


def test_write_file_tags_give_the_whole_file_and_json_calls_survive() -> None:
    answer = (
        '<write_file path="new.py">\n```python\nX = 1\n```\n</write_file>\n'
        '```json\n{"name": "finish", "arguments": {"summary": "ok"}}\n```'
    )
    edits, rest = edits_from_text(answer, {}.get, [])
    assert [(e.path, e.content) for e in edits] == [("new.py", "X = 1\n")]
    assert '"finish"' in rest


def test_an_ambiguous_block_is_not_applied_anywhere() -> None:
    files = {"a.py": "def f():\n    pass\n", "b.py": "def f():\n    pass\n"}
    assert infer_target("def f():\n    return 1\n", list(files), files.get) is None


def test_file_diff_applies_with_git_apply(git_repo: Path) -> None:
    (git_repo / "m.py").write_text(MATH)
    new = MATH.replace("range(1, n))", "range(1, n + 1))")
    diff = file_diff("m.py", MATH, new) + file_diff("new.py", None, "A = 1\n")
    subprocess.run(["git", "apply", "-"], input=diff, text=True, cwd=git_repo, check=True)
    assert (git_repo / "m.py").read_text() == new
    assert (git_repo / "new.py").read_text() == "A = 1\n"


def test_a_dotted_module_name_means_the_source_file() -> None:
    files = {"shop/pricing.py": "def with_tax(net):\n    return net * 21\n", "shop/a.py": ""}
    answer = "shop.pricing.py\n```python\ndef discount(net):\n    return net * 0.9\n```"
    edits, _ = edits_from_text(answer, files.get, sorted(files))
    assert [e.path for e in edits] == ["shop/pricing.py"]
    assert "return net * 21" in edits[0].content and "def discount(net)" in edits[0].content


def test_a_new_file_needs_code_that_defines_something() -> None:
    stray = "notes.py\n```python\nshop/pricing.py\n```"
    assert edits_from_text(stray, {}.get, [])[0] == []
    real = "notes.py\n```python\nRATE = 20\n```"
    assert [e.path for e in edits_from_text(real, {}.get, [])[0]] == ["notes.py"]
