"""Ranking: a file → file graph through shared identifiers, and personalized PageRank over it.

A reference in file A to a name defined in file B is an edge A → B; all such references
collapse into one weighted edge per file pair. Plain Python: the graph has one node per file,
and pruning each file to its strongest edges keeps an iteration to a few milliseconds.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter, mul

from coder.repomap.languages import BUILTIN_NAMES

MAX_DEFINERS = 8
"""A name defined in more files than this (`get`, `run`, `__init__`) links nothing useful."""

MAX_OUT_EDGES = 16
"""Each file keeps its strongest outgoing edges only; weaker ones barely move the ranks."""

UNSEEDED_SHARE = 0.1
"""Share of the restart distribution spread over all files when there are seeds."""

PINNED_PER_FILE = 30
"""At most this many definitions of each focused file go before everything else."""

UNREFERENCED_WEIGHT = 0.1
"""A file's rank is shared among its definitions by how much other files refer to each; a
definition nobody refers to still gets this much, so lone files (scripts) are not empty."""

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


class LinkIndex:
    """The graph's inputs kept per file, so that a changed file re-links only the files it
    touches: itself, and the files referring to names it started or stopped defining.

    Every sum is recomputed in file order rather than adjusted, so an updated index gives
    exactly the graph a fresh build of the same files gives.
    """

    def __init__(self, shapes: Mapping[str, Shape], languages: Mapping[str, str]) -> None:
        self.shapes: dict[str, Shape] = dict(shapes)
        self.languages = languages
        self.definers: dict[str, list[str]] = defaultdict(list)
        for path in sorted(self.shapes):
            for name in set(self.shapes[path][0]):
                self.definers[name].append(path)
        self._referrers: dict[str, set[str]] | None = None  # built by the first update
        self.linking = {
            n for n, paths in self.definers.items() if len(paths) <= MAX_DEFINERS and len(n) >= 3
        }
        self.out: dict[str, dict[str, float]] = {}
        self.used: dict[str, dict[str, float]] = {}
        self.referenced: dict[str, float] = {}
        for path in sorted(self.shapes):
            self._link(path)
            for name, weight in self.used[path].items():
                self.referenced[name] = self.referenced.get(name, 0.0) + weight

    @staticmethod
    def _links(name: str, paths: list[str]) -> bool:
        return 0 < len(paths) <= MAX_DEFINERS and len(name) >= 3

    @property
    def referrers(self) -> dict[str, set[str]]:
        """Name → files referring to it (built on first use: only updates need it)."""
        if self._referrers is None:
            self._referrers = defaultdict(set)
            for path, (_, refs) in self.shapes.items():
                for name in refs:
                    self._referrers[name].add(path)
        return self._referrers

    def _link(self, src: str) -> None:
        """Recompute the out-edges of `src` and its share of each name's references."""
        own, refs = self.shapes[src]
        builtin = BUILTIN_NAMES.get(self.languages.get(src, ""), frozenset())
        out: dict[str, float] = {}
        used: dict[str, float] = {}
        # Set algebra runs in C: keep names defined elsewhere, specific enough, not builtins,
        # and not defined in this file too (those resolve locally).
        for name in sorted((refs.keys() & self.linking) - builtin - set(own)):
            targets = self.definers[name]
            weight = (0.1 if name[0] == "_" else 1.0) * math.sqrt(refs[name])
            used[name] = weight
            weight /= len(targets)
            for dst in targets:
                out[dst] = out.get(dst, 0.0) + weight
        if len(out) > MAX_OUT_EDGES:
            out = dict(heapq.nlargest(MAX_OUT_EDGES, out.items(), key=itemgetter(1)))
        self.out[src] = out
        self.used[src] = used

    def update(self, changes: Mapping[str, Shape | None], languages: Mapping[str, str]) -> None:
        """Apply changed files (None: removed) and re-link what they touch."""
        self.languages = languages
        referrers = self.referrers
        redefined: set[str] = set()
        for path, new in changes.items():
            old = self.shapes.pop(path, None)
            old_defs, new_defs = set(old[0] if old else ()), set(new[0] if new else ())
            for name in old_defs - new_defs:
                self.definers[name].remove(path)
                if not self.definers[name]:
                    del self.definers[name]
            for name in new_defs - old_defs:
                bisect.insort(self.definers[name], path)
            redefined |= old_defs ^ new_defs
            old_refs, new_refs = set(old[1] if old else ()), set(new[1] if new else ())
            for name in old_refs - new_refs:
                referrers[name].discard(path)
            for name in new_refs - old_refs:
                referrers[name].add(path)
            if new is not None:
                self.shapes[path] = new
        for name in redefined:
            if self._links(name, self.definers.get(name, [])):
                self.linking.add(name)
            else:
                self.linking.discard(name)
        relink = {p for p in changes if p in self.shapes}
        for name in redefined:
            relink.update(referrers.get(name, ()))
        dirty: set[str] = set()
        for path in changes:
            if path not in self.shapes:
                dirty.update(self.used.pop(path, {}))
                self.out.pop(path, None)
        for path in relink:
            dirty.update(self.used.get(path, {}))
            self._link(path)
            dirty.update(self.used[path])
        for name in dirty:
            total = 0.0
            for path in sorted(referrers.get(name, ())):
                total += self.used[path].get(name, 0.0)
            if total:
                self.referenced[name] = total
            else:
                self.referenced.pop(name, None)

    def graph(self) -> Graph:
        """The current graph (shares this index's dictionaries; do not modify)."""
        files = sorted(self.shapes)
        edges = {path: self.out[path] for path in files if self.out.get(path)}
        return Graph(files, edges, self.definers, self.referenced)


