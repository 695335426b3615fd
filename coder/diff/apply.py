"""Applying a parsed patch to a workspace: all-or-nothing, atomic writes, a result per hunk.

Every file is read and patched in memory first; only when every selected hunk has a place
is anything written, and a failure part-way through the writes restores what was written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from coder.diff.parse import FilePatch, Hunk, Patch
from coder.diff.place import (
    FileIndex,
    Lines,
    Placement,
    Target,
    loose_key,
    place,
    reindent,
    splice,
)
from coder.errors import PatchError, WorkspaceError
from coder.journal import Change
from coder.workspace import Workspace

NEW_FILE_MODE = 0o644
QUOTE_RADIUS = 3
QUOTE_MAX = 40


@dataclass
class HunkResult:
    """The outcome of one hunk."""

    index: int
    path: str
    status: str
    """exact, offset, whitespace, fuzzy, rejected or skipped (not selected)."""
    offset: int = 0
    """Lines between where the header said and where the hunk was found."""
    reason: str = ""
    header: str = ""
    excerpt: str = ""
    """For a rejected hunk: the file's current numbered lines around where it was aimed."""


@dataclass
class PatchResult:
    """The outcome of applying (or checking) a patch."""

    ok: bool
    hunks: list[HunkResult]
    written: list[str] = field(default_factory=list)
    """Paths created, changed or deleted (empty for a check or a rejection)."""
    checked: bool = False

    def feedback(self) -> str:
        """A concise report for the model (and the CLI): each file and hunk's outcome."""
        chosen = [h for h in self.hunks if h.status != "skipped"]
        rejected = [h for h in chosen if h.status == "rejected"]
        if rejected:
            head = f"Rejected {len(rejected)} of {len(chosen)} hunks; nothing was written."
        elif self.checked:
            head = f"Check passed: all {len(chosen)} hunks apply; nothing was written."
        else:
            files = len(self.written)
            head = f"Applied {len(chosen)} hunks to {files} file{'s' if files != 1 else ''}."
        out = [head]
        path = None
        for h in self.hunks:
            if h.path != path:
                path = h.path
                out.append(path)
            out.append(f"  hunk {h.index + 1} {h.header}: {_describe(h)}")
            if h.excerpt:
                out.append(h.excerpt)
        return "\n".join(out)


def _describe(h: HunkResult) -> str:
    if h.status == "rejected":
        return f"rejected: {h.reason}"
    text = h.status
    if h.offset and h.status != "exact":
        text += f" {h.offset:+d}" if h.status == "offset" else f" (offset {h.offset:+d})"
    if h.reason:
        text += f"; {h.reason}"
    return text


@dataclass
class _Content:
    """A file held in memory while the patch is worked out; lines lack their "\\n"."""

    lines: list[str] | None
    """None when the file does not exist."""
    final_newline: bool = True
    mode: int | None = None

    @classmethod
    def decode(cls, data: bytes, mode: int | None) -> _Content:
        text = data.decode("utf-8", "surrogateescape")
        if text == "":
            return cls([], True, mode)
        lines = text.split("\n")
        final = lines[-1] == ""
        if final:
            lines.pop()
        return cls(lines, final, mode)

    def encode(self) -> bytes:
        assert self.lines is not None
        text = "\n".join(self.lines)
        if self.lines and self.final_newline:
            text += "\n"
        return text.encode("utf-8", "surrogateescape")

    @property
    def crlf(self) -> bool:
        lines = self.lines or []
        return sum(1 for x in lines if x.endswith("\r")) * 2 > len(lines)


class _Rejected(Exception):
    """A whole file could not be patched (missing, binary, refused path)."""


