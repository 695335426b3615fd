"""The reference graph and personalized PageRank, on hand-made shapes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from coder.repomap.rank import MAX_DEFINERS, build_graph, pagerank

SHAPES = {
    "a.py": (("main",), {"helper": 3, "Model": 1, "print": 5, "len": 2}),
    "b.py": (("helper",), {"Model": 2}),
    "c.py": (("Model",), {}),
    "d.py": (("print",), {}),  # shadows a builtin: must not attract every file that prints
}
LANGUAGES = dict.fromkeys(SHAPES, "python")


def test_references_collapse_into_one_weighted_edge_per_file_pair() -> None:
    graph = build_graph(SHAPES, LANGUAGES)
    assert set(graph.edges) == {"a.py", "b.py"}
    assert set(graph.edges["a.py"]) == {"b.py", "c.py"}
    assert graph.edges["a.py"]["b.py"] == pytest.approx(3**0.5)
    assert graph.edges["b.py"] == {"c.py": pytest.approx(2**0.5)}


def test_builtin_names_add_no_edges() -> None:
    graph = build_graph(SHAPES, LANGUAGES)
    assert "d.py" not in graph.edges["a.py"]


def test_names_defined_in_too_many_files_add_no_edges() -> None:
    shapes = {f"m{i}.py": (("run",), {}) for i in range(MAX_DEFINERS + 1)}
    shapes["caller.py"] = ((), {"run": 4})
    graph = build_graph(shapes, {})
    assert graph.edges == {}


def test_a_name_defined_locally_does_not_link_out() -> None:
    shapes = {"x.py": (("parse",), {"parse": 2}), "y.py": (("parse",), {})}
    assert build_graph(shapes, {}).edges == {}


def test_pagerank_favours_the_most_referenced_file() -> None:
    ranks = pagerank(build_graph(SHAPES, LANGUAGES))
    assert max(ranks, key=ranks.__getitem__) == "c.py"
    assert sum(ranks.values()) == pytest.approx(1.0)


def test_seeds_pull_rank_towards_a_file_and_what_it_references() -> None:
    graph = build_graph(SHAPES, LANGUAGES)
    plain = pagerank(graph)
    seeded = pagerank(graph, {"d.py": 1.0})
    assert seeded["d.py"] > plain["d.py"]
    assert max(seeded, key=seeded.__getitem__) == "d.py"


def test_pagerank_of_an_empty_graph_is_empty() -> None:
    assert pagerank(build_graph({}, {})) == {}


def test_a_warm_map_needs_no_parser(make_repo: Callable[[str], Path]) -> None:
    """After a cold build, a new process renders from the cache without loading tree-sitter."""
    repo = make_repo("sample_repo")
    script = (
        "import sys; from pathlib import Path; from coder.repomap import RepoMap; "
        "from coder.workspace import Workspace; "
        f"m = RepoMap(Workspace(Path({str(repo)!r}))); m.refresh(); text = m.render(); "
        "print('tree_sitter' in sys.modules, 'class Cart:' in text)"
    )
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert first.stdout.split() == ["True", "True"], first.stderr
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert second.stdout.split() == ["False", "True"], second.stderr


def test_an_updated_link_index_equals_a_fresh_build() -> None:
    from coder.repomap.rank import LinkIndex

    index = LinkIndex(SHAPES, LANGUAGES)
    index.graph()
    changes = {
        "b.py": (("helper", "Model"), {"main": 1}),  # now also defines Model, calls main
        "c.py": None,  # removed
        "e.py": (("extra",), {"helper": 2, "Model": 1}),  # new
    }
    languages = {**LANGUAGES, "e.py": "python"}
    index.update(changes, languages)
    after = {p: s for p, s in {**SHAPES, **changes}.items() if s is not None}
    fresh = build_graph(after, languages)
    updated = index.graph()
    assert updated.files == fresh.files
    assert updated.edges == fresh.edges
    assert dict(updated.definers) == dict(fresh.definers)
    assert updated.referenced == fresh.referenced


def test_a_session_map_after_edits_equals_a_fresh_map(
    make_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    from coder.repomap import RepoMap
    from coder.workspace import Workspace

    repo = make_repo("sample_repo")
    session = RepoMap(Workspace(repo))
    session.render(300)
    (repo / "shop" / "util.py").write_text("def format_money(c):\n    return str(c)\n")
    (repo / "shop" / "coupons.py").write_text(
        "from shop.pricing import tax_for\n\ndef redeem(code):\n    return tax_for(5)\n"
    )
    (repo / "web" / "format.ts").unlink()
    session.refresh()
    fresh = RepoMap(Workspace(repo), cache_path=tmp_path / "other.sqlite")
    assert session.render(300) == fresh.render(300)
    assert session.render(120, focus=["redeem"]) == fresh.render(120, focus=["redeem"])
