"""How the small local model edits files: code blocks in its answer → new file contents.

A 1.5B model writes fixed code far more reliably than it writes unified diffs. It answers
with `<write_file path=…>` blocks (whole file) or plain ```python blocks holding the fixed
functions or classes; these pure functions merge them into the current files (same-named
definitions are replaced, new ones added, nothing deleted) and diff the result.
"""

from __future__ import annotations

import ast
import difflib
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_WRITE_BLOCK = re.compile(
    r"<write_file\s+path\s*=\s*[\"']?([^\"'>\s]+)[\"']?\s*>\n?(.*?)(?:</write_file>|\Z)", re.DOTALL
)
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)
_INNER_FENCE = re.compile(r"\A\s*```[^\n]*\n(.*?)\n?```\s*\Z", re.DOTALL)
_PATH = re.compile(r"([\w./-]+\.py)\b")
_PYTHON_LANGS = {"python", "py", "python3", ""}


@dataclass(frozen=True)
class Edit:
    """A file's new content, proposed at `position` in the model's answer."""

    position: int
    path: str
    content: str


def is_test_path(path: str) -> bool:
    """True for test files (the model must not edit those to make tests pass)."""
    name = path.rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or path.startswith("tests/")


def edits_from_text(
    text: str, read: Callable[[str], str | None], sources: list[str]
) -> tuple[list[Edit], str]:
    """Edits found in `text`, and `text` with the consumed code blanked out.

    `read(path)` gives a file's current text (None: absent); `sources` lists the
    repository's Python files, used to find the file a bare code block belongs to.
    """
    current: dict[str, str] = {}
    first: dict[str, int] = {}

    def now(path: str) -> str | None:
        return current[path] if path in current else read(path)

    def propose(position: int, path: str, content: str) -> None:
        # An unchanged non-test file is still proposed: the write tool then tells the model
        # that nothing changed, which breaks its habit of re-sending the same code.
        if content != now(path) or not is_test_path(path):
            current[path] = content
            first.setdefault(path, position)

    for match in _WRITE_BLOCK.finditer(text):
        body = match.group(2)
        inner = _INNER_FENCE.match(body)
        propose(match.start(), _clean_path(match.group(1)), (inner.group(1) if inner else body))
    text = _blank(text, _WRITE_BLOCK)
    for match in _FENCE.finditer(text):
        if match.group(1).lower() not in _PYTHON_LANGS:
            continue
        code = match.group(2)
        if _looks_like_call_json(code):
            continue
        path = _path_hint(text, match.start(), code)
        if path is not None and now(path) is None:
            path = _module_path(path, sources)
        if path is None or (now(path) is None and path not in sources):
            # a path the model made up (or copied from an example) loses to the file that
            # really defines the code's names
            path = infer_target(code, sources, now) or path
        if path is None:
            continue
        old = now(path)
        if old is None and not _defines_something(code):
            continue  # a new file needs real code, not a stray line such as a path
        merged = code if old is None else merge_python(old, code)
        if merged is not None:
            propose(match.start(), path, merged)
    text = _blank(text, _FENCE, only_langs=_PYTHON_LANGS, keep_json=True)
    edits = [Edit(first[path], path, _with_newline(current[path])) for path in first]
    return sorted(edits, key=lambda edit: edit.position), text


