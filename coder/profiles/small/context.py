"""The files a small model sees with the issue: a 1.5B model fixes far more when the code
is in front of it than when it must find and read it."""

from __future__ import annotations

from pathlib import Path

from coder import prompts
from coder.errors import CoderError
from coder.profiles.small.spec import condense, importing_tests, missing_names
from coder.workspace import Workspace

CONTEXT_CHARS = 6000
SPEC_CHARS = 2400
"""A test file too long to show whole is condensed to this (about 700 tokens: 20 s of
prefill on two cores, once, in the cached prefix)."""
MAX_FILE_BYTES = 16_000
SOURCE_SUFFIXES = frozenset(
    {".py", ".js", ".ts", ".go", ".rs", ".java", ".c", ".h", ".rb", ".sh", ".toml", ".cfg"}
)
LANGS = {".py": "python", ".js": "javascript", ".ts": "typescript", ".go": "go", ".rs": "rust"}


def read_source(ws: Workspace, path: str) -> str | None:
    """The UTF-8 text of a file through the path guard; None when absent, refused or binary."""
    try:
        return ws.read_bytes(path).decode("utf-8")
    except (CoderError, OSError, UnicodeDecodeError):
        return None


def repo_files(ws: Workspace) -> list[str]:
    """Small files of the repository as the workspace lists them (tracked, and untracked
    but not ignored), without hidden folders, caches or secrets; sorted."""
    files = []
    for name in ws.list_files():  # the workspace's one listing: ignore rules, no .git
        parts = name.split("/")
        if any(part.startswith(".") or part == "__pycache__" for part in parts):
            continue
        path = ws.root / name
        if ws.is_secret(name) or path.is_symlink():
            continue
        try:
            if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                files.append(name)
        except OSError:
            continue
    return sorted(files)


def repo_context(
    ws: Workspace, task: str, budget: int = CONTEXT_CHARS, record: dict[str, str] | None = None
) -> str:
    """File list plus the full text of the most relevant small files, within `budget` chars.

    Sources named in the task come first, then other sources, then tests. The files shown
    are recorded in `record` (path → text) when it is given.
    """
    files = repo_files(ws)

    def rank(name: str) -> tuple[int, int, str]:
        stem = Path(name).stem
        is_test = stem.startswith("test_") or stem.endswith("_test") or "tests/" in name
        mentioned = stem in task or name in task
        return (is_test, not mentioned, name)

    shown: list[tuple[tuple[int, int, str], str]] = []
    whole: dict[str, str] = {}
    used = 0
    sources = [name for name in files if name.endswith(".py") and not rank(name)[0]]
    for name in sorted(files, key=rank):
        if Path(name).suffix not in SOURCE_SUFFIXES or name == "ISSUE.md":
            continue
        text = read_source(ws, name)
        if text is None:
            continue
        label = " (a test: read it, never change it)" if rank(name)[0] else ""
        block = f"{name}{label}:\n```{LANGS.get(Path(name).suffix, '')}\n{text.rstrip()}\n```"
        if used + len(block) > budget and rank(name)[0] and name.endswith(".py"):
            block = _condensed_block(name, text, sources, min(SPEC_CHARS, budget - used))
            if block and used + len(block) <= budget:
                shown.append((rank(name), block))
                used += len(block)
            continue
        if used + len(block) > budget:
            continue
        shown.append((rank(name), block))
        used += len(block)
        whole[name] = text
    if record is not None:
        record.update(whole)
    # tests first, the code to fix last: nearest to where the model starts writing
    ordered = [block for key, block in sorted(shown, key=lambda e: (not e[0][0], e[0][1:]))]
    python_tests = [name for name in files if rank(name)[0] and name.endswith(".py")]
    ordered += _undefined_imports(
        {name: text for name, text in whole.items() if name.endswith(".py") and not rank(name)[0]},
        {name: read_source(ws, name) or "" for name in python_tests},
    )
    return prompts.render(
        "context", "small", files="\n".join(files) or "(none)", contents="\n\n".join(ordered)
    )


def _condensed_block(name: str, text: str, sources: list[str], budget: int) -> str:
    """A test file too long to show whole, condensed, when it tests one of `sources`."""
    if budget < 400 or not importing_tests(sources, {name: text}):
        return ""
    condensed = condense(text, budget - 80)
    if not condensed:
        return ""
    return f"{name} (a test: never change it), in short:\n{condensed}"


def _undefined_imports(sources: dict[str, str], tests: dict[str, str]) -> list[str]:
    """A line for each shown source the tests import names from that it does not define
    (a stub missing its constants: every rewrite that keeps to the stub's names fails to
    import, and the model reads the import line without acting on it)."""
    lines = []
    for path, text in sources.items():
        names = missing_names(path, text, tests.values())
        if names:
            listed = ", ".join(f"`{name}`" for name in names)
            lines.append(f"The tests import {listed} from {path}, which does not define them yet.")
    return lines
