"""Tool calls written as text, for models without native tool calling; pure, no I/O.

Recognises `<tool_call>` tags (Qwen style), `<function=name>` tags (Llama style), fenced
```json blocks and bare JSON objects, tolerating trailing commas, single quotes and Python
literals. `format_tool_result` is the other direction: a tool's output as text for the model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from typing import Any

from coder.conversation import ToolCall

_NAME_KEYS = ("name", "tool", "tool_name", "function")
_ARG_KEYS = ("arguments", "parameters", "args", "input", "params")
_TAG = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_FUNCTION_TAG = re.compile(r"<function=([\w.-]+)>(.*?)(?:</function>|\Z)", re.DOTALL)
_FENCE = re.compile(r"```[ \t]*([\w-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_FENCE_LANGS = {"", "json", "json5", "tool_call", "tool", "javascript", "js"}
_OBJECT_START = re.compile(r"\{\s*[\"']")
_LITERALS = {"True": "true", "False": "false", "None": "null"}


def parse_tool_calls(text: str, tool_names: Collection[str]) -> list[ToolCall]:
    """Tool calls found in `text`, in order of appearance; unknown tool names are ignored.

    Ids are `call_text_1`, `call_text_2`, … in the order returned.
    """
    names = set(tool_names)
    if not names or not any(name in text for name in names):
        return []
    found: list[tuple[int, str, dict[str, Any]]] = []
    taken: list[tuple[int, int]] = []
    for match in _FUNCTION_TAG.finditer(text):
        # Llama 3.x style: <function=read_file>{"path": "x.py"}</function>
        args = loads_lenient(match.group(2).strip() or "{}")
        if match.group(1) in names and isinstance(args, dict):
            taken.append(match.span())
            found.append((match.start(), match.group(1), args))
    for pattern, wanted in ((_TAG, None), (_FENCE, _FENCE_LANGS)):
        for match in pattern.finditer(text):
            if _overlaps(match.span(), taken):
                continue
            if wanted is not None and match.group(1).lower() not in wanted:
                continue
            body = match.group(match.lastindex or 1)
            calls = _calls_in_region(body, names)
            if calls:
                taken.append(match.span())
                found.extend((match.start(), name, args) for name, args in calls)
    for start, end, value in _bare_objects(text, taken):
        calls = list(_as_calls(value, names))
        if calls:
            taken.append((start, end))
            found.extend((start, name, args) for name, args in calls)
    found.sort(key=lambda entry: entry[0])
    return [
        ToolCall(id=f"call_text_{index}", name=name, arguments=args)
        for index, (_, name, args) in enumerate(found, start=1)
    ]


def format_tool_result(name: str, output: str) -> str:
    """A tool's output as text for a model that reads results in a user message."""
    return f'<tool_response name="{name}">\n{output}\n</tool_response>'


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _calls_in_region(body: str, names: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Calls in a tagged or fenced region: the whole body first, then objects inside it."""
    stripped = body.strip()
    # Small models often drop the last closing brace before the closing tag.
    for repair in ("", "}", "}}"):
        value = loads_lenient(stripped + repair)
        if value is not None:
            calls = list(_as_calls(value, names))
            if calls:
                return calls
    calls = []
    for _, _, value in _bare_objects(body, []):
        calls.extend(_as_calls(value, names))
    return calls


def _bare_objects(text: str, taken: list[tuple[int, int]]) -> Iterator[tuple[int, int, Any]]:
    """(start, end, value) of each top-level JSON-ish object outside the `taken` spans."""
    ends: dict[int, int | None] = {}
    position = 0
    while True:
        match = _OBJECT_START.search(text, position)
        if match is None:
            return
        start = match.start()
        if start not in ends:
            _scan_brackets(text, start, ends)
        end = ends[start]
        if end is None or _overlaps((start, end), taken):
            position = start + 1
            continue
        value = loads_lenient(text[start:end])
        if value is None:
            position = start + 1
            continue
        yield start, end, value
        position = end


def _scan_brackets(text: str, start: int, ends: dict[int, int | None]) -> None:
    """Record in `ends` where each bracket opened from `start` on closes (None: never).

    One scan answers every bracket it passes outside strings, which keeps text full of
    unbalanced code braces linear rather than quadratic.
    """
    stack: list[int] = []
    quote = ""
    index = start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "{[":
            stack.append(index)
        elif char in "}]":
            ends[stack.pop()] = index + 1
            if not stack:
                return
        index += 1
    for opened in stack:
        ends[opened] = None


def loads_lenient(text: str) -> Any | None:
    """Parse JSON or JSON-ish text (single quotes, trailing commas, Python literals).

    Returns None when it cannot be parsed.
    """
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    try:
        return json.loads(_to_json(text), strict=False)
    except ValueError:
        return None


def _to_json(text: str) -> str:
    """Rewrite JSON-ish text as JSON: quotes, trailing commas, True/False/None."""
    out: list[str] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char in "\"'":
            index = _copy_string(text, index, out)
            continue
        if char == ",":
            rest = text[index + 1 :].lstrip()
            if rest[:1] in ("}", "]"):
                index += 1
                continue
        if char.isalpha():
            match = re.match(r"[A-Za-z_]\w*", text[index:])
            word = match.group(0) if match else char
            out.append(_LITERALS.get(word, word))
            index += len(word)
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _copy_string(text: str, index: int, out: list[str]) -> int:
    """Append the string starting at `index` as a double-quoted JSON string; return its end."""
    quote = text[index]
    chars = ['"']
    index += 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            chars.append(following if following == "'" else char + following)
            index += 2
            continue
        if char == quote:
            index += 1
            break
        chars.append('\\"' if char == '"' else char)
        index += 1
    chars.append('"')
    out.append("".join(chars))
    return index


def _as_calls(value: Any, names: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, arguments) for each tool call that `value` describes."""
    if isinstance(value, list):
        for element in value:
            yield from _as_calls(element, names)
        return
    if not isinstance(value, dict):
        return
    if isinstance(value.get("tool_calls"), list):
        yield from _as_calls(value["tool_calls"], names)
        return
    if isinstance(value.get("function"), dict):
        # OpenAI wire shape: {"type": "function", "function": {"name": ..., "arguments": ...}}
        yield from _as_calls(value["function"], names)
        return
    name = next((value[k] for k in _NAME_KEYS if isinstance(value.get(k), str)), None)
    if name is None:
        if len(value) == 1:
            only, args = next(iter(value.items()))
            if only in names and isinstance(args, dict):
                yield only, args
        return
    if name not in names:
        return
    raw: Any = next((value[k] for k in _ARG_KEYS if k in value), {})
    args = loads_lenient(raw) if isinstance(raw, str) else raw
    if raw == "":
        args = {}
    if isinstance(args, dict):
        yield name, args
