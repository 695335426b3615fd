"""The scripted OpenAI-compatible server: replay, recording, errors, and its command line."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_turns_are_replayed_in_order_and_requests_recorded(scripted_server) -> None:
    server = scripted_server([{"text": "one"}, {"text": "two"}])
    url = server.base_url + "/chat/completions"
    first = post(url, {"model": "m", "messages": [{"role": "user", "content": "a"}]})
    second = post(url, {"model": "m", "messages": [{"role": "user", "content": "b"}]})
    assert [r[1]["choices"][0]["message"]["content"] for r in (first, second)] == ["one", "two"]
    assert [b["messages"][0]["content"] for b in server.received] == ["a", "b"]
    assert server.paths == ["/v1/chat/completions", "/v1/chat/completions"]


def test_exhausted_script_answers_http_500_saying_so(scripted_server) -> None:
    server = scripted_server([{"text": "only"}])
    post(server.base_url + "/responses", {"model": "m", "input": "x"})
    status, body = post(server.base_url + "/responses", {"model": "m", "input": "y"})
    assert status == 500
    assert "script exhausted after 1 turns" in body["error"]["message"]
    assert len(server.received) == 2


def test_repeat_on_last_turn_replays_it_forever(scripted_server) -> None:
    server = scripted_server([{"text": "first"}, {"text": "again", "repeat": True}])
    url = server.base_url + "/responses"
    texts = [post(url, {"model": "m", "input": "x"})[1]["output"][0] for _ in range(4)]
    assert [t["content"][0]["text"] for t in texts] == ["first", "again", "again", "again"]


def test_status_turn_returns_openai_shaped_error(scripted_server) -> None:
    server = scripted_server([{"status": 404, "error": "model 'nope' does not exist"}])
    status, body = post(server.base_url + "/chat/completions", {"model": "nope"})
    assert status == 404
    assert body["error"]["message"] == "model 'nope' does not exist"


def test_typo_in_a_turn_key_is_refused(scripted_server) -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        scripted_server([{"txt": "oops"}])


def test_non_streaming_tool_calls_use_the_chat_wire_shape(scripted_server) -> None:
    server = scripted_server([{"tool_calls": [{"name": "run", "arguments": {"command": "ls"}}]}])
    _, body = post(server.base_url + "/chat/completions", {"model": "m"})
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"] == {"name": "run", "arguments": '{"command": "ls"}'}


def test_every_script_in_fixtures_loads(scripted_server) -> None:
    scripts = sorted((FIXTURES / "scripts").glob("*.json"))
    assert scripts
    for script in scripts:
        assert scripted_server(script).turns, script.name


def test_command_line_prints_base_url_and_serves(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": [{"text": "from the command line"}]}))
    process = subprocess.Popen(
        [sys.executable, str(FIXTURES / "scripted_server.py"), str(script), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        _, body = post(base_url + "/chat/completions", {"model": "m"})
        assert body["choices"][0]["message"]["content"] == "from the command line"
    finally:
        process.terminate()
        process.wait(timeout=10)
