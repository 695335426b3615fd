"""Table-driven tests of the text tool-call parser and the text form of tool results."""

from __future__ import annotations

from typing import Any

import pytest

from coder.text_tool_calls import format_tool_result, loads_lenient, parse_tool_calls

TOOLS = ("read_file", "apply_diff", "run", "finish", "list_files")

Call = tuple[str, dict[str, Any]]

CASES: list[tuple[str, str, list[Call]]] = [
    (
        "bare_json_object",
        'I will look.\n{"name": "read_file", "arguments": {"path": "x.py"}}',
        [("read_file", {"path": "x.py"})],
    ),
    (
        "tool_and_parameters_keys",
        '{"tool": "run", "parameters": {"command": "pytest -q"}}',
        [("run", {"command": "pytest -q"})],
    ),
    (
        "function_and_args_keys",
        '{"function": "finish", "args": {"summary": "done"}}',
        [("finish", {"summary": "done"})],
    ),
    (
        "arguments_as_json_string",
        '{"name": "read_file", "arguments": "{\\"path\\": \\"a.py\\", \\"start_line\\": 3}"}',
        [("read_file", {"path": "a.py", "start_line": 3})],
    ),
    (
        "openai_wire_shape",
        '{"type": "function",'
        ' "function": {"name": "run", "arguments": "{\\"command\\": \\"ls\\"}"}}',
        [("run", {"command": "ls"})],
    ),
    (
        "fenced_json_block",
        'Plan:\n```json\n{"name": "list_files", "arguments": {}}\n```\nthen more text',
        [("list_files", {})],
    ),
    (
        "fenced_block_without_language",
        '```\n{"name": "list_files", "arguments": {"pattern": "*.py"}}\n```',
        [("list_files", {"pattern": "*.py"})],
    ),
    (
        "fenced_list_of_calls",
        '```json\n[{"name": "run", "arguments": {"command": "a"}},'
        ' {"name": "run", "arguments": {"command": "b"}}]\n```',
        [("run", {"command": "a"}), ("run", {"command": "b"})],
    ),
    (
        "qwen_tool_call_tags",
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "m.py"}}\n</tool_call>',
        [("read_file", {"path": "m.py"})],
    ),
    (
        "several_tags_in_one_message",
        '<tool_call>{"name": "read_file", "arguments": {"path": "a"}}</tool_call>\n'
        '<tool_call>{"name": "read_file", "arguments": {"path": "b"}}</tool_call>',
        [("read_file", {"path": "a"}), ("read_file", {"path": "b"})],
    ),
    (
        "unclosed_tag_at_end_of_message",
        'ok <tool_call>{"name": "finish", "arguments": {"summary": "s"}}',
        [("finish", {"summary": "s"})],
    ),
    (
        "tag_missing_final_brace",
        '<tool_call>{"name": "finish", "arguments": {"summary": "s"}</tool_call>',
        [("finish", {"summary": "s"})],
    ),
    (
        "llama_function_tag",
        'ok <function=read_file>{"path": "f.py"}</function>',
        [("read_file", {"path": "f.py"})],
    ),
    (
        "trailing_commas",
        '{"name": "run", "arguments": {"command": "ls", "timeout_s": 5,},}',
        [("run", {"command": "ls", "timeout_s": 5})],
    ),
    (
        "single_quoted_json_ish",
        "{'name': 'read_file', 'arguments': {'path': 'it\\'s \"q\".py'}}",
        [("read_file", {"path": 'it\'s "q".py'})],
    ),
    (
        "python_literals",
        "{'name': 'read_file', 'arguments': {'path': 'a.py', 'start_line': None}}",
        [("read_file", {"path": "a.py", "start_line": None})],
    ),
    (
        "raw_newlines_inside_string",
        '{"name": "apply_diff", "arguments": {"diff": "--- a/x\n+++ b/x\n"}}',
        [("apply_diff", {"diff": "--- a/x\n+++ b/x\n"})],
    ),
    (
        "unknown_tool_name_ignored",
        '{"name": "delete_everything", "arguments": {}}\n{"name": "finish", "arguments": {}}',
        [("finish", {})],
    ),
    (
        "name_keyed_shorthand",
        '{"read_file": {"path": "z.py"}}',
        [("read_file", {"path": "z.py"})],
    ),
    (
        "mixed_tag_fence_and_bare_in_text_order",
        '{"name": "run", "arguments": {"command": "1"}}\n'
        '```json\n{"name": "run", "arguments": {"command": "2"}}\n```\n'
        '<tool_call>{"name": "run", "arguments": {"command": "3"}}</tool_call>',
        [("run", {"command": "1"}), ("run", {"command": "2"}), ("run", {"command": "3"})],
    ),
    (
        "call_nested_in_string_argument_is_not_a_second_call",
        '{"name": "apply_diff", "arguments": {"diff": "+x = {\\"name\\": \\"run\\"}"}}',
        [("apply_diff", {"diff": '+x = {"name": "run"}'})],
    ),
    ("plain_prose_has_no_calls", "The bug is in read_file, I think. Let me run it.", []),
    ("code_braces_are_not_calls", "```python\ndef run():\n    return {1: 2}\n```", []),
    ("unbalanced_object_is_ignored", '{"name": "run", "arguments": {"command": "ls"', []),
    ("arguments_not_an_object_ignored", '{"name": "run", "arguments": ["ls"]}', []),
    ("missing_arguments_means_empty", '{"name": "list_files"}', [("list_files", {})]),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in CASES], ids=[c[0] for c in CASES]
)
def test_parse_tool_calls_recognises_text_calls(text: str, expected: list[Call]) -> None:
    calls = parse_tool_calls(text, TOOLS)
    assert [(c.name, c.arguments) for c in calls] == expected


def test_text_call_ids_are_numbered_in_order() -> None:
    text = '{"name": "run", "arguments": {"command": "a"}} {"name": "finish", "arguments": {}}'
    assert [c.id for c in parse_tool_calls(text, TOOLS)] == ["call_text_1", "call_text_2"]


def test_no_known_tools_means_no_calls() -> None:
    assert parse_tool_calls('{"name": "run", "arguments": {}}', []) == []


def test_many_unbalanced_braces_parse_quickly() -> None:
    """A long diff full of code braces must not make the scan quadratic in practice."""
    text = ('{"x": [' * 2000) + '{"name": "finish", "arguments": {}}'
    calls = parse_tool_calls(text, TOOLS)
    assert [c.name for c in calls] == ["finish"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("{'a': 'b',}", {"a": "b"}),
        ("[True, False, None]", [True, False, None]),
        ("not json", None),
    ],
)
def test_loads_lenient(text: str, expected: Any) -> None:
    assert loads_lenient(text) == expected


def test_format_tool_result_names_the_tool_and_keeps_output() -> None:
    text = format_tool_result("run", "exit code 1\nFAILED")
    assert text == '<tool_response name="run">\nexit code 1\nFAILED\n</tool_response>'
