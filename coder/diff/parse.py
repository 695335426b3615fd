"""Unified-diff parsing that tolerates what models emit, built on `unidiff`.

A normalising pass first finds the diff inside fences and prose, recounts hunk bodies,
fills in missing file headers and line numbers; `unidiff` then parses the canonical text.
The only module that imports `unidiff`. Over 400 lines because the model-quirk rules
(fences, counts, headers, paths, CRLF) and the types they produce belong together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import unidiff

from coder.errors import PatchError, UsageError


class PatchParseError(PatchError, UsageError):
    """The input holds no usable diff (exit code 2, like other bad input)."""


@dataclass
class Hunk:
    """One hunk: its lines as (tag, text) with tag in " -+" and text without the newline."""

    path: str
    lines: list[tuple[str, str]]
    old_start: int
    """1-based first old line as stated (for a pure insertion: the line it follows)."""
    new_start: int
    has_position: bool = True
    """False when the header carried no line numbers (`@@ @@`): placed by content only."""
    section: str = ""
    old_no_eol: bool = False
    """The old side's last line had no newline (`\\ No newline at end of file`)."""
    new_no_eol: bool = False
    kind: str = "change"
    """"change" for a real hunk; for a file operation that carries no lines, so per-hunk
    approval can still select it: "rename", "copy", "delete", "create", "mode" or "binary"."""
    note: str = ""
    """For a file operation: what it does, in words."""

    @property
    def old_lines(self) -> list[str]:
        """Context and removed lines, in order: what must be found in the file."""
        return [text for tag, text in self.lines if tag != "+"]

    @property
    def new_lines(self) -> list[str]:
        """Context and added lines, in order: what replaces the old lines."""
        return [text for tag, text in self.lines if tag != "-"]

    @property
    def header(self) -> str:
        """The `@@ -a,b +c,d @@ section` line (recounted), or the file operation's note."""
        if self.kind != "change":
            return self.note
        old_len, new_len = len(self.old_lines), len(self.new_lines)
        if not self.has_position:
            text = "@@ @@"
        else:
            text = f"@@ -{self.old_start},{old_len} +{self.new_start},{new_len} @@"
        return f"{text} {self.section}" if self.section else text

    def text(self) -> str:
        """The hunk as unified-diff text, for display."""
        if self.kind != "change":
            return self.note + "\n"
        out = [self.header]
        last_old = max((i for i, (t, _) in enumerate(self.lines) if t != "+"), default=-1)
        last_new = max((i for i, (t, _) in enumerate(self.lines) if t != "-"), default=-1)
        for i, (tag, value) in enumerate(self.lines):
            out.append(tag + value)
            if (i == last_old and self.old_no_eol) or (i == last_new and self.new_no_eol):
                out.append("\\ No newline at end of file")
        return "\n".join(out) + "\n"


@dataclass
class FilePatch:
    """The changes to one file: target path, source path and what happens to the file."""

    path: str
    source_path: str
    is_new: bool = False
    is_deleted: bool = False
    is_rename: bool = False
    """Git's "rename from/to": the source goes away."""
    is_copy: bool = False
    """Git's "copy from/to": the source stays."""
    is_binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    hunks: list[Hunk] = field(default_factory=list)


@dataclass
class Patch:
    """A parsed diff: files in diff order."""

    files: list[FilePatch]
    text: str = ""
    """The diff as it was given (what a reviewer reads)."""

    @property
    def hunks(self) -> list[Hunk]:
        """All hunks across files in diff order; a hunk's index here is its selection index."""
        return [hunk for file in self.files for hunk in file.hunks]


# ---- normalisation ----------------------------------------------------------------------

