"""Every event a real run emits validates against the JSON Schema shipped in the package."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from coder import events as event_module
from tests.runs import coder_run, events, run_command

FINISH = {"text": "Done.", "tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}


def schema(kind: str) -> dict[str, Any]:
    text = resources.files("coder").joinpath("schemas", f"{kind}.json").read_text("utf-8")
    return dict(json.loads(text))


def validate(lines: list[dict[str, Any]]) -> set[str]:
    for line in lines:
        jsonschema.Draft202012Validator(schema(line["type"])).validate(line)
    return {line["type"] for line in lines}


def test_every_event_type_has_a_schema_in_the_package() -> None:
    kinds = {
        cls.__dataclass_fields__["type"].default
        for cls in vars(event_module).values()
        if isinstance(cls, type)
        and issubclass(cls, event_module.Event)
        and cls is not event_module.Event
    }
    for kind in kinds:
        assert schema(kind)["title"] == kind


@pytest.mark.parametrize("sandbox", ["workspace-write", "off"])
def test_a_run_with_tools_checks_refusal_and_report_validates(
    repo: Path, scripted_server: Any, sandbox: str
) -> None:
    fix = (
        "--- a/textutil.py\n+++ b/textutil.py\n@@ -7,3 +7,3 @@\n"
        '     """Lowercase, keep letters and digits, join words with single hyphens."""\n'
        '-    words = re.findall(r"[a-z0-9]+", title)\n'
        '+    words = re.findall(r"[a-z0-9]+", title.lower())\n'
        '     return "-".join(words)\n'
    )
    server = scripted_server(
        [
            {"status": 429, "retry_after_ms": 50},
            run_command("read_file", path="textutil.py"),
            run_command("run", command="echo hello"),
            FINISH,
            run_command("apply_diff", diff=fix),
            FINISH,
        ]
    )
    check = "python3 -m pytest -q -p no:cacheprovider"
    proc = coder_run(repo, server.base_url, "--check", check, "--sandbox", sandbox)
    assert proc.returncode == 0, proc.stderr
    kinds = validate(events(proc))
    assert {"session_started", "tool_called", "tool_result", "check_result", "usage",
            "notice", "finished", "report"} <= kinds  # fmt: skip
    assert events(proc)[0]["schema_version"] == 1
    assert events(proc)[-1]["type"] == "report"


def test_a_failed_run_validates_too(repo: Path, scripted_server: Any) -> None:
    server = scripted_server([{"text": "no idea", "repeat": True}])
    proc = coder_run(repo, server.base_url, "--check", "false", "--max-turns", "2")
    assert proc.returncode == 1
    validate(events(proc))


def test_the_readme_documents_every_field_of_every_event() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## JSON Lines events")[1].split("\n## ")[0]
    rows = {m[0]: m[1] for m in re.findall(r"^\| `([a-z_]+)` \| (.*) \|$", section, flags=re.M)}
    for path in resources.files("coder").joinpath("schemas").iterdir():
        kind = path.name.removesuffix(".json")
        if kind == "assistant_delta":  # streamed to the TUI only, never in JSON Lines
            continue
        fields = set(schema(kind)["properties"]) - {"type", "ts"}
        documented = set(re.findall(r"`([a-z_]+)`", rows.get(kind, "")))
        assert fields <= documented, (kind, fields - documented)
