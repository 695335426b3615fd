"""The spec a small model is shown: a long test file condensed to its imports, the names it
uses and a spread of its asserts; failures as the failing test's own source.

No weights needed: pure functions over test text, and real pytest runs for the failures.
"""

from __future__ import annotations

from pathlib import Path

from coder import prompts
from coder.checks import run_check
from coder.profiles.small.context import repo_context
from coder.profiles.small.failures import focused
from coder.profiles.small.spec import (
    condense,
    importing_tests,
    missing_names,
    sources_of_tests,
    stubbed,
)
from coder.workspace import Workspace
from tests.profiles.conftest import small_profile

MANY = "\n".join(
    f"    def test_add_{n}(self):\n        self.assertEqual(add({n}, 1), {n + 1})\n"
    for n in range(100)
)
TESTS = f"""import unittest

from calc import add, Calculator


class CalcTest(unittest.TestCase):
{MANY}
    def test_memory_is_kept(self):
        calc = Calculator()
        calc.store(5)
        self.assertIs(calc.recall(), 5)

    def test_bad_input_says_why(self):
        with self.assertRaises(ValueError) as err:
            add("a", 1)
        self.assertEqual(err.exception.args[0], "numbers only")

    def helper_total(self, values):
        return sum(add(v, 0) for v in values)
"""


def test_a_long_test_file_is_condensed_to_plain_asserts_within_the_budget() -> None:
    condensed = condense(TESTS, 1200)

    assert len(condensed) <= 1200 < len(TESTS)
    assert "Imports: from calc import add, Calculator" in condensed
    assert "import unittest" not in condensed and "```" not in condensed  # a list, not a file
    assert "\n- add(0, 1) == 1\n" in condensed  # unittest asserts as plain comparisons
    assert "self." not in condensed
    # the late tests are chosen for what no earlier test uses: another method, an error
    assert "\n- calc = Calculator()\n  calc.store(5)\n  calc.recall() is 5\n" in condensed
    assert "\n- with raises(ValueError) as err:\n      add('a', 1)\n" in condensed
    assert "\n  err.exception.args[0] == 'numbers only'" in condensed
    assert "    def helper_total(values):" in condensed  # helpers the tests call, self dropped
    assert "Names the tests use: .recall, .store, Calculator, add" in condensed
    assert "What the tests check (102 tests):" in condensed
    assert "more like these" in condensed


def test_the_rest_of_the_budget_is_spread_through_the_file_not_its_head() -> None:
    condensed = condense(TESTS, 1500)
    shown = [n for n in range(100) if f"- add({n}, 1) == {n + 1}\n" in condensed]

    assert 5 < len(shown) < 100
    assert max(shown) >= 75  # not only the first tests in the file


def test_tests_are_matched_to_sources_by_their_imports() -> None:
    other = "from textutil import slugify\n\ndef test_x():\n    assert slugify('A') == 'a'\n"
    found = importing_tests(["src/calc.py"], {"calc_test.py": TESTS, "test_text.py": other})

    assert found == ["calc_test.py"]
    assert importing_tests(["pkg/__init__.py"], {"t.py": "from pkg import f\n"}) == ["t.py"]


def test_the_test_source_is_found_by_name_and_dedented() -> None:
    source = sources_of_tests(TESTS).get("test_memory_is_kept")

    assert source is not None and source.startswith("def test_memory_is_kept(self):")
    assert "\n    calc = Calculator()\n" in source
    assert "test_missing" not in sources_of_tests(TESTS)


def test_the_context_condenses_a_test_too_long_to_show_and_shows_short_ones_whole(
    tmp_path: Path,
) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    pass\n")
    (tmp_path / "calc_test.py").write_text(TESTS)
    (tmp_path / "test_short.py").write_text(
        "from calc import add\n\n\ndef test_one():\n    assert add(1, 1) == 2\n"
    )

    context = repo_context(Workspace(tmp_path), "implement add")

    assert "calc_test.py (a test: never change it), in short:" in context
    assert "- add(99, 1) == 100" in context or "more like these" in context
    assert "def test_one():\n    assert add(1, 1) == 2" in context  # short: whole
    assert "def add(a, b):\n    pass" in context


