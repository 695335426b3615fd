"""The repo map: a ranked, token-budgeted outline of a repository, built with tree-sitter.

`RepoMap` is the facade the tools, the TUI and `coder map` use; `focus_terms` pulls likely
paths and identifiers out of task text to seed the ranking.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from coder.repomap.cache import Stat, TagCache
from coder.repomap.focus import focus_terms
from coder.repomap.languages import (
    GRAMMARS,
    MAX_FILE_BYTES,
    available_languages,
    language_for,
)
from coder.repomap.rank import MAX_DEFINERS, Graph, LinkIndex, Shape, rank_definitions
from coder.repomap.render import Item, estimate_tokens, fit
from coder.repomap.tags import Definition, Parsed, decode_names, digest
from coder.workspace import Workspace

__all__ = ["MapStats", "RepoMap", "focus_terms"]

CACHE_FORMAT = "3"
"""Bump when the stored tag format changes; query edits invalidate the cache on their own."""

HERE = Path(__file__).parent

WRITE_BATCH = 128
"""Parsed files stored per cache transaction while a large parse is still running."""


@dataclass(frozen=True)
class MapStats:
    """What the last `refresh` saw and how long each stage took."""

    files: int
    """Source files in the map (tagged, not skipped)."""
    tags: int
    """Definitions plus references over those files."""
    parsed: int
    """Files parsed by this refresh (0 when nothing changed)."""
    scan_s: float
    parse_s: float
    rank_s: float
    """Time of the last ranking (by `render`), 0 before the first."""


def _source_digest(*paths: Path) -> str:
    digest = hashlib.blake2b(CACHE_FORMAT.encode(), digest_size=12)
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _cache_version() -> str:
    """Changes whenever stored tags could differ: the queries or the code that runs them."""
    queries = sorted({p for g in GRAMMARS.values() for p in g.query_paths})
    return _source_digest(*queries, HERE / "tags.py", HERE / "languages.py")


def _ranking_version() -> str:
    """Changes whenever a stored ranking could differ for the same tags."""
    return _source_digest(HERE / "rank.py", HERE / "languages.py", Path(__file__))


def default_cache_path(root: Path) -> Path | None:
    """<repo>/.git/coder/repomap.sqlite when .git is a directory; None (memory) otherwise."""
    git_dir = root / ".git"
    return git_dir / "coder" / "repomap.sqlite" if git_dir.is_dir() else None


class _LazyDefs(dict[str, tuple[Definition, ...]]):
    """Definitions per file, read from the cache the first time a file is rendered."""

    def __init__(self, load: Callable[[str], tuple[Definition, ...]]) -> None:
        super().__init__()
        self._load = load

    def __missing__(self, path: str) -> tuple[Definition, ...]:
        self[path] = defs = self._load(path)
        return defs


def _fingerprint(entries: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for path, value in sorted(entries):
        digest.update(f"{path}\0{value}\n".encode())
    return digest.hexdigest()


class RepoMap:
    """Definitions and references of every source file, ranked and rendered on demand.

    State is loaded from the cache lazily: a refresh that finds nothing changed reads only the
    stat rows, and a render whose ranking is cached reads only the files it shows.
    """

    def __init__(self, ws: Workspace, cache_path: Path | None = None) -> None:
        self.ws = ws
        path = cache_path if cache_path is not None else default_cache_path(ws.root)
        self.cache = TagCache(path, _cache_version())
        self._ranking_version = _ranking_version()
        self._stats: dict[str, Stat] | None = None
        self._languages: dict[str, str] = {}
        self._shapes: dict[str, Shape] | None = None
        self._defs: dict[str, tuple[Definition, ...]] = {}
        self._graph: Graph | None = None
        self._links: LinkIndex | None = None
        self._content = ""
        self._structure = ""
        self._rendered: dict[tuple[object, ...], str] = {}
        self._last = MapStats(0, 0, 0, 0.0, 0.0, 0.0)
        self._available = available_languages()
        self._warned: set[str] = set()

    @property
    def notice(self) -> str | None:
        """Why the cache fell back to memory, if it did (also issued as a warning)."""
        return self.cache.notice

    @property
    def stats(self) -> MapStats:
        """Figures of the last refresh and ranking."""
        return self._last

    # ---- indexing ----------------------------------------------------------------------

    def _list_files(self) -> list[str]:
        """Tracked plus untracked-not-ignored files (like `Workspace.list_files`, without its
        per-file checks: `_scan` stats every file anyway)."""
        code, out = self.ws.git_bytes(
            "ls-files", "-z", "--cached", "--others", "--exclude-standard"
        )
        if code != 0:
            return self.ws.list_files()
        return sorted({n for n in out.decode("utf-8", "replace").split("\0") if n})

    def _scan(self) -> dict[str, tuple[str, int, int]]:
        found: dict[str, tuple[str, int, int]] = {}
        root = str(self.ws.root)
        missing: set[str] = set()
        inside: dict[str, bool] = {}
        for path in self._list_files():
            language = language_for(path)
            if language is None or self.ws.is_secret(path):
                continue
            folder = os.path.dirname(path)
            if folder not in inside:  # a symlinked directory must not lead the map outside
                real = os.path.realpath(os.path.join(root, folder))
                inside[folder] = real == root or real.startswith(root + os.sep)
            if not inside[folder]:
                continue
            if language not in self._available:
                missing.add(language)
                continue
            try:
                st = os.lstat(os.path.join(root, path))
            except OSError:
                continue
            # lstat: a symlink (possibly leading out of the repository) is not a source file.
            if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_FILE_BYTES:
                found[path] = (language, st.st_size, st.st_mtime_ns)
        if missing - self._warned:
            self._warned |= missing
            modules = ", ".join(sorted(GRAMMARS[name].module for name in missing))
            warnings.warn(
                f"repo map skips files whose grammar is not installed: {modules}",
                RuntimeWarning,
                stacklevel=3,
            )
        return found

    def refresh(self) -> MapStats:
        """Scan the files and re-parse the changed ones (in parallel when many changed)."""
        start = time.perf_counter()
        if self._stats is None:
            self._stats = self.cache.stats()
        stats = self._stats
        found = self._scan()
        removed = [p for p in stats if p not in found]
        suspects = [
            p
            for p, (_, size, mtime) in found.items()
            if p not in stats or (stats[p].size, stats[p].mtime_ns) != (size, mtime)
        ]
        restat: list[tuple[str, Stat]] = []
        jobs: list[tuple[str, str, int]] = []
        for path in suspects:
            language, size, mtime = found[path]
            known = stats.get(path)
            if known is not None and len(suspects) < 256:
                # Size or mtime moved: the hash decides whether to parse again.
                try:
                    with (self.ws.root / path).open("rb") as handle:
                        data = handle.read(MAX_FILE_BYTES + 1)
                except OSError:
                    continue
                if digest(data) == known.digest:
                    restat.append((path, known._replace(size=size, mtime_ns=mtime)))
                    continue
            jobs.append((path, language, size))
        scan_s = time.perf_counter() - start

        start = time.perf_counter()
        if self._shapes is None and not stats:
            # An empty cache: every shape comes from this parse, so keep them as they arrive
            # (while the workers still run) instead of reading them back for the ranking.
            self._shapes = {}
        tagged: list[tuple[Parsed, int, int]] = []
        decoded: dict[str, Shape | None] = {}
        written = 0
        if jobs:
            from coder.repomap.tags import tag_files  # tree_sitter only when parsing

            for parsed in tag_files(self.ws.root, jobs):
                _, size, mtime = found[parsed.path]
                tagged.append((parsed, size, mtime))
                if self._shapes is not None:
                    names = parsed.names
                    decoded[parsed.path] = None if names is None else decode_names(names)
                if len(tagged) - written >= WRITE_BATCH:
                    # Store while the workers still parse, rather than all at the end.
                    self.cache.update(tagged[written:])
                    written = len(tagged)
        changes: dict[str, Shape | None] = {}
        for path in removed:
            del stats[path]
            self._forget(path)
            changes[path] = None
        for path, new_stat in restat:
            stats[path] = new_stat
        for parsed, size, mtime in tagged:
            stats[parsed.path] = Stat(size, mtime, parsed.digest, parsed.shape, parsed.tags)
            self._forget(parsed.path)
            if self._shapes is None:
                continue  # nothing loaded yet: a later ranking reads the cache
            shape = decoded[parsed.path]
            changes[parsed.path] = shape
            if shape is not None:
                self._shapes[parsed.path] = shape
        self._languages = {p: lang for p, (lang, _, _) in found.items()}
        self.cache.update(tagged[written:], restat, removed)
        mapped = [(p, s) for p, s in stats.items() if s.shape]
        self._content = _fingerprint((p, s.digest) for p, s in mapped)
        structure = _fingerprint((p, s.shape) for p, s in mapped)
        if structure != self._structure:
            self._structure, self._graph = structure, None
            if self._links is not None:
                self._links.update(changes, self._languages)
        parse_s = time.perf_counter() - start
        n_tags = sum(s.tags for _, s in mapped)
        self._last = MapStats(len(mapped), n_tags, len(tagged), scan_s, parse_s, self._last.rank_s)
        return self._last

    def _forget(self, path: str) -> None:
        self._defs.pop(path, None)
        if self._shapes is not None:
            self._shapes.pop(path, None)

    def _ensure_fresh(self) -> dict[str, Stat]:
        if self._stats is None:
            self.refresh()
        assert self._stats is not None
        return self._stats

    def _load_shapes(self) -> dict[str, Shape]:
        if self._shapes is None:
            stats = self._ensure_fresh()
            shapes = self.cache.shapes()
            lost = [p for p, s in stats.items() if s.shape and p not in shapes]
            if lost:
                # The cache lost rows (it fell back to memory): parse those files again.
                for path in lost:
                    del stats[path]
                self.refresh()
                shapes = self.cache.shapes()
            self._shapes = {p: shapes[p] for p, s in stats.items() if s.shape and p in shapes}
        return self._shapes

    def _load_defs(self, paths: Iterable[str]) -> dict[str, tuple[Definition, ...]]:
        missing = [p for p in paths if p not in self._defs]
        if missing:
            self._defs.update(self.cache.defs(missing))
            stats = self._ensure_fresh()
            lost = [p for p in missing if p not in self._defs and p in stats and stats[p].shape]
            if lost:
                # The cache fell back to memory and forgot them: parse those files again.
                from coder.repomap.tags import decode_defs, tag_files

                jobs = [(p, self._languages[p], stats[p].size) for p in lost]
                for parsed in tag_files(self.ws.root, jobs):
                    if parsed.defs is not None:
                        self._defs[parsed.path] = decode_defs(parsed.defs)
        return self._defs

    def _get_graph(self) -> Graph:
        if self._graph is None:
            if self._links is None:
                self._links = LinkIndex(self._load_shapes(), self._languages)
            self._graph = self._links.graph()
        return self._graph

    # ---- ranking and rendering ---------------------------------------------------------

    def _resolve_focus(self, focus: Iterable[str]) -> tuple[list[str], list[str]]:
        """Split focus items into repository files and other words (maybe identifiers)."""
        stats = self._ensure_fresh()
        files: set[str] = set()
        words: set[str] = set()
        for raw in focus:
            item = raw.strip().strip("`'\"").removeprefix("./").rstrip("/")
            if not item:
                continue
            if stats.get(item, Stat(0, 0, "", "", 0)).shape:
                files.add(item)
                continue
            inside = [p for p, s in stats.items() if s.shape and p.startswith(item + "/")]
            if inside:  # a directory: the files in it
                files.update(inside)
                continue
            suffix = "/" + item
            matches = [p for p, s in stats.items() if s.shape and p.endswith(suffix)]
            if matches and ("/" in item or Path(item).suffix):
                files.update(matches)
                continue
            words.update(w for w in re.split(r"[^\w$]+", item) if w)
        return sorted(files), sorted(words)

    def _rank(self, files: list[str], words: list[str], limit: int) -> tuple[list[Item], bool]:
        """The focused definitions, then the best `limit` others, as (path, index in the
        file's definitions); and whether that is every definition there is."""
        key = json.dumps([self._ranking_version, self._structure, files, words, limit])
        stored = self.cache.ranking(key)
        if stored is not None:
            entries, complete = json.loads(stored)
            return [(path, index) for path, index in entries], complete
        graph = self._get_graph()
        # Words that name a definition; one defined all over (`run`, `get`) pins nothing.
        names = [w for w in words if 0 < len(graph.definers.get(w, ())) <= MAX_DEFINERS]
        result, complete = rank_definitions(graph, self._load_shapes(), files, names, limit)
        self.cache.store_ranking(key, json.dumps([result, complete]))
        return result, complete

    def render(
        self,
        tokens: int = 1024,
        focus: Iterable[str] = (),
        count_tokens: Callable[[str], int] | None = None,
    ) -> str:
        """The map within about `tokens` tokens, ranked around `focus` (paths or identifiers).

        Identical output for identical files, focus and budget, so it can sit in a cached
        prompt prefix. The first call refreshes; later calls map the files as of the last
        `refresh()`.
        """
        self._ensure_fresh()
        focus = tuple(sorted({f.strip() for f in focus if f.strip()}))
        key = (self._content, focus, tokens, count_tokens)
        if key in self._rendered:
            return self._rendered[key]
        start = time.perf_counter()
        files, words = self._resolve_focus(focus)
        counter = count_tokens or estimate_tokens
        # Rank more definitions than the budget is likely to show (more if they all fit), in
        # steps, so budgets of a similar size share one cached ranking.
        limit = 256
        while limit < tokens // 8:
            limit *= 4
        defs = _LazyDefs(lambda path: self._load_defs([path]).get(path, ()))
        while True:
            items, complete = self._rank(files, words, limit)
            text, used = fit(items, defs, tokens, counter)
            if used < len(items) or complete:
                break
            limit *= 4
        self._last = replace(self._last, rank_s=time.perf_counter() - start)
        self._rendered = {key: text}
        return text

    # ---- lookups -----------------------------------------------------------------------

    def find_symbol(self, name: str) -> list[str]:
        """Definitions of `name` as "path:line: signature line"."""
        shapes = self._load_shapes()
        paths = sorted(p for p, (names, _) in shapes.items() if name in names)
        defs = self._load_defs(paths)
        return [
            f"{path}:{d.line}: {d.text.strip()}"
            for path in paths
            for d in defs.get(path, ())
            if d.name == name
        ]

    def find_references(self, name: str) -> list[str]:
        """References to `name` as "path:line: source line"."""
        shapes = self._load_shapes()
        found = []
        paths = sorted(p for p, (_, refs) in shapes.items() if name in refs)
        if paths:
            from coder.repomap.tags import reference_lines  # tree_sitter only when needed

            for path in paths:
                try:
                    with (self.ws.root / path).open("rb") as handle:
                        data = handle.read(MAX_FILE_BYTES + 1)
                except OSError:
                    continue
                if len(data) > MAX_FILE_BYTES:
                    continue
                lines = data.decode("utf-8", "replace").splitlines()
                for line in reference_lines(data, self._languages[path], name):
                    text = lines[line - 1].strip() if line <= len(lines) else ""
                    found.append(f"{path}:{line}: {text}")
        return found
