"""Ranking: a file → file graph through shared identifiers, and personalized PageRank over it.

A reference in file A to a name defined in file B is an edge A → B; all such references
collapse into one weighted edge per file pair. Plain Python: the graph has one node per file,
and pruning each file to its strongest edges keeps an iteration to a few milliseconds.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter, mul

from coder.repomap.languages import BUILTIN_NAMES

MAX_DEFINERS = 8
"""A name defined in more files than this (`get`, `run`, `__init__`) links nothing useful."""

MAX_OUT_EDGES = 16
"""Each file keeps its strongest outgoing edges only; weaker ones barely move the ranks."""

UNSEEDED_SHARE = 0.1
"""Share of the restart distribution spread over all files when there are seeds."""

Shape = tuple[tuple[str, ...], dict[str, int]]
"""What ranking needs of a file: its definition names in line order, its reference counts."""


@dataclass
class Graph:
    """The weighted reference graph and what scoring definitions needs from it."""

    files: list[str]
    """Every tagged file, sorted: the graph's nodes."""
    edges: dict[str, dict[str, float]]
    """Referencing file → {defining file: weight}; one edge per ordered pair."""
    definers: dict[str, list[str]]
    """Name → files defining it, sorted."""
    referenced: dict[str, float]
    """Name → weight of the references to it from files that do not define it."""


def build_graph(shapes: Mapping[str, Shape], languages: Mapping[str, str]) -> Graph:
    """Collapse every cross-file reference into one weighted edge per (referrer, definer).

    A reference to a name defined in k files gives each of them 1/k of its weight, times the
    square root of how often the referrer uses it. Private names (leading `_`) weigh a tenth;
    names shorter than 3 characters, names of the language's builtins and names defined in
    more than MAX_DEFINERS files add nothing.
    """
    files = sorted(shapes)
    definers: dict[str, list[str]] = defaultdict(list)
    for path in files:
        for name in set(shapes[path][0]):
            definers[name].append(path)
    linking = {n for n, paths in definers.items() if len(paths) <= MAX_DEFINERS and len(n) >= 3}
    edges: dict[str, dict[str, float]] = {}
    referenced: dict[str, float] = defaultdict(float)
    sqrt = math.sqrt
    no_builtins: frozenset[str] = frozenset()
    for src in files:
        own, refs = shapes[src]
        builtin = BUILTIN_NAMES.get(languages.get(src, ""), no_builtins)
        # Set algebra runs in C: keep names defined elsewhere, specific enough, not builtins,
        # and not defined in this file too (those resolve locally).
        out: dict[str, float] = {}
        for name in sorted((refs.keys() & linking) - builtin - set(own)):
            targets = definers[name]
            weight = (0.1 if name[0] == "_" else 1.0) * sqrt(refs[name])
            referenced[name] += weight
            weight /= len(targets)
            for dst in targets:
                out[dst] = out.get(dst, 0.0) + weight
        if len(out) > MAX_OUT_EDGES:
            out = dict(heapq.nlargest(MAX_OUT_EDGES, out.items(), key=itemgetter(1)))
        if out:
            edges[src] = out
    return Graph(files, edges, dict(definers), dict(referenced))


def pagerank(
    graph: Graph,
    seeds: Mapping[str, float] | None = None,
    damping: float = 0.85,
    tolerance: float = 1e-5,
    max_iterations: int = 100,
) -> dict[str, float]:
    """Personalized PageRank over the file graph; `seeds` weights the restart distribution."""
    files = graph.files
    n = len(files)
    if n == 0:
        return {}
    index = {path: i for i, path in enumerate(files)}
    restart = [1.0 / n] * n
    seeded = {index[p]: w for p, w in (seeds or {}).items() if p in index and w > 0}
    if seeded:
        # Mostly the seeds, with a little uniform mass so unrelated files still get an order.
        total_seed = sum(seeded.values())
        restart = [UNSEEDED_SHARE / n] * n
        for i, w in seeded.items():
            restart[i] += (1.0 - UNSEEDED_SHARE) * w / total_seed
    # Pull form: for each node, the sources pointing at it and their normalised weights.
    sources: list[list[int]] = [[] for _ in range(n)]
    shares: list[list[float]] = [[] for _ in range(n)]
    dangling = [True] * n
    for src, out in graph.edges.items():
        i = index[src]
        total = sum(out.values())
        dangling[i] = False
        for dst, weight in out.items():
            j = index[dst]
            sources[j].append(i)
            shares[j].append(damping * weight / total)
    dangling_nodes = [i for i in range(n) if dangling[i]]
    inbound = [(j, sources[j], shares[j]) for j in range(n) if sources[j]]
    rank = restart[:]
    for _ in range(max_iterations):
        # Rank of files without edges restarts like teleportation does.
        jump = (1.0 - damping) + damping * sum([rank[i] for i in dangling_nodes])
        new = [r * jump for r in restart]
        get = rank.__getitem__
        for j, origins, share in inbound:
            new[j] += sum(map(mul, map(get, origins), share))
        delta = sum(map(abs, map(float.__sub__, new, rank)))
        rank = new
        if delta < tolerance:
            break
    return dict(zip(files, rank, strict=True))