def merge_python(old: str, block: str) -> str | None:
    """`old` with the definitions of `block` merged in; None when `block` is not Python.

    Same-named functions and classes are replaced (class members one by one), new ones are
    appended, new imports go after the existing ones, same-named constants are replaced and
    new ones (upper-case names bound to literals) go after the imports.
    """
    block = textwrap.dedent(block).strip("\n") + "\n"
    try:
        new_tree = ast.parse(block)
        old_tree = ast.parse(old)
    except SyntaxError:
        return None
    new_lines = block.splitlines(keepends=True)
    lines = old.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    changes: list[tuple[int, int, list[str]]] = []  # (start, end) 0-based half-open
    appended: list[str] = []
    imports: list[str] = []
    constants: list[str] = []  # new module constants, placed before the code using them
    old_defs = _definitions(old_tree.body)
    old_assigns = _assignments(old_tree.body)
    classes = [node for node in old_tree.body if isinstance(node, ast.ClassDef)]
    for node in new_tree.body:
        text = _source(new_lines, node)
        name = getattr(node, "name", None)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if text.strip() not in old and not _imports_itself(node, old_defs):
                imports.append(text)
        elif name is not None and name.startswith("test_"):
            continue  # a test the model echoed; tests are not merged into sources
        elif name is not None and name in old_defs:
            target = old_defs[name]
            if isinstance(node, ast.ClassDef) and isinstance(target, ast.ClassDef):
                changes += _merge_class(lines, target, new_lines, node)
            else:
                changes.append((_start(target), target.end_lineno or target.lineno, [text]))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_method(node):
            owner = _owner_class(classes, node.name)
            if owner is None:
                return None
            changes += _merge_class(lines, owner, new_lines, _wrap_class(owner.name, node))
        elif name is not None:
            appended.append(text)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            target_name = _assigned_name(node)
            if target_name in old_assigns:
                found = old_assigns[target_name]
                changes.append((_start(found), found.end_lineno or found.lineno, [text]))
            elif _is_new_constant(node):
                constants.append(text)
    for start, end, replacement in sorted(changes, key=lambda change: -change[0]):
        lines[start:end] = replacement
    if imports or constants:
        at = _after_imports(old_tree)
        inserted = list(imports)
        if constants:
            blank_after = at < len(lines) and not lines[at].strip()
            inserted += [*(["\n"] if at else []), *constants, "\n" if blank_after else "\n\n"]
        lines[at:at] = inserted
    merged = "".join(lines)
    for text in appended:
        merged = merged.rstrip("\n") + "\n\n\n" + text
    return merged


