"""Compaction is the agent's, for every provider: before a call that would overflow the
model's context window, old turns give way to a note of where the work stands, and the
stable prefix is kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from coder import config
from tests.runs import coder_run, events, run_command

FINISH = {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}


def test_old_turns_give_way_before_the_window_overflows(repo: Path, scripted_server: Any) -> None:
    path = config.user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("context-window = 4000\n")
    (repo / "big.txt").write_text("".join(f"row {n} " * 10 + "\n" for n in range(120)))
    reads = [run_command("read_file", path="big.txt", start_line=n + 1) for n in range(8)]
    edit = run_command("run", command="echo more >> textutil.py")
    server = scripted_server([edit, *reads, FINISH])
    proc = coder_run(repo, server.base_url, "--check", "true")
    assert proc.returncode == 0, proc.stderr
    compacted = [e for e in events(proc) if e["type"] == "compacted"]
    assert compacted and compacted[0]["context_window"] == 4000
    sizes = [len(json.dumps(body)) for body in server.received]
    assert max(sizes) < 4000 * 3.5  # never sent past the window
    last = server.received[-1]["messages"]
    assert last[0]["role"] == "system" and "fix it" in json.dumps(last[:4])  # the prefix stays
    note = next(m["content"] for m in last if "Where the work stands" in str(m["content"]))
    assert "goal: fix it" in note
