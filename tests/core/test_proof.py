"""Reading per-test results (JUnit XML, go test -json, cargo test) and the red→green proof."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coder.proof import (
    compare,
    is_go_test,
    is_test_path,
    read_go_json,
    read_junit,
    read_output,
    with_go_json,
    with_junit,
)

PACKAGE = "example.com/calc"


def out(text: str) -> dict[str, str]:
    return {"Action": "output", "Package": PACKAGE, "Test": "TestAdd", "Output": text}


def go_events() -> str:
    """What `go test -json ./...` prints for one failing and one passing test (test2json)."""
    events = [
        {"Action": "start", "Package": PACKAGE},
        {"Action": "run", "Package": PACKAGE, "Test": "TestAdd"},
        out("=== RUN   TestAdd\n"),
        out("    want 3\n"),
        out("--- FAIL: TestAdd\n"),
        {"Action": "fail", "Package": PACKAGE, "Test": "TestAdd", "Elapsed": 0},
        {"Action": "run", "Package": PACKAGE, "Test": "TestDouble"},
        {"Action": "pass", "Package": PACKAGE, "Test": "TestDouble", "Elapsed": 0},
        {"Action": "skip", "Package": PACKAGE, "Test": "TestSlow", "Elapsed": 0},
        {"Action": "output", "Package": PACKAGE, "Output": "FAIL\n"},
        {"Action": "fail", "Package": PACKAGE, "Elapsed": 0.003},
    ]
    return "".join(json.dumps(event) + "\n" for event in events)


def test_go_test_json_gives_per_test_results_and_the_plain_text() -> None:
    results, text = read_go_json("# example.com/other\n" + go_events())
    assert results == {
        f"{PACKAGE}.TestAdd": "failed",
        f"{PACKAGE}.TestDouble": "passed",
        f"{PACKAGE}.TestSlow": "skipped",
    }
    assert text == "# example.com/other\n=== RUN   TestAdd\n    want 3\n--- FAIL: TestAdd\nFAIL\n"


def test_only_a_plain_go_test_gets_json() -> None:
    assert is_go_test("go test ./...") and with_go_json("go test ./...") == "go test -json ./..."
    assert not is_go_test("go test -json ./...")
    assert not is_go_test("go test ./... | tee log")  # a pipeline: its output is not ours
    assert not is_go_test("go vet ./...")


def test_a_go_build_failure_has_no_per_test_results() -> None:
    assert read_go_json("# example.com/calc\n./calc.go:3:2: undefined: x\n")[0] is None


def test_cargo_test_lines_give_per_test_results() -> None:
    output = (
        "running 3 tests\ntest tests::adds ... FAILED\ntest tests::doubles ... ok\n"
        "test tests::slow ... ignored\n\ntest result: FAILED. 1 passed; 1 failed; 1 ignored\n"
    )
    assert read_output("cargo test", output) == {
        "tests::adds": "failed",
        "tests::doubles": "passed",
        "tests::slow": "skipped",
    }
    assert read_output("npm test", output) is None  # exit code only


def test_pytest_junit_xml_is_read_per_test(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(
        "import pytest\n\ndef test_ok():\n    pass\n\ndef test_bad():\n    assert False\n\n"
        "@pytest.mark.skip\ndef test_skipped():\n    pass\n\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError\n\n"
        "def test_error(broken):\n    pass\n"
    )
    xml = tmp_path / "out" / "results.xml"
    command = with_junit(f"{sys.executable} -m pytest -q -p no:cacheprovider", xml)
    subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, check=False)
    assert read_junit(xml) == {
        "test_a.test_ok": "passed",
        "test_a.test_bad": "failed",
        "test_a.test_skipped": "skipped",
        "test_a.test_error": "error",
    }
    assert read_junit(tmp_path / "missing.xml") is None


def test_the_proof_sorts_every_test_into_its_class() -> None:
    before = {"a": "failed", "b": "error", "c": "passed", "d": "failed", "gone": "passed"}
    after = {"a": "passed", "b": "passed", "c": "failed", "d": "failed", "new": "passed"}
    proof = compare(before, after | {"newbad": "failed"})
    assert proof.red_to_green == ["a", "b"]
    assert proof.regressions == ["c"]
    assert proof.still_failing == ["d"]
    assert proof.new_passing == ["new"] and proof.new_failing == ["newbad"]
    assert compare(None, after).per_test is False


@pytest.mark.parametrize(
    "path, test",
    [
        ("tests/test_calc.py", True),
        ("test_calc.py", True),
        ("pkg/calc_test.go", True),
        ("src/calc.spec.ts", True),
        ("web/__tests__/app.js", True),
        ("conftest.py", True),
        ("src/calc.py", False),
        ("src/testing_utils.py", False),
        ("contest.py", False),
    ],
)
def test_test_files_are_recognised(path: str, test: bool) -> None:
    assert is_test_path(path) is test