def infer_target(code: str, sources: list[str], read: Callable[[str], str | None]) -> str | None:
    """The non-test source file that defines most of the names `code` defines."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    names = set(_all_names(tree))
    candidates = [path for path in sources if not is_test_path(path)]
    scores: list[tuple[int, str]] = []
    for path in candidates:
        text = read(path)
        if text is None:
            continue
        try:
            defined = set(_all_names(ast.parse(text)))
        except SyntaxError:
            continue
        scores.append((len(names & defined), path))
    scores.sort(reverse=True)
    if scores and scores[0][0] > 0 and (len(scores) == 1 or scores[1][0] < scores[0][0]):
        return scores[0][1]
    if len(candidates) == 1 and names and not any(n.startswith("test") for n in names):
        return candidates[0]
    return None


def file_diff(path: str, old: str | None, new: str) -> str:
    """A unified diff turning `old` (None: no such file) into `new`, with exact line numbers."""
    old_lines = (old or "").splitlines(keepends=True)
    if old_lines and not old_lines[-1].endswith("\n"):
        old_lines[-1] += "\n"  # the engine compares lines, not the missing final newline
    source = f"a/{path}" if old is not None else "/dev/null"
    lines = difflib.unified_diff(old_lines, new.splitlines(keepends=True), source, f"b/{path}")
    return "".join(lines)


def _merge_class(
    lines: list[str], old: ast.ClassDef, new_lines: list[str], new: ast.ClassDef
) -> list[tuple[int, int, list[str]]]:
    changes = []
    members = _definitions(old.body)
    indent = _indent_of(lines, old)
    added: list[str] = []
    for node in new.body:
        name = getattr(node, "name", None)
        if name is None:
            continue
        text = _reindent(_source(new_lines, node), indent)
        if name in members:
            target = members[name]
            changes.append((_start(target), target.end_lineno or target.lineno, [text]))
        else:
            added.append("\n" + text)
    if added:
        end = old.end_lineno or old.lineno
        changes.append((end, end, added))
    return changes


def _imports_itself(node: ast.Import | ast.ImportFrom, defined: dict[str, ast.stmt]) -> bool:
    """True for `from m import a, b` where the target file itself defines a and b."""
    if not isinstance(node, ast.ImportFrom):
        return False
    return all(alias.name in defined for alias in node.names)


def _wrap_class(name: str, method: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.ClassDef:
    return ast.ClassDef(name=name, bases=[], keywords=[], body=[method], decorator_list=[])


def _is_method(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = node.args.posonlyargs + node.args.args
    return bool(args) and args[0].arg in {"self", "cls"}


def _owner_class(classes: list[ast.ClassDef], method: str) -> ast.ClassDef | None:
    owners = [c for c in classes if method in _definitions(c.body)]
    if len(owners) == 1:
        return owners[0]
    return classes[0] if len(classes) == 1 and not owners else None


def _definitions(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name: node for node in body if isinstance(node, kinds)}


def _assignments(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    found = {}
    for node in body:
        name = _assigned_name(node)
        if name is not None:
            found[name] = node
    return found


def _is_new_constant(node: ast.Assign | ast.AnnAssign) -> bool:
    """An upper-case name bound to a literal (`WHITE = "W"`): a module constant the stub
    lacked. Other new assignments are left out: a small model follows its fix with example
    calls (`result = add(2, 3)`), which must not run on import."""
    name = _assigned_name(node)
    if name is None or name != name.upper() or not any(c.isalpha() for c in name):
        return False
    if node.value is None:
        return False
    try:
        ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _assigned_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AnnAssign):
        target = node.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def _all_names(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name


def _start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)]) - 1


def _source(lines: list[str], node: ast.stmt) -> str:
    text = "".join(lines[_start(node) : node.end_lineno or node.lineno])
    return text if text.endswith("\n") else text + "\n"


def _indent_of(lines: list[str], cls: ast.ClassDef) -> str:
    for node in cls.body:
        line = lines[node.lineno - 1]
        return line[: len(line) - len(line.lstrip())]
    return "    "


def _reindent(text: str, indent: str) -> str:
    body = textwrap.dedent(text)
    return "".join(indent + line if line.strip() else line for line in body.splitlines(True))


def _after_imports(tree: ast.Module) -> int:
    at = 0
    for index, node in enumerate(tree.body):
        is_docstring = (
            index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        )
        if isinstance(node, (ast.Import, ast.ImportFrom)) or is_docstring:
            at = node.end_lineno or node.lineno
        else:
            break
    return at


def _path_hint(text: str, fence_start: int, code: str) -> str | None:
    """A path named on the line before the fence, or in a first-line comment."""
    first = code.lstrip().split("\n", 1)[0]
    if first.startswith("#"):
        found = _PATH.search(first)
        if found:
            return _clean_path(found.group(1))
    before = text[:fence_start].rstrip().rsplit("\n", 1)[-1]
    found = _PATH.search(before)
    return _clean_path(found.group(1)) if found else None


def _clean_path(path: str) -> str:
    path = path.strip().strip("`*'\":")
    while path.startswith("./"):
        path = path[2:]
    return path


def _module_path(path: str, sources: list[str]) -> str:
    """The source a dotted module name means (`shop.pricing.py` → `shop/pricing.py`)."""
    dotted = path.removesuffix(".py").replace(".", "/") + ".py"
    return dotted if path not in sources and dotted in sources else path


def _defines_something(code: str) -> bool:
    """Whether a block of Python defines, imports or assigns anything (parses, at least)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return False
    return any(not isinstance(node, ast.Expr) for node in tree.body)


def _looks_like_call_json(code: str) -> bool:
    stripped = code.strip()
    return stripped.startswith("{") and '"name"' in stripped


def _blank(
    text: str, pattern: re.Pattern[str], only_langs: set[str] | None = None, keep_json: bool = False
) -> str:
    def blank(match: re.Match[str]) -> str:
        if only_langs is not None and match.group(1).lower() not in only_langs:
            return match.group(0)
        if keep_json and _looks_like_call_json(match.group(2)):
            return match.group(0)
        return " " * len(match.group(0))

    return pattern.sub(blank, text)


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
