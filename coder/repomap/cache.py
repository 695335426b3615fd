"""The persistent tags cache: SQLite rows keyed by path + size + mtime, confirmed by a hash.

A corrupt, unreadable or unwritable cache file degrades to an in-memory database with a
warning; the repo map then works as before, it only forgets between runs.
"""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from coder.repomap.rank import Shape
from coder.repomap.tags import Definition, Parsed, decode_defs, decode_names

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL,
    shape TEXT NOT NULL,
    tags INTEGER NOT NULL,
    names TEXT,
    defs TEXT
);
CREATE TABLE IF NOT EXISTS rankings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

KEPT_RANKINGS = 64
"""Rankings kept for reuse (one per graph state and focus)."""


class Stat(NamedTuple):
    """What the cache remembers of a file besides its tags."""

    size: int
    mtime_ns: int
    digest: str
    """Content hash: confirms a change when size or mtime moved."""
    shape: str
    """Digest of the names ranking sees; "" for a skipped file (binary, too large)."""
    tags: int
    """Number of definitions plus references."""


class TagCache:
    """Tags per file, persisted in SQLite when possible; every method survives a bad file.

    Not for concurrent use, but usable from any one thread at a time (the session builds the
    map, the agent's worker thread uses it).
    """

    def __init__(self, path: Path | None, version: str) -> None:
        self.path = path
        self.notice: str | None = None
        """Why the cache fell back to memory, if it did."""
        self._db = self._open(path, version)

    def _open(self, path: Path | None, version: str) -> sqlite3.Connection:
        if path is not None:
            db = None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    path, timeout=2.0, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA synchronous=NORMAL")
                self._prepare(db, version)
                return db
            except (sqlite3.Error, OSError) as exc:
                if db is not None:
                    db.close()
                self._warn(exc)
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._prepare(db, version)
        return db

    @staticmethod
    def _prepare(db: sqlite3.Connection, version: str) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if row is None or row[0] != version:
            # Queries or format changed: every stored tag is stale, and the columns may be too.
            db.executescript("DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS rankings;")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (version,))
        db.executescript(SCHEMA)

    def _warn(self, exc: Exception) -> None:
        self.notice = f"repo map cache {self.path} is unusable ({exc}); keeping it in memory"
        warnings.warn(self.notice, RuntimeWarning, stacklevel=4)

    def _fallback(self, exc: Exception) -> None:
        """Move to an empty in-memory cache after a failure on one that had opened fine.

        Rows are not copied: the map notices what is missing and parses those files again.
        """
        if self.notice is None:
            self._warn(exc)
        try:
            self._db.close()
        except sqlite3.Error:
            pass
        self.path = None
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._prepare(self._db, "memory")

    def stats(self) -> dict[str, Stat]:
        """Every cached path with what it was tagged at."""
        try:
            rows = self._db.execute(
                "SELECT path, size, mtime_ns, digest, shape, tags FROM files"
            ).fetchall()
        except sqlite3.Error as exc:
            self._fallback(exc)
            return {}
        return {row[0]: Stat(*row[1:]) for row in rows}

    def shapes(self) -> dict[str, Shape]:
        """Definition names and reference counts of every tagged file."""
        try:
            rows = self._db.execute("SELECT path, names FROM files WHERE names IS NOT NULL")
            return {path: decode_names(text) for path, text in rows}
        except (sqlite3.Error, ValueError) as exc:
            self._fallback(exc)
            return {}

    def defs(self, paths: Iterable[str] | None = None) -> dict[str, tuple[Definition, ...]]:
        """Definitions of the given files (all files when None)."""
        try:
            if paths is None:
                rows = self._db.execute("SELECT path, defs FROM files WHERE defs IS NOT NULL")
                found = rows.fetchall()
            else:
                wanted = list(paths)
                found = []
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    query = f"SELECT path, defs FROM files WHERE path IN ({marks})"
                    found += self._db.execute(query, chunk).fetchall()
                found = [(path, text) for path, text in found if text is not None]
            return {path: decode_defs(text) for path, text in found}
        except (sqlite3.Error, ValueError, TypeError) as exc:
            self._fallback(exc)
            return {}

    def update(
        self,
        tagged: Iterable[tuple[Parsed, int, int]],
        restat: Iterable[tuple[str, Stat]] = (),
        removed: Iterable[str] = (),
    ) -> None:
        """Store newly tagged files (with size and mtime), new stats of unchanged files, and
        drop removed ones."""
        rows = [
            (p.path, size, mtime, p.digest, p.shape, p.tags, p.names, p.defs)
            for p, size, mtime in tagged
        ]
        stats = [(stat.size, stat.mtime_ns, path) for path, stat in restat]
        gone = [(path,) for path in removed]
        if not (rows or stats or gone):
            return
        try:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?)", rows)
            self._db.executemany("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", stats)
            self._db.executemany("DELETE FROM files WHERE path = ?", gone)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fallback(exc)

    def ranking(self, key: str) -> str | None:
        """A ranking stored under `key`, if any."""
        try:
            row = self._db.execute("SELECT value FROM rankings WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._fallback(exc)
            return None
        return None if row is None else str(row[0])

    def store_ranking(self, key: str, value: str) -> None:
        """Keep a ranking for reuse; the oldest ones beyond KEPT_RANKINGS are dropped."""
        try:
            self._db.execute("INSERT OR REPLACE INTO rankings VALUES (?, ?)", (key, value))
            self._db.execute(
                "DELETE FROM rankings WHERE rowid NOT IN "
                "(SELECT rowid FROM rankings ORDER BY rowid DESC LIMIT ?)",
                (KEPT_RANKINGS,),
            )
        except sqlite3.Error as exc:
            self._fallback(exc)

    def close(self) -> None:
        """Close the database."""
        self._db.close()
