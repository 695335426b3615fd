"""RepoMap end to end on real git repositories: golden maps, cache, focus, budget, lookups."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from coder.repomap import WRITE_BATCH, RepoMap, focus_terms
from coder.repomap.render import estimate_tokens
from coder.workspace import Workspace
from tests.repomap.conftest import FIXTURES, commit_all

GOLDENS = {
    "sample_repo.map.txt": {"tokens": 1024},
    "sample_repo.focus-cheapest.map.txt": {"tokens": 120, "focus": ["cheapest"]},
}


@pytest.mark.parametrize("golden", sorted(GOLDENS))
def test_map_of_the_sample_repo_matches_its_golden_file(
    golden: str, make_repo: Callable[[str], Path]
) -> None:
    repo = make_repo("sample_repo")
    text = RepoMap(Workspace(repo)).render(**GOLDENS[golden])  # type: ignore[arg-type]
    path = FIXTURES / golden
    if os.environ.get("CODER_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_render_is_identical_when_nothing_changed(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    first = RepoMap(Workspace(repo))
    text = first.render(300, focus=["checkout"])
    first.refresh()
    assert first.render(300, focus=["checkout"]) == text
    assert RepoMap(Workspace(repo)).render(300, focus=["checkout"]) == text


def test_refresh_parses_only_the_changed_file(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    ws = Workspace(repo)
    assert RepoMap(ws).refresh().parsed == 8
    again = RepoMap(ws)
    assert again.refresh().parsed == 0
    (repo / "shop" / "util.py").write_text("def format_money(cents):\n    return str(cents)\n")
    assert again.refresh().parsed == 1
    assert RepoMap(ws).refresh().parsed == 0


def test_a_touched_but_unchanged_file_is_not_parsed_again(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    ws = Workspace(repo)
    RepoMap(ws).refresh()
    target = repo / "shop" / "models.py"
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 5_000_000_000))
    repo_map = RepoMap(ws)
    assert repo_map.refresh().parsed == 0
    assert RepoMap(ws).refresh().parsed == 0  # the new mtime was stored


def test_new_and_deleted_files_update_the_map(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    repo_map = RepoMap(Workspace(repo))
    assert "shop/util.py" in repo_map.render()
    (repo / "shop" / "util.py").unlink()
    (repo / "shop" / "coupons.py").write_text(
        "def redeem_coupon(code: str) -> int:\n    return 5\n"
    )
    stats = repo_map.refresh()
    text = repo_map.render()
    assert "shop/util.py" not in text
    assert "def redeem_coupon(code: str) -> int:" in text
    assert stats.parsed == 1


def test_the_cache_lives_in_the_git_directory(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    RepoMap(Workspace(repo)).refresh()
    assert (repo / ".git" / "coder" / "repomap.sqlite").is_file()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""


def test_a_corrupt_cache_degrades_to_memory_with_a_warning(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("sample_repo")
    cache = repo / ".git" / "coder" / "repomap.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"this is not a database" * 100)
    with pytest.warns(RuntimeWarning, match="repo map cache"):
        repo_map = RepoMap(Workspace(repo))
    assert repo_map.notice is not None
    assert "def checkout(cart: Cart, percent: int = 0) -> str:" in repo_map.render()
    assert repo_map.find_symbol("tax_for") == [
        "shop/pricing.py:12: def tax_for(amount: int) -> int:"
    ]


def test_an_unwritable_cache_location_degrades_to_memory(
    make_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    repo = make_repo("sample_repo")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache directory should be")
    with pytest.warns(RuntimeWarning, match="keeping it in memory"):
        repo_map = RepoMap(Workspace(repo), cache_path=blocker / "sub" / "cache.sqlite")
    assert "shop/models.py" in repo_map.render()


def test_a_cache_that_fails_later_keeps_the_map_working(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    ws = Workspace(repo)
    RepoMap(ws).refresh()
    repo_map = RepoMap(ws)
    repo_map.refresh()
    cache = repo / ".git" / "coder" / "repomap.sqlite"
    with sqlite3.connect(cache) as db:
        db.execute("DROP TABLE files")
    with pytest.warns(RuntimeWarning, match="repo map cache"):
        text = repo_map.render(focus=["tax_for"])
    assert "def tax_for(amount: int) -> int:" in text


def test_a_parse_stored_in_several_batches_is_stored_whole(tmp_path: Path) -> None:
    repo = tmp_path / "many"
    repo.mkdir()
    count = WRITE_BATCH * 2 + 5
    for i in range(count):
        (repo / f"mod_{i}.py").write_text(f"def func_{i}():\n    return func_{(i + 1) % count}()\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    ws = Workspace(repo)
    assert RepoMap(ws).refresh().parsed == count
    again = RepoMap(ws)
    assert again.refresh().parsed == 0
    assert again.find_symbol("func_0") == ["mod_0.py:1: def func_0():"]
    assert again.find_symbol(f"func_{count - 1}") == [
        f"mod_{count - 1}.py:1: def func_{count - 1}():"
    ]


def test_a_directory_without_git_is_mapped_in_memory(tmp_path: Path) -> None:
    (tmp_path / "tool.py").write_text("def run_tool() -> None:\n    pass\n")
    repo_map = RepoMap(Workspace(tmp_path))
    assert repo_map.render() == "tool.py:\n│def run_tool() -> None:\n"
    assert not (tmp_path / ".git").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "tool.py"]


def test_vendored_large_and_binary_files_are_skipped(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    for vendored in ("node_modules/left/pad.js", "vendor/lib/util.py", "third_party/x/y.c"):
        path = repo / vendored
        path.parent.mkdir(parents=True)
        path.write_text("function vendoredThing() {}\ndef vendored_thing(): pass\n")
    (repo / "big.py").write_text("def big_thing():\n    pass\n" + "# padding\n" * 120_000)
    (repo / "blob.py").write_bytes(b"def binary_thing():\x00\x01\x02 pass\n")
    commit_all(repo)
    repo_map = RepoMap(Workspace(repo))
    text = repo_map.render(4096)
    for name in ("vendoredThing", "vendored_thing", "big_thing", "binary_thing"):
        assert name not in text
        assert repo_map.find_symbol(name) == []
    assert repo_map.refresh().files == 8


def test_symlinks_are_not_followed(make_repo: Callable[[str], Path], tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("def secret_outside(): pass\n")
    repo = make_repo("sample_repo")
    (repo / "link.py").symlink_to(outside)
    commit_all(repo)
    assert "secret_outside" not in RepoMap(Workspace(repo)).render(4096)


def test_ignored_files_are_skipped_and_untracked_ones_are_mapped(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("sample_repo")
    (repo / ".gitignore").write_text("generated/\n")
    (repo / "generated").mkdir()
    (repo / "generated" / "out.py").write_text("def generated_thing(): pass\n")
    (repo / "draft.py").write_text("def draft_thing(): pass\n")
    text = RepoMap(Workspace(repo)).render(4096)
    assert "draft_thing" in text
    assert "generated_thing" not in text


def test_focus_on_a_symbol_puts_its_defining_file_in_the_map(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("sample_repo")
    repo_map = RepoMap(Workspace(repo))
    assert "shop/pricing.py" not in repo_map.render(40)
    text = repo_map.render(40, focus=["cheapest"])
    assert "shop/pricing.py:" in text
    assert "def cheapest(cart: Cart) -> Product:" in text


def test_focus_on_a_path_puts_that_file_first(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    text = RepoMap(Workspace(repo)).render(60, focus=["web/app.ts"])
    assert text.startswith("web/app.ts:\n")


def test_focus_seeds_pagerank_towards_the_files_it_references(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("sample_repo")
    repo_map = RepoMap(Workspace(repo))
    text = repo_map.render(120, focus=["web/app.ts"])
    # app.ts references formatPrice and LineItem from format.ts: it follows right after.
    files = [line for line in text.splitlines() if line.endswith(":") and "/" in line]
    assert files[:2] == ["web/app.ts:", "web/format.ts:"]


@pytest.mark.parametrize("tokens", [256, 512, 1024, 2048])
def test_rendered_map_is_within_ten_percent_of_the_budget(tokens: int, tmp_path: Path) -> None:
    repo = tmp_path / "big"
    package = repo / "pkg"
    package.mkdir(parents=True)
    for i in range(60):
        calls = "\n".join(f"    helper_{(i + k) % 60}_0()" for k in range(1, 4))
        body = "\n\n".join(
            f"def helper_{i}_{j}(value: int = {j}) -> int:\n    return value\n" for j in range(8)
        )
        (package / f"module_{i}.py").write_text(f"{body}\n\ndef entry_{i}():\n{calls}\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    text = RepoMap(Workspace(repo)).render(tokens)
    used = estimate_tokens(text)
    assert 0.9 * tokens <= used <= 1.1 * tokens, used


def test_a_custom_token_counter_is_used_for_the_budget(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    repo_map = RepoMap(Workspace(repo))
    lines = repo_map.render(12, count_tokens=lambda text: len(text.splitlines()))
    assert 10 <= len(lines.splitlines()) <= 12


def test_find_symbol_lists_definitions_as_path_line_signature(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("sample_repo")
    repo_map = RepoMap(Workspace(repo))
    assert repo_map.find_symbol("Cart") == ["shop/models.py:13: class Cart:"]
    assert repo_map.find_symbol("formatPrice") == [
        "web/format.ts:2: export function formatPrice(cents: number): string {"
    ]
    assert repo_map.find_symbol("no_such_symbol") == []


def test_find_references_lists_uses_as_path_line_source(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("sample_repo")
    repo_map = RepoMap(Workspace(repo))
    assert repo_map.find_references("apply_discount") == [
        "shop/checkout.py:9: net = apply_discount(cart, percent)"
    ]
    assert repo_map.find_references("build_assets") == ["scripts/deploy.sh:10: build_assets"]
    assert repo_map.find_references("no_such_symbol") == []


def test_focus_terms_picks_paths_and_code_names_from_task_text() -> None:
    text = (
        "The `checkout` total is wrong in shop/pricing.py: apply_discount() rounds down. "
        "Also see CartPage in web/app.ts and the TAX_RATE constant. Please fix it quickly."
    )
    terms = focus_terms(text)
    assert terms[:2] == ["shop/pricing.py", "web/app.ts"]
    for expected in ("checkout", "apply_discount", "CartPage", "TAX_RATE"):
        assert expected in terms
    for word in ("The", "total", "Please", "quickly", "Also"):
        assert word not in terms


def test_focus_terms_feed_render(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("sample_repo")
    repo_map = RepoMap(Workspace(repo))
    text = repo_map.render(40, focus=focus_terms("Why does `cheapest` crash on an empty cart?"))
    assert "def cheapest(cart: Cart) -> Product:" in text


def test_files_of_a_grammar_that_is_not_installed_are_skipped_with_a_warning(
    make_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sys.modules[name] = None` is how Python itself marks a module as unimportable."""
    import sys

    repo = make_repo("sample_repo")
    monkeypatch.setitem(sys.modules, "tree_sitter_bash", None)
    with pytest.warns(RuntimeWarning, match="tree_sitter_bash"):
        repo_map = RepoMap(Workspace(repo))
        text = repo_map.render(4096)
    assert "deploy.sh" not in text
    assert "shop/models.py" in text


def test_definitions_forgotten_by_a_failing_cache_are_parsed_again(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("sample_repo")
    expected = RepoMap(Workspace(repo)).render(4096)  # also stores the ranking
    session = RepoMap(Workspace(repo))
    session.refresh()
    with sqlite3.connect(repo / ".git" / "coder" / "repomap.sqlite") as db:
        db.execute("DROP TABLE files")  # the stored ranking survives, the definitions do not
    with pytest.warns(RuntimeWarning, match="repo map cache"):
        assert session.render(4096) == expected


def test_a_map_built_in_one_thread_is_usable_from_another(
    make_repo: Callable[[str], Path], recwarn: pytest.WarningsRecorder
) -> None:
    import threading

    repo = make_repo("sample_repo")
    repo_map = RepoMap(Workspace(repo))
    repo_map.refresh()
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(repo_map.render(4096)))
    worker.start()
    worker.join(timeout=60)
    assert "class Cart:" in results[0]
    assert repo_map.notice is None
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
