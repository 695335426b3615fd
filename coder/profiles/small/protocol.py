"""The text protocol a small model follows: code blocks in its answer become edits.

A 1.5B model writes whole fixed files (or functions) as code blocks after a path line far
more reliably than it writes unified diffs or JSON tool calls (first answers on the 10
fixture tasks: 7/10 solved this way, 0/10 with `<tool_call>` JSON carrying the file). Its
answer is read here, whichever provider produced it: code blocks become `write_file` calls
(merged into the current files by `edits`), `<tool_call>` JSON and Python-style calls
(`finish("…")`) become the other tools, and an answer with code ends with `finish`, so the
checks run after every edit. The JSON protocol (CODER_LOCAL_PROTOCOL=json) is kept to
measure against.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from typing import Any

from coder import prompts
from coder.conversation import AssistantTurn, ToolCall, ToolSpec
from coder.profiles.small.edits import Edit, edits_from_text, file_diff
from coder.text_tool_calls import parse_tool_calls

PROTOCOLS = ("blocks", "json")
WRITE_FILE = ToolSpec(
    "write_file",
    "Replace a file's whole content (or create it).",
    {
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
)


def render_tools(tools: Sequence[ToolSpec]) -> str:
    """The tool section of the system prompt: one line per tool, then how to call them."""
    shown = [spec for spec in tools if spec.name not in {"finish", "write_file"}]
    return prompts.render("tools", "small", tools=_tool_lines(shown))  # answers cover those two


def render_json_system(tools: Sequence[ToolSpec]) -> str:
    """The system prompt of the JSON protocol: every tool, write_file and finish included."""
    return prompts.render("system_json", "small", tools=_tool_lines(tools))


def _tool_lines(tools: Sequence[ToolSpec]) -> str:
    lines = []
    for spec in tools:
        props = spec.parameters.get("properties", {})
        required = set(spec.parameters.get("required", []))
        params = ", ".join(name + ("" if name in required else "?") for name in props)
        lines.append(f"- {spec.name}({params}): {spec.description}")
    return "\n".join(lines)


def read_answer(
    turn: AssistantTurn,
    offered: list[ToolSpec],
    protocol: str,
    read: Callable[[str], str | None],
    sources: list[str],
    call_prefix: str,
) -> AssistantTurn:
    """The answer's tool calls: code blocks as writes, then finish last (see module doc)."""
    if turn.tool_calls and not turn.calls_in_text:
        return turn  # native calls (a server that made them): they stand
    text = turn.text
    native_write = any(spec.name == "write_file" for spec in offered)
    tools = offered if native_write else [*offered, WRITE_FILE]
    names = {spec.name for spec in tools}
    edits: list[Edit]
    if protocol == "json":
        edits, rest = [], text
    else:
        edits, rest = edits_from_text(text, read, sources)
    found: list[tuple[int, str, dict[str, Any]]] = [
        (edit.position, "write_file", {"path": edit.path, "content": edit.content})
        for edit in edits
    ]
    calls = [(_position(rest, c.name), c.name, c.arguments) for c in parse_tool_calls(rest, names)]
    found += calls or python_style_calls(rest, tools)
    offered_names = {spec.name for spec in offered}
    wrote = edits or any(entry[1] == "write_file" for entry in found)
    if wrote and "finish" in offered_names and not any(f[1] == "finish" for f in found):
        # An answer with code means "this is my fix": finishing runs the checks, and
        # their failures come back to the model, which saves a whole turn.
        found.append((len(text), "finish", {"summary": _first_sentence(text)}))
    # finish last: an edit written after it in the same answer must land first
    found.sort(key=lambda entry: (entry[1] == "finish", entry[0]))
    result = []
    for index, (_, name, arguments) in enumerate(found, start=1):
        if name == "write_file" and not native_write:
            path = str(arguments.get("path", "")).strip()
            diff = file_diff(path, read(path), str(arguments.get("content", "")))
            name, arguments = "apply_diff", {"diff": diff}
        result.append(ToolCall(f"{call_prefix}_{index}", name, arguments))
    return AssistantTurn(text, tuple(result), turn.usage, calls_in_text=True)


def python_style_calls(
    text: str, tools: Sequence[ToolSpec]
) -> list[tuple[int, str, dict[str, Any]]]:
    """Calls the model wrote like Python, e.g. `finish("Fixed it.")` or `read_file(path="a.py")`."""
    found = []
    for spec in tools:
        for match in re.finditer(rf"(?<![\w.]){spec.name}\((.*?)\)(?=[`\s.]|$)", text, re.M):
            try:
                call = ast.parse(match.group(0), mode="eval").body
            except SyntaxError:
                continue
            if not isinstance(call, ast.Call):
                continue
            params = list(spec.parameters.get("properties", {}))
            try:
                args = {params[i]: ast.literal_eval(a) for i, a in enumerate(call.args)}
                args |= {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
            except (ValueError, IndexError, SyntaxError):
                continue
            found.append((match.start(), spec.name, args))
    return found


def _first_sentence(text: str) -> str:
    head = text.split("```", 1)[0].strip().split("\n", 1)[0]
    return head[:200] or "Applied the fix."


def _position(text: str, name: str) -> int:
    found = text.find(f'"{name}"')
    return found if found != -1 else len(text)