_HUNK_HEADER = re.compile(r"^@@+\s*(?:-(\d+)(?:,(\d+))?)?\s*(?:\+(\d+)(?:,(\d+))?)?\s*@@+ ?(.*)$")
_GIT_HEADER = re.compile(r"^diff --git (.+)$")
_EXTENDED = re.compile(
    r"^(old mode|new mode|deleted file mode|new file mode|similarity index|dissimilarity index"
    r"|rename from|rename to|copy from|copy to|index) ?(.*)$"
)
_BINARY = re.compile(r"^Binary files (.+) and (.+) differ$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass
class _RawFile:
    old: str | None = None
    new: str | None = None
    git_old: str | None = None
    git_new: str | None = None
    extended: dict[str, str] = field(default_factory=dict)
    binary: bool = False
    hunks: list[_RawHunk] = field(default_factory=list)


@dataclass
class _RawHunk:
    old_start: int | None
    new_start: int | None
    section: str
    body: list[str]


def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    # A diff sent with CRLF line ends has "\r" on its header lines too; a diff of a CRLF
    # file has it only on content lines, where it belongs to the content.
    headers = [ln for ln in lines if ln.startswith(("@@", "diff --git", "--- ", "+++ "))]
    if headers and all(ln.endswith("\r") for ln in headers):
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return lines


def _unfence(lines: list[str]) -> list[str]:
    """Keep only the fenced blocks that look like diffs, when the text has fences."""
    if not any(_FENCE.match(ln) for ln in lines):
        return lines
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        if _FENCE.match(line) and not line.startswith(("+", "-", " ")):
            if current is None:
                current = []
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    if current:
        blocks.append(current)
    diffs = [b for b in blocks if any(ln.startswith(("@@", "--- ", "+++ ")) for ln in b)]
    return [ln for block in diffs for ln in block] if diffs else lines


def _is_body(line: str) -> bool:
    return line == "" or line[0] in " +-\\"


def _is_file_start(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.startswith("diff --git ") or line.startswith("Index: "):
        return True
    return (
        line.startswith("--- ")
        and i + 1 < len(lines)
        and (lines[i + 1].startswith("+++ ") or lines[i + 1].startswith("+++\t"))
    )


def _body_by_counts(
    lines: list[str], i: int, old_count: int, new_count: int
) -> tuple[list[str], int] | None:
    """Read a hunk body by its stated counts; None if they do not fit the text."""
    body: list[str] = []
    old = new = 0
    while i < len(lines) and (old < old_count or new < new_count):
        line = lines[i]
        if line.startswith("--- ") and _is_file_start(lines, i):
            # "--- x" / "+++ y" / "@@" is the next file, whatever the counts say; without
            # the "@@" it may be a removed "-- x" line followed by an added "++ y" one.
            if i + 2 >= len(lines) or lines[i + 2].startswith("@@"):
                return None
        if line.startswith("\\"):
            body.append(line)
            i += 1
            continue
        if line.startswith(("@@", "diff --git ", "Index: ")):
            return None
        if not _is_body(line):
            # A context line whose leading space the model dropped; the counts vouch for it.
            line = " " + line
        tag = line[:1] or " "
        if tag == " ":
            old += 1
            new += 1
        elif tag == "-":
            old += 1
        else:
            new += 1
        body.append(line)
        i += 1
    if old != old_count or new != new_count:
        return None
    while i < len(lines) and lines[i].startswith("\\"):
        body.append(lines[i])
        i += 1
    # The counts fit only if the hunk really ends here.
    if i < len(lines) and _is_body(lines[i]) and lines[i] != "" and not _is_file_start(lines, i):
        return None
    return body, i


def _body_by_shape(lines: list[str], i: int) -> tuple[list[str], int]:
    """Read a hunk body up to the next header or non-diff line (counts were wrong)."""
    body: list[str] = []
    while i < len(lines):
        line = lines[i]
        if line.startswith("@@") or _is_file_start(lines, i) or not _is_body(line):
            break
        body.append(line)
        i += 1
    while body and body[-1] == "":
        body.pop()
    return body, i


def _raw_files(lines: list[str]) -> list[_RawFile]:
    files: list[_RawFile] = []
    current: _RawFile | None = None
    in_git_header = False
    i = 0
    while i < len(lines):
        line = lines[i]
        git = _GIT_HEADER.match(line)
        if git:
            current = _RawFile()
            current.git_old, current.git_new = _split_git_paths(git.group(1))
            files.append(current)
            in_git_header = True
            i += 1
            continue
        ext = _EXTENDED.match(line) if in_git_header and current is not None else None
        if ext and current is not None:
            current.extended[ext.group(1)] = ext.group(2).strip()
            i += 1
            continue
        if (
            in_git_header
            and current is not None
            and (line.startswith("Binary files ") or line == "GIT binary patch")
        ):
            current.binary = True
            in_git_header = False
            i += 1
            continue
        binary = _BINARY.match(line)
        if binary:
            # `diff -u` output for a binary file, outside any git header.
            current = _RawFile(old=_header_path(binary.group(1)), new=_header_path(binary.group(2)))
            current.binary = True
            files.append(current)
            i += 1
            continue
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            if current is None or not in_git_header:
                current = _RawFile()
                files.append(current)
            current.old = _header_path(line[4:])
            current.new = _header_path(lines[i + 1][4:])
            in_git_header = False
            i += 2
            continue
        if line.startswith("+++ ") and (current is None or current.hunks or not in_git_header):
            # Only a target header: a model quirk; the source is the same file.
            current = _RawFile()
            current.new = _header_path(line[4:])
            current.old = current.new
            files.append(current)
            in_git_header = False
            i += 1
            continue
        if line.startswith("@@"):
            if current is None:
                raise PatchParseError("hunk before any file header (--- a/PATH / +++ b/PATH)")
            in_git_header = False
            # Anything else between @@ markers ("@@ line 12 @@", "@@") has no usable numbers.
            header = _HUNK_HEADER.match(line)
            old_s, old_c, new_s, new_c, section = (
                header.groups() if header else (None, None, None, None, line.split("@@")[-1])
            )
            i += 1
            read = None
            if old_s is not None and new_s is not None:
                counts = (int(old_c) if old_c is not None else 1,) + (
                    int(new_c) if new_c is not None else 1,
                )
                read = _body_by_counts(lines, i, *counts)
            body, i = read if read is not None else _body_by_shape(lines, i)
            current.hunks.append(
                _RawHunk(
                    int(old_s) if old_s is not None else None,
                    int(new_s) if new_s is not None else None,
                    section.strip(),
                    body,
                )
            )
            continue
        # Prose between diffs: ends any git header block, otherwise ignored.
        if not line.startswith(("Index: ", "====")):
            in_git_header = False
        i += 1
    return files


def _unquote(path: str) -> str:
    if len(path) >= 2 and path[0] == '"' and path[-1] == '"':
        raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return raw.encode("latin-1", "replace").decode("utf-8", "replace")
    return path


def _header_path(value: str) -> str:
    value = value.split("\t", 1)[0].rstrip()
    # `diff -u` style timestamps after spaces: "path 2024-01-01 10:00:00.000 +0000"
    value = re.sub(r"\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?( [+-]\d{4})?$", "", value)
    return _unquote(value.strip())


def _split_git_paths(rest: str) -> tuple[str | None, str | None]:
    rest = rest.strip()
    if rest.startswith('"'):
        match = re.match(r'^("(?:[^"\\]|\\.)*")\s+(.+)$', rest)
        if match:
            return _unquote(match.group(1)), _unquote(match.group(2))
    match = re.match(r"^(a/.+?) (b/.+)$", rest)
    if match:
        return match.group(1), match.group(2)
    parts = rest.split(" ")
    if len(parts) % 2 == 0:
        half = len(parts) // 2
        return " ".join(parts[:half]), " ".join(parts[half:])
    return None, None


# ---- canonical text and unidiff --------------------------------------------------------


def _strip_prefixes(old: str, new: str) -> tuple[str, str]:
    """Drop git's a/ b/ prefixes when both sides carry them (or /dev/null)."""
    null = "/dev/null"
    old_ok = old == null or old.startswith("a/")
    new_ok = new == null or new.startswith("b/")
    if old_ok and new_ok and not (old == null and new == null):
        old = old if old == null else old[2:]
        new = new if new == null else new[2:]
    return old, new


def _file_paths(raw: _RawFile) -> tuple[str, str]:
    ext = raw.extended
    null = "/dev/null"
    old = raw.old if raw.old is not None else raw.git_old
    new = raw.new if raw.new is not None else raw.git_new
    if old is None and new is None:
        raise PatchParseError("file header without paths")
    old = old if old is not None else new
    new = new if new is not None else old
    assert old is not None and new is not None
    if raw.old is None and raw.git_old is not None:
        # git headers only (rename, mode change, empty file): git_* carry the a/ b/ form.
        if "new file mode" in ext:
            old = null
        if "deleted file mode" in ext:
            new = null
    old, new = _strip_prefixes(old, new)
    if "rename from" in ext:
        old = _unquote(ext["rename from"])
    if "rename to" in ext:
        new = _unquote(ext["rename to"])
    if "copy from" in ext:
        old = _unquote(ext["copy from"])
    if "copy to" in ext:
        new = _unquote(ext["copy to"])
    return old, new


def _canonical(raw: _RawFile, old: str, new: str) -> tuple[str, list[bool]]:
    """The file's diff in strict form for unidiff, and each hunk's has_position flag."""
    out = [
        f"diff --git a/{old if old != '/dev/null' else new} b/{new if new != '/dev/null' else old}"
    ]
    for key in ("old mode", "new mode", "deleted file mode", "new file mode"):
        if key in raw.extended:
            out.append(f"{key} {raw.extended[key]}")
    # unidiff wants git's markers for additions and deletions; the mode here is a stand-in.
    if old == "/dev/null" and "new file mode" not in raw.extended:
        out.append("new file mode 100644")
    if new == "/dev/null" and "deleted file mode" not in raw.extended:
        out.append("deleted file mode 100644")
    if raw.binary:
        out.append(f"Binary files a/{old} and b/{new} differ")
        return "\n".join(out) + "\n", []
    positions: list[bool] = []
    if raw.hunks:
        out.append(f"--- {'a/' + old if old != '/dev/null' else old}")
        out.append(f"+++ {'b/' + new if new != '/dev/null' else new}")
    for hunk in raw.hunks:
        body = [ln if ln != "" else " " for ln in hunk.body]
        old_n = sum(1 for ln in body if ln[0] in " -")
        new_n = sum(1 for ln in body if ln[0] in " +")
        has_pos = hunk.old_start is not None
        old_s = hunk.old_start if hunk.old_start is not None else (1 if old_n else 0)
        new_s = hunk.new_start if hunk.new_start is not None else (1 if new_n else 0)
        out.append(f"@@ -{old_s},{old_n} +{new_s},{new_n} @@ {hunk.section}".rstrip())
        for ln in body:
            out.append("\\ No newline at end of file" if ln.startswith("\\") else ln)
        positions.append(has_pos)
    return "\n".join(out) + "\n", positions


def _iter_files(text: str) -> Iterator[tuple[_RawFile, str, str]]:
    lines = _unfence(_split_lines(text))
    for raw in _raw_files(lines):
        old, new = _file_paths(raw)
        yield raw, old, new


def parse_patch(text: str) -> Patch:
    """Parse a unified diff as models write it; raise PatchParseError when there is none."""
    if not isinstance(text, str) or not text.strip():
        raise PatchParseError("empty diff")
    files: list[FilePatch] = []
    for raw, old, new in _iter_files(text):
        if not raw.hunks and not raw.binary and not raw.extended:
            continue
        canonical, positions = _canonical(raw, old, new)
        try:
            parsed = unidiff.PatchSet(canonical)
        except unidiff.UnidiffParseError as exc:
            raise PatchParseError(f"cannot parse the diff for {new}: {exc}") from exc
        for pfile in parsed:
            files.append(_file_patch(pfile, raw, old, new, positions))
    if not files:
        raise PatchParseError("no diff found (expected --- / +++ file headers and @@ hunks)")
    return Patch(files, text)


def _file_patch(
    pfile: unidiff.PatchedFile, raw: _RawFile, old: str, new: str, positions: list[bool]
) -> FilePatch:
    null = "/dev/null"
    is_new = old == null
    is_deleted = new == null
    path = old if is_deleted else new
    source = new if is_new else old
    fp = FilePatch(
        path=path,
        source_path=source,
        is_new=is_new,
        is_deleted=is_deleted,
        is_rename="rename from" in raw.extended or "rename to" in raw.extended,
        is_copy="copy from" in raw.extended or "copy to" in raw.extended,
        is_binary=pfile.is_binary_file or raw.binary,
        old_mode=raw.extended.get("old mode") or raw.extended.get("deleted file mode"),
        new_mode=raw.extended.get("new mode") or raw.extended.get("new file mode"),
    )
    for number, uhunk in enumerate(pfile):
        lines: list[tuple[str, str]] = []
        old_no_eol = new_no_eol = False
        for uline in uhunk:
            if uline.line_type == "\\":
                if lines:
                    tag = lines[-1][0]
                    old_no_eol = old_no_eol or tag in " -"
                    new_no_eol = new_no_eol or tag in " +"
                continue
            value = uline.value[:-1] if uline.value.endswith("\n") else uline.value
            tag = uline.line_type if uline.line_type in "+-" else " "
            lines.append((tag, value))
        # A marker after a "-" line followed by "+" lines refers to the old side only.
        fp.hunks.append(
            Hunk(
                path=path,
                lines=lines,
                old_start=uhunk.source_start,
                new_start=uhunk.target_start,
                has_position=positions[number] if number < len(positions) else True,
                section=uhunk.section_header,
                old_no_eol=old_no_eol,
                new_no_eol=new_no_eol,
            )
        )
    _add_file_operations(fp)
    return fp


def _add_file_operations(fp: FilePatch) -> None:
    """Give hunkless file operations a hunk of their own, so they can be selected."""
    if fp.hunks or fp.is_binary:
        if fp.is_binary:
            fp.hunks.append(_op(fp, "binary", f"binary change to {fp.path}"))
        return
    if fp.is_rename:
        fp.hunks.append(_op(fp, "rename", f"rename {fp.source_path} → {fp.path}"))
    elif fp.is_copy:
        fp.hunks.append(_op(fp, "copy", f"copy {fp.source_path} → {fp.path}"))
    elif fp.is_deleted:
        fp.hunks.append(_op(fp, "delete", f"delete {fp.path}"))
    elif fp.is_new:
        fp.hunks.append(_op(fp, "create", f"create empty {fp.path}"))
    elif fp.old_mode != fp.new_mode and fp.new_mode:
        fp.hunks.append(_op(fp, "mode", f"mode {fp.old_mode} → {fp.new_mode} {fp.path}"))


def _op(fp: FilePatch, kind: str, note: str) -> Hunk:
    return Hunk(path=fp.path, lines=[], old_start=0, new_start=0, kind=kind, note=note)