def build_graph(shapes: Mapping[str, Shape], languages: Mapping[str, str]) -> Graph:
    """Collapse every cross-file reference into one weighted edge per (referrer, definer).

    A reference to a name defined in k files gives each of them 1/k of its weight, times the
    square root of how often the referrer uses it. Private names (leading `_`) weigh a tenth;
    names shorter than 3 characters, names of the language's builtins and names defined in
    more than MAX_DEFINERS files add nothing.
    """
    return LinkIndex(shapes, languages).graph()


def pagerank(
    graph: Graph,
    seeds: Mapping[str, float] | None = None,
    damping: float = 0.85,
    tolerance: float = 1e-4,
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


def rank_definitions(
    graph: Graph,
    shapes: Mapping[str, Shape],
    files: Sequence[str],
    names: Sequence[str],
    limit: int,
) -> tuple[list[tuple[str, int]], bool]:
    """Definitions best first, as (path, index in the file's definitions), and whether that
    is every definition there is.

    First the definitions of the focused `names`, then up to PINNED_PER_FILE of each focused
    file, then the best `limit` others. PageRank is seeded with the focused files and the files
    defining the focused names; a file's rank is shared among its definitions by how much other
    files refer to each.
    """
    seeds = dict.fromkeys(files, 1.0)
    for name in names:
        for path in graph.definers[name]:
            seeds[path] = seeds.get(path, 0.0) + 1.0 / len(graph.definers[name])
    ranks = pagerank(graph, seeds)
    referenced = graph.referenced
    chosen: list[tuple[int, float, str, int]] = []
    wanted = set(names)
    for name in names:
        for path in graph.definers[name]:
            chosen += [(0, 0.0, path, i) for i, n in enumerate(shapes[path][0]) if n == name]

    def scored(path: str) -> list[tuple[float, int]]:
        defs = shapes[path][0]
        if not defs:
            return []
        weights = [UNREFERENCED_WEIGHT + referenced.get(n, 0.0) for n in defs]
        share = ranks[path] / sum(weights)
        return [(-w * share, i) for i, w in enumerate(weights) if defs[i] not in wanted]

    for path in files:
        chosen += [(1, s, path, i) for s, i in sorted(scored(path))[:PINNED_PER_FILE]]
    taken = {(path, i) for _, _, path, i in chosen}
    # A definition scores at most its file's rank: stop once no file can beat the worst kept.
    heap: list[tuple[float, str, int]] = []  # (score, path, index), lowest score first
    for path in sorted(ranks, key=lambda p: (-ranks[p], p)):
        if len(heap) >= limit and ranks[path] <= heap[0][0]:
            break
        for negative, i in scored(path):
            if (path, i) in taken:
                continue
            if len(heap) < limit:
                heapq.heappush(heap, (-negative, path, i))
            elif -negative > heap[0][0]:
                heapq.heapreplace(heap, (-negative, path, i))
    chosen += [(2, -score, path, i) for score, path, i in heap]
    chosen.sort()
    return [(path, i) for _, _, path, i in chosen], len(heap) < limit
