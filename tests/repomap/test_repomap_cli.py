"""`coder map` as a user runs it: a real subprocess on a real git repository."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def coder(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `python -m coder ARGS` in `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "coder", *args], cwd=cwd, capture_output=True, text=True
    )


def test_map_prints_the_ranked_map(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    result = coder("map", "--repo", str(repo), cwd=repo.parent)
    assert result.returncode == 0, result.stderr
    assert "shop/models.py:\n│class Product:" in result.stdout
    assert result.stderr == ""


def test_map_with_stats_reports_files_tags_and_timings(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    result = coder("map", "--stats", cwd=repo)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("files: 8  tags: ")
    for stage in ("scan: ", "parse: ", "rank: "):
        assert stage in last
    assert "parsed: 8" in last


def test_map_focus_and_tokens_shape_the_output(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    result = coder("map", "--tokens", "40", "--focus", "cheapest", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("shop/pricing.py:\n")
    assert "def cheapest(cart: Cart) -> Product:" in result.stdout
    assert len(result.stdout) <= 40 * 3.5 * 1.1


def test_map_of_a_missing_directory_is_a_one_line_usage_error(tmp_path: Path) -> None:
    result = coder("map", "--repo", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"coder: error: repository directory not found: {tmp_path / 'nope'}"
    ]


def test_map_with_a_corrupt_cache_warns_on_one_line_and_still_prints(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("sample_repo")
    cache = repo / ".git" / "coder" / "repomap.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"garbage" * 1000)
    result = coder("map", cwd=repo)
    assert result.returncode == 0
    assert "class Cart:" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coder: warning: repo map cache")


def test_the_wheel_ships_every_tags_query(tmp_path: Path) -> None:
    from coder.repomap.languages import GRAMMARS

    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "-o",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    import zipfile

    with zipfile.ZipFile(next(tmp_path.glob("coder_agent-*.whl"))) as wheel:
        names = set(wheel.namelist())
    for grammar in GRAMMARS.values():
        for query in grammar.query_paths:
            assert f"coder/repomap/queries/{query.name}" in names
