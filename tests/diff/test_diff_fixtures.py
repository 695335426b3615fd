"""Every hostile or perturbed diff in fixtures/diffs/, each named after the rule it tests.

A fixture is a folder: before/ (the files), patch.diff, after/ (the expected files; absent
when the patch must be rejected and leave before/ byte-identical) and an optional
expect.json with the per-hunk "statuses", a "reason" substring and file "modes".
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from coder.diff import apply_patch
from coder.errors import PatchError
from coder.workspace import Workspace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "diffs"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.mark.parametrize("rule", CASES)
def test_fixture_diff_follows_its_rule(rule: str, tmp_path: Path) -> None:
    case = FIXTURES / rule
    root = tmp_path / "repo"
    shutil.copytree(case / "before", root)
    (root / ".git").mkdir()
    for path in root.rglob("*"):
        if path.is_file():
            os.chmod(path, 0o644)
    expect = (
        json.loads((case / "expect.json").read_text()) if (case / "expect.json").exists() else {}
    )
    before = snapshot(root)
    text = (case / "patch.diff").read_bytes().decode("utf-8", "surrogateescape")
    try:
        result = apply_patch(text, Workspace(root))
    except PatchError as exc:
        assert "reason" in expect and not (case / "after").exists(), f"{rule}: {exc}"
        assert snapshot(root) == before
        return
    feedback = result.feedback()
    if "statuses" in expect:
        assert [h.status for h in result.hunks] == expect["statuses"], feedback
    if "reason" in expect:
        assert expect["reason"] in feedback, feedback
    if (case / "after").exists():
        assert result.ok, feedback
        assert snapshot(root) == snapshot(case / "after"), feedback
    else:
        assert not result.ok and result.written == [], feedback
        assert snapshot(root) == before, feedback
    for name, mode in expect.get("modes", {}).items():
        assert oct((root / name).stat().st_mode & 0o777)[2:] == mode


def test_every_fixture_has_a_patch_and_before_files() -> None:
    assert len(CASES) >= 30
    for rule in CASES:
        assert (FIXTURES / rule / "patch.diff").is_file(), rule
        assert (FIXTURES / rule / "before").is_dir(), rule
