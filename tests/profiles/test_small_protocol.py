"""How a small model's answer becomes tool calls: code blocks (default) or `<tool_call>`
JSON (kept to measure against); no weights needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from coder.conversation import AssistantTurn, ToolSpec
from coder.errors import UsageError
from coder.profiles.small.protocol import WRITE_FILE, render_json_system
from tests.profiles.conftest import small_profile

FINISH = ToolSpec("finish", "Declare the work done.", {"type": "object", "properties": {}})
ANSWER = (
    "The divisor is wrong.\n"
    '<tool_call>{"name": "write_file", "arguments": {"path": "stats.py", '
    '"content": "def mean(v):\\n    return sum(v) / len(v)\\n"}}</tool_call>'
)
BLOCKS = "The divisor is wrong.\n\nstats.py\n```python\ndef mean(v):\n    return 0\n```"


def _calls(tmp_path: Path, protocol: str, text: str) -> list[str]:
    (tmp_path / "stats.py").write_text("def mean(v):\n    return sum(v) / (len(v) - 1)\n")
    profile = small_profile(tmp_path, protocol=protocol)
    turn = profile.interpret(AssistantTurn(text, calls_in_text=True), [WRITE_FILE, FINISH])
    return [call.name for call in turn.tool_calls]


def test_json_protocol_takes_write_file_calls_and_finishes_after_them(tmp_path: Path) -> None:
    assert _calls(tmp_path, "json", ANSWER) == ["write_file", "finish"]


def test_json_protocol_ignores_code_blocks_and_blocks_protocol_uses_them(tmp_path: Path) -> None:
    assert _calls(tmp_path, "json", BLOCKS) == []
    assert _calls(tmp_path, "blocks", BLOCKS) == ["write_file", "finish"]


def test_native_tool_calls_stand_as_they_are(tmp_path: Path) -> None:
    from coder.conversation import ToolCall

    profile = small_profile(tmp_path)
    native = AssistantTurn("x", (ToolCall("1", "read_file", {"path": "a.py"}),))
    assert profile.interpret(native, [WRITE_FILE, FINISH]) is native


def test_json_system_prompt_lists_write_file_and_an_unknown_protocol_is_refused(
    tmp_path: Path,
) -> None:
    assert "- write_file(path, content)" in render_json_system([WRITE_FILE, FINISH])
    with pytest.raises(UsageError, match="unknown small-model protocol"):
        small_profile(tmp_path, protocol="xml")