def test_names_the_tests_import_that_the_source_lacks_are_found() -> None:
    stub = "class Board:\n    pass\n\nif True:\n    EMPTY = ' '\n"
    test = (
        "import unittest\nfrom go.board import Board, WHITE, EMPTY, BLACK\nimport board as b\n\n"
        "class T(unittest.TestCase):\n    def test(self):\n"
        "        assert b.Board is b.NONE and b.WHITE\n"
    )

    assert missing_names("go/board.py", stub, [test]) == ["WHITE", "BLACK", "NONE"]
    assert missing_names("go/board.py", stub, [test, "import board\nboard.SIZE\n"]) == [
        "WHITE",
        "BLACK",
        "NONE",
        "SIZE",
    ]  # over every test, each name once
    assert missing_names("go/board.py", stub, ["from board import (\n"]) == []  # broken test
    assert missing_names("go/other.py", stub, [test]) == []  # another module's names
    assert missing_names("board.py", "from shapes import *\n", [test]) == []  # unknowable
    assert missing_names("board.py", "def __getattr__(name):\n    return 1\n", [test]) == []
    assert missing_names("board.py", "class Board(:\n", [test]) == []  # does not parse


def test_the_context_names_what_the_tests_import_and_the_stub_lacks(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    pass\n")
    (tmp_path / "calc_test.py").write_text(TESTS.replace("add, Calculator", "add, Calculator, PI"))

    context = repo_context(Workspace(tmp_path), "implement add")

    last = context.rstrip().splitlines()[-1]
    assert (
        last == "The tests import `Calculator`, `PI` from calc.py, which does not define them yet."
    )
    (tmp_path / "calc.py").write_text("PI = 3\n\nadd = sum\n\nclass Calculator:\n    pass\n")
    assert "does not define" not in repo_context(Workspace(tmp_path), "implement add")


def test_failures_show_the_failing_tests_source_and_name_the_rest(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text(
        "def add(a, b):\n    return a - b\n\nclass Calculator:\n    pass\n"
    )
    (tmp_path / "calc_test.py").write_text(TESTS)
    run = run_check(Workspace(tmp_path), "python -m pytest -q --tb=short -p no:cacheprovider", 60)
    assert not run.passed

    text = focused([run], lambda path: (tmp_path / path).read_text())

    assert "fail" in text and len(text) < 2500 < len(run.output)
    assert "Test CalcTest.test_add_0 in calc_test.py:" in text
    assert "\n    def test_add_0(self):" in text and "```" not in text
    assert "self.assertEqual(add(0, 1), 1)" in text
    assert "    E   AssertionError: -1 != 1" in text
    assert "Also failing: " in text and "test_add_1" in text
    assert "^^^" not in text  # Python's pointer lines cost tokens and say nothing new


def test_a_failing_test_with_a_long_name_is_shown_with_its_source(tmp_path: Path) -> None:
    # pytest pads the section title "CalcTest.test_..." (73 characters or more) with one
    # underscore each side; the error message the test expects is only in its source
    name = "test_error_result_for_adding_when_the_first_number_is_more_than_the_second"
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "calc_test.py").write_text(
        "import unittest\n\nfrom calc import add\n\n\nclass CalcTest(unittest.TestCase):\n"
        f"    def {name}(self):\n"
        "        with self.assertRaises(ValueError) as err:\n"
        "            add(2, 1)\n"
        '        self.assertEqual(err.exception.args[0], "first must be <= second")\n'
    )
    run = run_check(Workspace(tmp_path), "python -m pytest -q --tb=short -p no:cacheprovider", 60)
    assert f"\n_ CalcTest.{name} _" in run.output

    text = focused([run], lambda path: (tmp_path / path).read_text())

    assert f"Test CalcTest.{name} in calc_test.py:" in text
    assert '"first must be <= second"' in text
    assert "short test summary info" not in text


def test_a_failing_parametrized_test_is_shown_with_its_source(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text("def half(x):\n    return x\n")
    (tmp_path / "test_calc.py").write_text(
        "import pytest\n\nfrom calc import half\n\n\n"
        '@pytest.mark.parametrize("x, expected", [(1.5, 0.75), (4, 2)])\n'
        "def test_half(x, expected):\n"
        "    assert half(x) == expected\n"
    )
    run = run_check(Workspace(tmp_path), "python -m pytest -q --tb=short -p no:cacheprovider", 60)
    assert "_ test_half[1.5-0.75] _" in run.output

    text = focused([run], lambda path: (tmp_path / path).read_text())

    shown = '    @pytest.mark.parametrize("x, expected", [(1.5, 0.75), (4, 2)])\n    def test_half('
    assert f"Test test_half[1.5-0.75] in test_calc.py:\n{shown}" in text
    assert "Test test_half[4-2] in test_calc.py:\n    (the test above)\nfails with:" in text
    assert text.count("def test_half(") == 1


def test_a_long_table_of_cases_is_cut(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text("def half(x):\n    return x\n")
    cases = "".join(f"    ({n * 2}, {n}),\n" for n in range(1, 400))
    (tmp_path / "test_calc.py").write_text(
        "import pytest\n\nfrom calc import half\n\n\n"
        f'@pytest.mark.parametrize("x, expected", [\n{cases}])\n'
        "def test_half(x, expected):\n"
        "    assert half(x) == expected\n"
    )
    run = run_check(Workspace(tmp_path), "python -m pytest -q --tb=short -p no:cacheprovider", 60)

    text = focused([run], lambda path: (tmp_path / path).read_text())

    assert "Test test_half[2-1] in test_calc.py:\n    @pytest.mark.parametrize(" in text
    assert "lines omitted" in text and "def test_half(x, expected):" in text
    assert "(400, 200)" not in text and len(text) < 3500


def test_the_shortest_failing_tests_are_shown(tmp_path: Path) -> None:
    # unittest runs a class's tests in alphabetical order: the long one would come first
    verses = "".join(f'            "verse {n}",\n' for n in range(40))
    (tmp_path / "song.py").write_text("def recite(start, take=1):\n    return None\n")
    (tmp_path / "song_test.py").write_text(
        "import unittest\n\nfrom song import recite\n\n\nclass SongTest(unittest.TestCase):\n"
        "    def test_all_verses(self):\n"
        f"        expected = [\n{verses}        ]\n"
        "        self.assertEqual(recite(start=40, take=40), expected)\n\n"
        "    def test_one_verse(self):\n"
        '        self.assertEqual(recite(start=1), ["verse 1"])\n\n'
        "    def test_two_verses(self):\n"
        '        self.assertEqual(recite(start=2, take=2), ["verse 2", "verse 1"])\n'
    )
    run = run_check(Workspace(tmp_path), "python -m pytest -q --tb=short -p no:cacheprovider", 60)
    assert run.output.index("test_all_verses") < run.output.index("test_one_verse")

    text = focused([run], lambda path: (tmp_path / path).read_text())

    assert text.startswith("$ python -m pytest") and "3 of 3 tests fail:" in text
    assert "Test SongTest.test_one_verse in song_test.py:" in text
    assert "Test SongTest.test_two_verses in song_test.py:" in text
    assert text.index("test_one_verse(self)") < text.index("test_two_verses(self)")
    assert '"verse 39"' not in text and text.endswith("Also failing: test_all_verses")


def test_a_failure_outside_any_test_is_shown_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b)\n    return a + b\n")
    (tmp_path / "calc_test.py").write_text(TESTS)
    run = run_check(Workspace(tmp_path), "python -m pytest -q --tb=short -p no:cacheprovider", 60)

    text = focused([run], lambda path: (tmp_path / path).read_text())

    assert "SyntaxError" in text and len(text) < 2000


STUBS = '''
import abc

NORTH = None


class Robot:
    def __init__(self, direction=NORTH):
        pass

    def move(self, steps):
        """Move the robot."""

    def turn(self):
        ...

    def name(self):
        raise NotImplementedError("name")

    def done(self):
        return True

    @abc.abstractmethod
    def kind(self):
        pass


def helper():
    raise NotImplementedError
'''


def test_stubbed_names_the_functions_left_to_implement_not_abstract_or_written_ones() -> None:
    assert stubbed(STUBS) == [
        "Robot.__init__",
        "Robot.move",
        "Robot.turn",
        "Robot.name",
        "helper",
    ]
    assert stubbed("def f(x):\n    if x:\n        pass\n    return x\n") == []
    assert stubbed("def f(:\n") == []


def test_a_stub_gets_the_implement_prompt_and_written_code_the_issue_prompt(tmp_path: Path) -> None:
    def system_of(source: str, name: str) -> str:
        repo = tmp_path / name
        repo.mkdir()
        (repo / "calc.py").write_text(source)
        (repo / "test_calc.py").write_text("from calc import f\n\ndef test_f():\n    assert f()\n")
        system, _ = small_profile(repo).head("make f return True", "pytest", [])
        return system

    assert system_of("def f():\n    pass\n", "stub").startswith(
        prompts.render("system_implement", "small").rstrip()
    )
    assert system_of("def f():\n    return False\n", "bug").startswith(
        prompts.render("system", "small").rstrip()
    )