class _Run:
    """One application of a patch: the in-memory files and the per-hunk results."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.files: dict[str, _Content] = {}
        self.originals: dict[str, _Content] = {}

    def load(self, path: str) -> _Content:
        if path in self.files:
            return self.files[path]
        try:
            self.ws.refuse_secret(path)
            kind, mode = self.ws.inspect(path)
            if kind == "symlink":
                raise _Rejected(f"symbolic link, not patched: {path}")
            if kind == "dir":
                raise _Rejected(f"is a directory: {path}")
            if kind not in (None, "file"):
                raise _Rejected(f"not a regular file: {path}")
            data = self.ws.read_bytes(path) if kind == "file" else None
        except WorkspaceError as exc:
            raise _Rejected(str(exc)) from exc
        if data is not None:
            if b"\0" in data[:8192]:
                raise _Rejected(f"binary file, not patched: {path}")
            content = _Content.decode(data, mode)
        else:
            content = _Content(None)
        self.originals[path] = _Content(
            None if content.lines is None else list(content.lines),
            content.final_newline,
            content.mode,
        )
        self.files[path] = content
        return content

    def patch_file(self, fp: FilePatch, chosen: list[tuple[int, Hunk]]) -> list[HunkResult]:
        if fp.is_binary:
            raise _Rejected("binary diffs are not supported")
        source = self.load(fp.source_path)
        target = self.load(fp.path) if fp.path != fp.source_path else source
        moving = fp.is_rename or fp.is_copy
        where = fp.path
        if not (moving or fp.is_new or fp.is_deleted) and fp.path != fp.source_path:
            # Different ---/+++ names without git's rename lines: patch the one that
            # exists in place, as GNU patch does, rather than guess at a rename.
            where = fp.source_path if source.lines is not None else fp.path
            source = target = self.load(where)
        changes = [(i, h) for i, h in chosen if h.kind == "change"]
        creating = fp.is_new or (
            source.lines is None and changes and all(not h.old_lines for _, h in changes)
        )
        if creating:
            if target.lines:
                raise _Rejected(f"already exists: {fp.path}")
            base = _Content([], True, None)
        else:
            if source.lines is None:
                raise _Rejected(f"no such file: {fp.source_path}")
            if moving and target.lines is not None:
                kind = "rename" if fp.is_rename else "copy"
                raise _Rejected(f"{kind} target already exists: {fp.path}")
            base = source
        results, lines, final_newline = _place_all(base, changes)
        if any(r.status == "rejected" for r in results):
            return results + [
                _op_result(i, h, "rejected", "") for i, h in chosen if h.kind != "change"
            ]
        if fp.is_deleted:
            if lines:
                raise _Rejected(
                    f"not deleting {fp.path}: {len(lines)} of its lines are not in the diff"
                )
            self.files[fp.source_path] = _Content(None)
        else:
            mode = base.mode if base.mode is not None else NEW_FILE_MODE
            if fp.new_mode in ("100755", "100644"):
                mode &= ~0o111
                if fp.new_mode == "100755":
                    mode |= (mode & 0o444) >> 2
            if fp.is_rename:
                self.files[fp.source_path] = _Content(None)
            self.files[where] = _Content(lines, final_newline, mode)
        return results + [_op_result(i, h, "exact", "") for i, h in chosen if h.kind != "change"]

    def changed(self) -> list[str]:
        out = []
        for path, content in self.files.items():
            before = self.originals[path]
            if (content.lines, content.final_newline, content.mode) != (
                before.lines,
                before.final_newline,
                before.mode,
            ) and not (content.lines is None and before.lines is None):
                out.append(path)
        return out

    def write(self, paths: list[str]) -> None:
        """Write every changed file as one journaled change: all of them, or none."""
        changes = []
        for path in paths:
            content = self.files[path]
            if content.lines is None:
                if self.ws.exists(path):
                    changes.append(Change(path, None))
            else:
                changes.append(Change(path, content.encode(), content.mode))
        try:
            self.ws.apply_changes(changes)
        except WorkspaceError as exc:
            raise PatchError(str(exc)) from exc


def _op_result(index: int, hunk: Hunk, status: str, reason: str) -> HunkResult:
    return HunkResult(index, hunk.path, status, 0, reason, hunk.header)


def _stated_index(hunk: Hunk) -> int:
    """0-based index of the hunk's first old line according to its header."""
    return hunk.old_start - 1 if hunk.old_lines else hunk.old_start


