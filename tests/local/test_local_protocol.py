"""The JSON tool protocol kept to measure against the code-block protocol (no weights needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coder.conversation import ToolSpec
from coder.errors import UsageError
from coder.providers.local import WRITE_FILE, LocalProvider, render_json_system

FINISH = ToolSpec("finish", "Declare the work done.", {"type": "object", "properties": {}})
ANSWER = (
    "The divisor is wrong.\n"
    '<tool_call>{"name": "write_file", "arguments": {"path": "stats.py", '
    '"content": "def mean(v):\\n    return sum(v) / len(v)\\n"}}</tool_call>'
)
BLOCKS = "The divisor is wrong.\n\nstats.py\n```python\ndef mean(v):\n    return 0\n```"


def _provider(tmp_path: Path, protocol: str) -> LocalProvider:
    (tmp_path / "stats.py").write_text("def mean(v):\n    return sum(v) / (len(v) - 1)\n")
    return LocalProvider(tmp_path / "never-loaded.gguf", tmp_path, protocol=protocol)


def test_json_protocol_takes_write_file_calls_and_finishes_after_them(tmp_path: Path) -> None:
    calls = _provider(tmp_path, "json")._parse_calls(ANSWER, [WRITE_FILE, FINISH])

    assert [c.name for c in calls] == ["write_file", "finish"]
    assert calls[0].arguments["content"] == "def mean(v):\n    return sum(v) / len(v)\n"


def test_json_protocol_ignores_code_blocks_and_blocks_protocol_uses_them(tmp_path: Path) -> None:
    assert _provider(tmp_path, "json")._parse_calls(BLOCKS, [WRITE_FILE, FINISH]) == []
    calls = _provider(tmp_path, "blocks")._parse_calls(BLOCKS, [WRITE_FILE, FINISH])
    assert [c.name for c in calls] == ["write_file", "finish"]


def test_json_system_prompt_lists_write_file_and_an_unknown_protocol_is_refused(
    tmp_path: Path,
) -> None:
    assert "- write_file(path, content)" in render_json_system([WRITE_FILE, FINISH])
    with pytest.raises(UsageError, match="unknown local tool protocol"):
        _provider(tmp_path, "xml")
