"""Which files the repo map reads: file extension → grammar wheel and tags query, skip rules.

Grammar modules are only named here; `tags.py` imports them lazily when a file needs one.
"""

from __future__ import annotations

import builtins
import importlib.util
from dataclasses import dataclass
from pathlib import Path

QUERIES_DIR = Path(__file__).parent / "queries"

MAX_FILE_BYTES = 1_000_000
"""Files larger than this are skipped (generated code, data dumps, minified bundles)."""

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "vendor",
        "third_party",
        "third-party",
        "thirdparty",
        "dist",
        "build",
        "target",
        ".venv",
        "venv",
        "site-packages",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".next",
        ".nuxt",
        "coverage",
    }
)
"""Directory names whose contents are vendored, generated or tool state, never ranked."""

SKIPPED_SUFFIXES = (".min.js", ".bundle.js", ".d.ts.map", ".pb.go", "_pb2.py")
"""Generated-file name endings skipped even when the extension is known."""


@dataclass(frozen=True)
class Grammar:
    """One tree-sitter grammar: the wheel's module, its language function, our query file."""

    name: str
    """Language name, also the query file stem: queries/<name>-tags.scm."""
    module: str
    """Importable grammar wheel module, e.g. `tree_sitter_python`."""
    function: str = "language"
    """Function in `module` returning the language pointer."""
    queries: tuple[str, ...] = ()
    """Query file stems when they differ from `name` (TSX is TypeScript's plus JSX's)."""

    @property
    def query_paths(self) -> list[Path]:
        """The tags query files for this grammar, concatenated into one query."""
        return [QUERIES_DIR / f"{stem}-tags.scm" for stem in self.queries or (self.name,)]


GRAMMARS: dict[str, Grammar] = {
    g.name: g
    for g in (
        Grammar("python", "tree_sitter_python"),
        Grammar("javascript", "tree_sitter_javascript", queries=("javascript", "jsx")),
        Grammar("typescript", "tree_sitter_typescript", "language_typescript"),
        Grammar("tsx", "tree_sitter_typescript", "language_tsx", queries=("typescript", "jsx")),
        Grammar("go", "tree_sitter_go"),
        Grammar("rust", "tree_sitter_rust"),
        Grammar("java", "tree_sitter_java"),
        Grammar("c", "tree_sitter_c"),
        Grammar("cpp", "tree_sitter_cpp"),
        Grammar("ruby", "tree_sitter_ruby"),
        Grammar("bash", "tree_sitter_bash"),
    )
}

EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".sh": "bash",
    ".bash": "bash",
}
"""Lower-case file extension → grammar name."""


def available_languages() -> frozenset[str]:
    """Grammar names whose wheel is installed (found without importing it)."""
    return frozenset(
        name for name, g in GRAMMARS.items() if importlib.util.find_spec(g.module) is not None
    )


def language_for(path: str) -> str | None:
    """The grammar name for a repository-relative POSIX path, or None to skip the file."""
    # Plain string work: this runs for every file of the repository on every refresh.
    directory, _, name = path.rpartition("/")
    dot = name.rfind(".")
    if dot <= 0:
        return None
    language = EXTENSIONS.get(name[dot:].lower())
    if language is None or name.lower().endswith(SKIPPED_SUFFIXES):
        return None
    if directory and not SKIPPED_DIRS.isdisjoint(directory.split("/")):
        return None
    return language


_JS_GLOBALS = (
    "Array Boolean Date Error JSON Map Math Number Object Promise Reflect RegExp Set String "
    "Symbol WeakMap WeakSet console document window require module exports parseInt "
    "parseFloat setTimeout clearTimeout setInterval clearInterval fetch toString push map "
    "filter reduce forEach then catch join slice splice concat indexOf includes keys values "
    "entries length apply call bind"
)

_PYTHON_BUILTINS = frozenset(dir(builtins)).union(
    *(dir(t) for t in (object, str, bytes, int, float, list, tuple, dict, set))
)

BUILTIN_NAMES: dict[str, frozenset[str]] = {
    "python": _PYTHON_BUILTINS,
    "javascript": frozenset(_JS_GLOBALS.split()),
    "typescript": frozenset(_JS_GLOBALS.split()),
    "tsx": frozenset(_JS_GLOBALS.split()),
    "go": frozenset(
        "append cap close copy delete len make new panic print println recover string int "
        "int64 int32 uint uint64 byte rune bool error float64 float32 any Println Printf "
        "Sprintf Errorf".split()
    ),
    "rust": frozenset(
        "Some None Ok Err Box Vec String Option Result println print format vec panic assert "
        "assert_eq unwrap expect clone into iter map collect new default to_string".split()
    ),
    "java": frozenset("String Object Integer Long Boolean List Map Override println".split()),
    "c": frozenset("printf fprintf sprintf snprintf malloc free memcpy memset strlen".split()),
    "cpp": frozenset("printf malloc free memcpy strlen size push_back begin end string".split()),
    "ruby": frozenset("puts print require new raise each map attr_reader".split()),
    "bash": frozenset(
        "echo printf cd test set export local read exit return shift source eval exec trap "
        "true false cat grep sed awk mkdir rm cp mv ls".split()
    ),
}
"""Per language, names that resolve to the language or its runtime (Python: builtins and the
methods of the builtin types), not to a repository file: references to them add no edges (a
repository that defines `print` or a `split` method would otherwise collect every call)."""