def _place_all(
    base: _Content, changes: list[tuple[int, Hunk]]
) -> tuple[list[HunkResult], list[str], bool]:
    """Place every hunk against `base`; the results and the patched lines."""
    assert base.lines is not None
    file_lines = base.lines
    crlf = base.crlf
    results: list[HunkResult] = []
    placed: list[tuple[list[tuple[str, str]], Placement, Hunk]] = []
    taken: list[tuple[int, int]] = []
    last_offset = 0
    after = 0
    file_index = FileIndex(file_lines)
    for index, hunk in changes:
        lines = [
            (t, x + "\r" if crlf and t == "+" and not x.endswith("\r") else x)
            for t, x in hunk.lines
        ]
        stated = _stated_index(hunk) if hunk.has_position else None
        expected = None if stated is None else max(stated + last_offset, 0)
        p = place(file_index, Target(lines, expected), taken, after)
        if not p.ok:
            aim = expected if expected is not None else after
            excerpt = _excerpt(file_lines, hunk, aim, p)
            reason = p.reason + _already_applied(file_index, hunk)
            results.append(
                HunkResult(index, hunk.path, "rejected", 0, reason, hunk.header, excerpt)
            )
            continue
        offset = p.start - p.head - stated if stated is not None else 0
        if stated is not None:
            last_offset = offset
        n_old = sum(1 for t, _ in lines[p.head : len(lines) - p.tail] if t != "+")
        taken.append((p.start, p.start + n_old))
        after = p.start + n_old
        status = p.status
        if status in ("exact", "offset"):
            status = "exact" if stated is not None and offset == 0 else "offset"
        reason = "" if hunk.has_position else "no line numbers: placed by content"
        if p.status == "fuzzy":
            reason = f"ignored {p.head + p.tail} context line(s)"
        results.append(HunkResult(index, hunk.path, status, offset, reason, hunk.header))
        placed.append((lines, p, hunk))
    if any(r.status == "rejected" for r in results):
        return results, file_lines, base.final_newline

    def adjust(p: Placement, trimmed: Lines) -> Callable[[str], str]:
        if p.status in ("whitespace", "fuzzy"):
            return reindent(file_lines, p, trimmed)
        return lambda text: text

    new_lines = splice(file_lines, [(lines, p) for lines, p, _ in placed], adjust)
    final_newline = base.final_newline
    for lines, p, hunk in placed:
        n_old = sum(1 for t, _ in lines if t != "+")
        if p.tail == 0 and p.start - p.head + n_old == len(file_lines):
            if hunk.new_no_eol:
                final_newline = False
            elif hunk.old_no_eol or not file_lines:
                final_newline = True
    return results, new_lines, final_newline


def _already_applied(index: FileIndex, hunk: Hunk) -> str:
    """A hint when the hunk's result is already in the file (a retried or repeated edit)."""
    if not any(tag != " " for tag, _ in hunk.lines) or not any(x.strip() for x in hunk.new_lines):
        return ""
    found = index.matches(hunk.new_lines, True, ())
    if len(found) == 1:
        return f"; its new lines are already at line {found[0] + 1} (applied before?)"
    return ""


def _excerpt(file_lines: list[str], hunk: Hunk, aim: int, p: Placement) -> str:
    """The file's current lines around where the hunk was aimed, numbered from 1."""
    old = hunk.old_lines
    if p.candidates:
        aim = p.candidates[0]
    else:
        aim = _best_guess(file_lines, old, aim)
    lo = max(aim - QUOTE_RADIUS, 0)
    hi = min(aim + len(old) + QUOTE_RADIUS, len(file_lines), lo + QUOTE_MAX)
    if lo >= hi:
        return f"    ({hunk.path} has {len(file_lines)} lines)"
    width = len(str(hi))
    rows = [f"    current lines {lo + 1}-{hi} of {hunk.path}:"]
    rows += [f"    {n + 1:>{width}} | {file_lines[n].rstrip(chr(13))}" for n in range(lo, hi)]
    return "\n".join(rows)


def _best_guess(file_lines: list[str], old: list[str], aim: int) -> int:
    """Where most of the hunk's non-blank old lines would line up, nearest to `aim`."""
    where: dict[str, list[int]] = {}
    for n, line in enumerate(file_lines):
        key = loose_key(line)
        if key:
            where.setdefault(key, []).append(n)
    votes: dict[int, int] = {}
    for k, line in enumerate(old):
        for n in where.get(loose_key(line), [])[:50]:
            votes[n - k] = votes.get(n - k, 0) + 1
    if not votes:
        return min(max(aim, 0), max(len(file_lines) - 1, 0))
    best = max(votes.values())
    return min((s for s, v in votes.items() if v == best), key=lambda s: abs(s - aim))


def apply_parsed(
    patch: Patch, ws: Workspace, select: Collection[int] | None = None, check: bool = False
) -> PatchResult:
    """Apply the selected hunks of a parsed patch; see `coder.diff.apply_patch`."""
    run = _Run(ws)
    results: list[HunkResult] = []
    index = 0
    for fp in patch.files:
        numbered = list(enumerate(fp.hunks, start=index))
        index += len(fp.hunks)
        chosen = [(i, h) for i, h in numbered if select is None or i in select]
        skipped = [_op_result(i, h, "skipped", "") for i, h in numbered if (i, h) not in chosen]
        file_results: list[HunkResult] = []
        if chosen:
            try:
                file_results = run.patch_file(fp, chosen)
            except _Rejected as exc:
                file_results = [_op_result(i, h, "rejected", str(exc)) for i, h in chosen]
        results += sorted(file_results + skipped, key=lambda r: r.index)
    ok = all(r.status != "rejected" for r in results)
    written: list[str] = []
    if ok and not check:
        written = run.changed()
        run.write(written)
    return PatchResult(ok, results, written, checked=check)
