"""The spec a small model needs from the tests: a test file too long to show whole, condensed
to the names the tests import, how they use them, and a spread of their asserted examples.

A 1.5B model that never sees the tests learns the interface one AttributeError at a time,
a model turn per discovery. The whole test file often does not fit the prompt a CPU can
prefill in time; its asserts, in plain `assert` form, do. Pure functions of the test text.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable
from pathlib import PurePosixPath

_COMPARISONS: dict[str, type[ast.cmpop]] = {
    "assertEqual": ast.Eq,
    "assertEquals": ast.Eq,
    "assertNotEqual": ast.NotEq,
    "assertIs": ast.Is,
    "assertIsNot": ast.IsNot,
    "assertIn": ast.In,
    "assertNotIn": ast.NotIn,
    "assertGreater": ast.Gt,
    "assertGreaterEqual": ast.GtE,
    "assertLess": ast.Lt,
    "assertLessEqual": ast.LtE,
}
_MAX_LINE = 400
"""A condensed line longer than this is cut (its example would crowd out the others)."""


def imported_modules(tree: ast.Module) -> set[str]:
    """Every module the test file imports, dotted, with each of its suffixes
    (`pkg.stats` gives `pkg.stats` and `stats`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found = [node.module]
        elif isinstance(node, ast.ImportFrom) and node.level:
            found = [node.module or ""] + [alias.name for alias in node.names]
        else:
            continue
        for name in found:
            parts = [part for part in name.split(".") if part]
            names.update(".".join(parts[i:]) for i in range(len(parts)))
    return names


def module_names(path: str) -> set[str]:
    """The names a source file is imported by: `src/pkg/stats.py` → pkg.stats, stats, …"""
    pure = PurePosixPath(path)
    parts = [*pure.parent.parts, pure.stem] if pure.stem != "__init__" else [*pure.parent.parts]
    return {".".join(parts[i:]) for i in range(len(parts)) if parts[i:]}


def importing_tests(sources: Iterable[str], tests: dict[str, str]) -> list[str]:
    """The test files (path → text) that import any of `sources`, in path order."""
    wanted = set().union(*(module_names(path) for path in sources))
    found = []
    for path, text in sorted(tests.items()):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        if imported_modules(tree) & wanted:
            found.append(path)
    return found


def missing_names(source_path: str, source: str, tests: Iterable[str]) -> list[str]:
    """The names the tests import from the source file (or read off its module) that the
    source does not define at its top level, in the order the tests use them: a small model
    rewriting the stub keeps to the stub's names, and a test that cannot import fails whole.
    Empty when the source does not parse or defines names dynamically; a test that does not
    parse, or never names the module, is passed over."""
    try:
        defined = _top_level_names(ast.parse(source))
    except (SyntaxError, ValueError):
        return []
    if defined is None:
        return []
    modules = module_names(source_path)
    stems = {name.rsplit(".", 1)[-1] for name in modules}
    wanted: list[str] = []
    for test in tests:
        if not any(stem in test for stem in stems):
            continue  # cannot import it: not worth parsing
        try:
            wanted += _names_imported(ast.parse(test), modules)
        except (SyntaxError, ValueError):
            continue
    return list(dict.fromkeys(name for name in wanted if name not in defined))


def stubbed(source: str) -> list[str]:
    """The functions and methods of a source file left to implement, by qualified name: a
    body of only a docstring, `pass`, `...` or `raise NotImplementedError` (abstract methods
    aside). Empty when the source does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found: list[str] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if _is_stub(node):
                    found.append(prefix + node.name)

    visit(tree.body, "")
    return found


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if any("abstract" in ast.unparse(decorator) for decorator in node.decorator_list):
        return False
    body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring (or a lone `...`)
    if not body:
        return True
    if len(body) > 1:
        return False
    only = body[0]
    if isinstance(only, ast.Pass):
        return True
    if isinstance(only, ast.Expr) and isinstance(only.value, ast.Constant):
        return only.value.value is Ellipsis
    if isinstance(only, ast.Raise) and only.exc is not None:
        raised = only.exc.func if isinstance(only.exc, ast.Call) else only.exc
        return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"
    return False


def _names_imported(test_tree: ast.Module, modules: set[str]) -> list[str]:
    """The names a test imports from any of `modules` or reads off them as attributes."""
    wanted: list[str] = []
    aliases: set[str] = set()
    for node in ast.walk(test_tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "") in modules:
            wanted += [alias.name for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Import):
            aliases.update(
                alias.asname or alias.name for alias in node.names if alias.name in modules
            )
    if aliases:
        nodes = sorted(
            ast.walk(test_tree),
            key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)),
        )
        wanted += [
            node.attr
            for node in nodes
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ]
    return wanted


def _top_level_names(tree: ast.Module) -> set[str] | None:
    """Names a module defines at its top level; None when it may define others unseen (a
    star import, a module `__getattr__`, writes to `globals()`)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                return None
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        else:
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(child.name)  # defined under an `if` or `try`
                elif isinstance(child, ast.Name) and child.id == "globals":
                    return None
    return None if "__getattr__" in names else names


def condense(text: str, budget: int) -> str:
    """The test file as its imports, the names it uses, helpers, and what each test checks,
    within `budget` chars: a list, not a file (a small model copies a code block it is shown
    in place of writing its own).

    Every test is rewritten as plain statements (`self.assertEqual(a, b)` → `a == b`, one
    bullet per test); the tests chosen first are those using something no earlier choice
    used (another method, attribute or expected exception), then the rest spread evenly
    through the file. Empty when the file does not parse.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return ""
    imports = [
        ast.unparse(node)
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and not {"unittest", "pytest"} & imported_modules(ast.Module([node], []))
    ]
    helpers = [_helper(node) for node in _helper_functions(tree)]
    tests = [_condensed_test(node) for node in _test_functions(tree)]
    tests = [test for test in tests if test[1]]
    used = sorted(set().union(*(features for features, _ in tests))) if tests else []
    lines = ["Imports: " + "; ".join(imports)] if imports else []
    names = [name for name in used if not name.startswith("raises ")]
    if names:
        lines.append("Names the tests use: " + ", ".join(names))
    if helpers:
        lines.append("Helpers the tests call:")
        lines += [_indented(helper, "    ", "    ") for helper in helpers]
    lines.append(f"What the tests check ({len(tests)} tests):")
    size = sum(len(line) + 1 for line in lines)
    bullets = [_indented(code, "- ", "  ") for _, code in tests]
    chosen = _choose([(tests[i][0], bullets[i]) for i in range(len(tests))], budget - size - 40)
    lines += [bullets[index] for index in chosen]
    if len(chosen) < len(tests):
        lines.append(f"- … and {len(tests) - len(chosen)} more like these")
    return "\n".join(lines)


def _indented(code: str, first: str, rest: str) -> str:
    """Code as one bullet: `assert ` dropped, the first line after `first`, the rest after
    `rest`."""
    lines = [line[7:] if line.startswith("assert ") else line for line in code.splitlines()]
    return "\n".join((first if i == 0 else rest) + line for i, line in enumerate(lines))


def sources_of_tests(text: str) -> dict[str, str]:
    """Each test function's source with its decorators (methods of any class too), dedented,
    by name."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    lines = text.splitlines()
    found: dict[str, str] = {}
    for node in _test_functions(tree):
        if node.end_lineno is not None:
            # with its decorators: pytest.mark.parametrize's cases are the examples
            start = min([node.lineno, *(item.lineno for item in node.decorator_list)])
            lines_of = lines[start - 1 : node.end_lineno]
            found.setdefault(node.name, textwrap.dedent("\n".join(lines_of)))
    return found


def _test_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    found = []
    for node in tree.body:
        members = node.body if isinstance(node, ast.ClassDef) else [node]
        for member in members:
            if isinstance(member, ast.FunctionDef) and member.name.startswith("test"):
                found.append(member)
    return found


def _helper_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    """Helpers the tests call: a test class's other methods (not setUp and the like)."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef) and not member.name.startswith(
                    ("test", "setUp", "tearDown", "__")
                ):
                    found.append(member)
    return found


def _helper(node: ast.FunctionDef) -> str:
    """A helper method as a plain function (`self` dropped, as in the condensed tests)."""
    node.args.args = [arg for arg in node.args.args if arg.arg != "self"]
    node.decorator_list = []
    node.body = [s for s in map(_plain, node.body) if s is not None]
    return ast.unparse(node)


def _condensed_test(node: ast.FunctionDef) -> tuple[frozenset[str], str]:
    """(what the test uses, its statements as plain code, one per line where they fit)."""
    features = _features(node)  # before _plain rewrites the nodes in place
    body = [s for s in map(_plain, node.body) if s is not None]
    module = ast.Module(body=body, type_ignores=[])
    ast.fix_missing_locations(module)
    code = ast.unparse(module)
    lines = [_cut(line) for line in code.splitlines()]
    return features, "\n".join(lines)


def _cut(line: str) -> str:
    return line[:_MAX_LINE] + " …" if len(line) > _MAX_LINE else line


def _plain(statement: ast.stmt) -> ast.stmt | None:
    """A unittest statement as plain Python: asserts as `assert`, `self.` dropped."""
    statement = _Unself().visit(statement)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        converted = _as_assert(statement.value)
        if converted is not None:
            return converted
    if isinstance(statement, ast.With):
        statement.body = [s for s in map(_plain, statement.body) if s is not None]
    return statement


def _as_assert(call: ast.Call) -> ast.stmt | None:
    if not isinstance(call.func, ast.Name):
        return None
    name, args = call.func.id, call.args
    if name in _COMPARISONS and len(args) >= 2:
        test: ast.expr = ast.Compare(args[0], [_COMPARISONS[name]()], [args[1]])
    elif name == "assertTrue" and args:
        test = args[0]
    elif name == "assertFalse" and args:
        test = ast.UnaryOp(ast.Not(), args[0])
    elif name in ("assertIsNone", "assertIsNotNone") and args:
        op: ast.cmpop = ast.Is() if name == "assertIsNone" else ast.IsNot()
        test = ast.Compare(args[0], [op], [ast.Constant(None)])
    elif name == "assertCountEqual" and len(args) >= 2:
        test = ast.Compare(_sorted(args[0]), [ast.Eq()], [_sorted(args[1])])
    elif name == "assertAlmostEqual" and len(args) >= 2:
        difference = ast.BinOp(args[0], ast.Sub(), args[1])
        rounded = ast.Call(ast.Name("round"), [difference, ast.Constant(7)], [])
        test = ast.Compare(rounded, [ast.Eq()], [ast.Constant(0)])
    else:
        return None
    return ast.Assert(test)


def _sorted(node: ast.expr) -> ast.expr:
    return ast.Call(ast.Name("sorted"), [node], [])


class _Unself(ast.NodeTransformer):
    """`self.assertEqual(…)` → `assertEqual(…)`; `self.assertRaises` → `raises`."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            if node.attr in ("assertRaises", "assertRaisesRegex"):
                return ast.Name("raises")
            return ast.Name(node.attr)
        return node


def _features(node: ast.FunctionDef) -> frozenset[str]:
    """What a test uses: called names and attributes (not unittest's), expected errors."""
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute):
            owner = child.value
            if isinstance(owner, ast.Name) and owner.id == "self":
                continue
            if child.attr not in ("exception", "args", "assertEqual"):
                found.add("." + child.attr)
        elif isinstance(child, ast.Call) and isinstance(child.func, ast.Name):
            found.add(child.func.id)
    for child in ast.walk(node):
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
            if child.func.attr.startswith("assertRaises") and child.args:
                found.add("raises " + ast.unparse(child.args[0]))
    builtins = {"len", "list", "set", "sorted", "str", "int", "dict", "tuple", "range", "type"}
    return frozenset(name for name in found if name not in builtins)


def _choose(tests: list[tuple[frozenset[str], str]], budget: int) -> list[int]:
    """Indexes of the tests to show within `budget` chars, in file order."""
    chosen: list[int] = []
    covered: set[str] = set()
    used = 0

    def take(index: int) -> None:
        nonlocal used
        size = len(tests[index][1]) + 1
        if used + size <= budget and index not in chosen:
            chosen.append(index)
            used += size

    for index, (features, _) in enumerate(tests):
        if features - covered:
            before = len(chosen)
            take(index)
            if len(chosen) > before:
                covered |= features
    rest = [index for index in range(len(tests)) if index not in chosen]
    for step in _spread(len(rest)):
        take(rest[step])
    return sorted(chosen)


def _spread(count: int) -> list[int]:
    """0 … count-1 in an order that covers the range evenly (halves, quarters, …)."""
    order: list[int] = []
    seen: set[int] = set()
    parts = 1
    while len(order) < count:
        for k in range(parts):
            index = (k * count) // parts
            if index not in seen:
                seen.add(index)
                order.append(index)
        parts *= 2
        if parts > 2 * count:
            order += [i for i in range(count) if i not in seen]
            break
    return order
