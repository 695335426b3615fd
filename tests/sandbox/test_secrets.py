"""Secrets stay out: a deny-list for file tools, search, the repo map and checkpoints, and one
redaction pass over what reaches a model and what is written to JSON Lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coder import undo
from coder.checks import CheckRunner
from coder.conversation import ToolCall
from coder.diff import unified_diff
from coder.profiles.default import DefaultProfile
from coder.repomap import RepoMap
from coder.secrets import Redactor, is_secret_path
from coder.tools import AutoApprover, ToolContext, registry
from coder.undo import Ledger
from coder.workspace import Workspace
from tests.conftest import git
from tests.runs import coder_run, events, run_command, tool_outputs

PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBkZW1vZGVtb2RlbW9kZW1vZGVtb2RlbW9kZW1vZGVtbwAAAJgAAAAAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2


@pytest.mark.parametrize(
    "path",
    [".env", "config/.env.production", "prod.env", "certs/server.pem", "tls/site.key",
     "id_rsa", "home/.ssh/id_ed25519.pub", ".netrc", ".npmrc", ".pypirc", "deploy/.git-credentials",
     "keys/store.p12", ".ssh/config"],
)  # fmt: skip
def test_deny_list_matches_secret_files(path: str) -> None:
    assert is_secret_path(path)


@pytest.mark.parametrize(
    "path", [".env.example", "src/environment.py", "keyboard.py", "docs/pem-format.md", "envs.txt"]
)
def test_deny_list_leaves_ordinary_files(path: str) -> None:
    assert not is_secret_path(path)


def test_configured_patterns_extend_the_deny_list() -> None:
    assert is_secret_path("conf/vault.yaml", ("vault.yaml",))
    assert not is_secret_path("conf/vault.yaml")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (PRIVATE_KEY, "[REDACTED private key]\n"),
        (f"key is {OPENAI_KEY} ok", "key is [REDACTED api key] ok"),
        ("AKIAIOSFODNN7EXAMPLE", "[REDACTED aws key]"),
        ("token ghp_0123456789abcdefghijklmnopqrstuvwxyz", "token [REDACTED github token]"),
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer [REDACTED]"),
        ("postgres://app:hunter2@db/prod", "postgres://app:[REDACTED]@db/prod"),
        ("DB_PASSWORD=hunter22\n", "DB_PASSWORD=[REDACTED]\n"),
        ('SECRET_KEY = "django-insecure-abcdef"', 'SECRET_KEY = "[REDACTED]"'),
        ("MAX_TOKENS = 2048", "MAX_TOKENS = 2048"),
        ("token = tokens[0]", "token = tokens[0]"),
        ("API_KEY = os.environ['API_KEY']", "API_KEY = os.environ['API_KEY']"),
    ],
)
def test_redaction_replaces_known_formats_and_keeps_code(text: str, kept: str) -> None:
    assert Redactor().redact(text) == kept


def test_a_truncated_key_block_is_still_redacted() -> None:
    head, tail = PRIVATE_KEY[:80], PRIVATE_KEY[80:]
    assert "b3BlbnNz" not in Redactor().redact(head)
    assert "QyNTUxOQ" not in Redactor().redact(tail)


def test_the_sessions_own_secret_values_are_redacted() -> None:
    redactor = Redactor.for_session(
        "my-api-key-123456", {"INTERNAL_TOKEN": "plain-looking-value", "PATH": "/usr/bin:/bin"}
    )
    text = redactor.redact("a my-api-key-123456 b plain-looking-value c /usr/bin:/bin")
    assert text == "a [REDACTED secret value] b [REDACTED secret value] c /usr/bin:/bin"


def tool(ws: Workspace, name: str, **arguments: object) -> tuple[bool, str]:
    checks = CheckRunner(ws, [])
    ctx = ToolContext(ws=ws, approver=AutoApprover(), checks=checks, repo_map=RepoMap(ws))
    outcome = registry(DefaultProfile.tools).dispatch(ctx, ToolCall("c", name, arguments))
    return outcome.ok, outcome.text


def test_file_tools_and_search_refuse_secret_files(git_repo: Path) -> None:
    (git_repo / ".env").write_text(f"OPENAI_API_KEY={OPENAI_KEY}\nDEBUG=1\n")
    (git_repo / "id_rsa").write_text(PRIVATE_KEY)
    (git_repo / "id_rsa.py").write_text("def from_a_secret_name():\n    pass\n")
    ws = Workspace(git_repo)
    ok, text = tool(ws, "read_file", path=".env")
    assert not ok and "secret file" in text
    ok, text = tool(ws, "apply_diff", diff=unified_diff(".env", None, "x=1\n"))
    assert "secret file" in text and "x=1" not in (git_repo / ".env").read_text()
    ok, text = tool(ws, "search", query="DEBUG")
    assert "DEBUG=1" not in text and "not searched" in text
    ok, text = tool(ws, "search", query="OPENSSH")
    assert text.startswith("no matches")
    assert "from_a_secret_name" not in RepoMap(ws).render(4096)


def test_checkpoints_never_store_secret_files_and_undo_leaves_them(git_repo: Path) -> None:
    (git_repo / ".env").write_text("TOKEN=first\n")
    (git_repo / "certs").mkdir()
    (git_repo / "certs" / "site.pem").write_text(PRIVATE_KEY)
    ws = Workspace(git_repo)
    ledger = Ledger.start(ws)
    ws.observer = ledger
    stored = git(git_repo, "ls-tree", "-r", "--name-only", ledger.checkpoint.tree).split()
    assert ".env" not in stored and "certs/site.pem" not in stored
    ws.write_text("README.md", "agent edit\n")
    (git_repo / ".env").write_text("TOKEN=changed by the user later\n")
    undo.undo(Workspace(git_repo))
    assert (git_repo / "README.md").read_text() == "hello\n"
    assert (git_repo / ".env").read_text() == "TOKEN=changed by the user later\n"
    assert (git_repo / "certs" / "site.pem").read_text() == PRIVATE_KEY
    refs = git(git_repo, "for-each-ref", "--format=%(objectname)", "refs/coder/")
    for commit in refs.split():
        assert ".env" not in git(git_repo, "ls-tree", "-r", "--name-only", commit)


def test_secrets_never_reach_the_model_or_the_json_lines(repo: Path, scripted_server: Any) -> None:
    (repo / "id_rsa").write_text(PRIVATE_KEY)
    (repo / "notes.txt").write_text(f"the key: {OPENAI_KEY}\nthe token: plain-looking-value\n")
    server = scripted_server(
        [
            run_command("run", command="cat id_rsa; cat notes.txt; env"),
            run_command("read_file", path="notes.txt"),
            run_command("read_file", path="id_rsa"),
            {"text": "done", "tool_calls": [], "repeat": True},
        ]
    )
    proc = coder_run(
        repo, server.base_url, "--max-turns", "4", env={"INTERNAL_TOKEN": "plain-looking-value"}
    )
    received = "\n".join(tool_outputs(server))
    written = proc.stdout + proc.stderr
    for secret in ("b3BlbnNzaC1rZXkt", OPENAI_KEY, "plain-looking-value"):
        assert secret not in received and secret not in written
    assert "[REDACTED api key]" in received
    assert any(e["type"] == "tool_result" for e in events(proc))


def test_a_secret_file_commands_may_read_is_still_redacted(
    repo: Path, scripted_server: Any
) -> None:
    (repo / "id_rsa").write_text(PRIVATE_KEY)
    server = scripted_server(
        [
            run_command("run", command="cat id_rsa"),
            {"text": "done", "tool_calls": [], "repeat": True},
        ]
    )
    proc = coder_run(repo, server.base_url, "--max-turns", "2", "--read-secrets")
    received = "\n".join(tool_outputs(server))
    assert "b3BlbnNzaC1rZXkt" not in received and "b3BlbnNzaC1rZXkt" not in proc.stdout
    assert "[REDACTED private key]" in received


def test_encoded_secret_values_never_leave_coder(repo: Path, scripted_server: Any) -> None:
    """A command that may read .env (`--read-secrets`) prints its values in base64 (both
    alphabets, shifted), hex and reversed, and writes one into a file: none of those forms
    reaches the model, the JSON Lines, stderr, the session log or the Markdown report; nor
    does the value of a secret-looking variable, or the token in .git/config."""
    import base64
    import subprocess

    password = "pa55word-xyz-987654"
    token = "tok-abcdef1234567890"
    header = "Z2l0aHViLXRva2VuLXZhbHVl"
    (repo / ".env").write_text(f"DB_PASSWORD={password}\n")
    subprocess.run(
        ["git", "config", "http.https://github.com/.extraheader", f"AUTHORIZATION: basic {header}"],
        cwd=repo,
        check=True,
    )
    value = password.encode()
    forms = [
        base64.b64encode(value).decode(),
        base64.b64encode(b"x" + value).decode(),
        base64.urlsafe_b64encode(b"xy" + value).decode(),
        value.hex(),
        value.hex().upper(),
        password[::-1],
        token,
        base64.b64encode(token.encode()).decode(),
        header,
        header[::-1],
    ]
    leak = (
        "base64 -w0 .env; echo; (printf x; cat .env) | base64 -w0; echo; "
        "(printf xy; cat .env) | base64 -w0 | tr '+/' '-_'; echo; xxd -p .env; "
        "xxd -p .env | tr a-f A-F; rev .env; base64 -w0 .env > leak.txt"
    )
    server = scripted_server(
        [run_command("run", command=leak), {"text": "done", "tool_calls": [], "repeat": True}]
    )
    report = repo.parent / "report.md"
    proc = coder_run(
        repo,
        server.base_url,
        "--max-turns",
        "2",
        "--read-secrets",
        "--report",
        str(report),
        env={"MY_SERVICE_TOKEN": token},
    )
    assert (repo / "leak.txt").exists()  # the command did run and read the file
    sent = "\n".join(str(body) for body in server.received)
    logs = "".join(p.read_text() for p in (repo / ".git" / "coder" / "sessions").glob("*.log"))
    assert logs and report.read_text()
    places = {"request": sent, "json": proc.stdout, "stderr": proc.stderr, "log": logs}
    places["report"] = report.read_text()
    for where, text in places.items():
        for form in forms:
            assert form.rstrip("=")[2:-2] not in text, (where, form)
    assert "[REDACTED secret value]" in sent
