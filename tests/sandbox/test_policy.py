"""The command-approval policy: a real shell parser splits every command line; a compound
command runs without asking only when each of its parts is allow-listed, by whole words."""

from __future__ import annotations

import pytest

from coder.policy import entries_to_remember, needs_asking, pre_approved

ALLOWED = ["git status", "pytest -q", "ls"]


@pytest.mark.parametrize(
    "command",
    [
        "git status",
        "git status --short",
        "'git' \"status\"",
        "git status 2>&1",
        "git status > /dev/null",
        "git status | ls",
        "(git status && ls)",
        "{ git status; ls; }",
        "git status && pytest -q tests/test_x.py",
        "ls < input.txt",
    ],
)
def test_every_part_allowed_runs_without_asking(command: str) -> None:
    assert pre_approved(command, ALLOWED)


@pytest.mark.parametrize(
    "command",
    [
        "git status && touch x",
        "git status; touch x",
        "git status || touch x",
        "git status | sh",
        "git status\ntouch x",
        "git status $(touch x)",
        "git status `touch x`",
        "echo $(git status)",
        "git status <(touch x)",
        "(git status && touch x)",
        "git status > out.txt",
        "git status >> out.txt",
        "git status &> out.txt",
        "(ls) > out.txt",
        "git statusx",
        "git-status",
        "git",
        "gitstatus",
        "PAGER='sh -c evil' git status",
        "git status &",
        "cat <<EOF\n$(touch x)\nEOF",
        "if true; then touch x; fi",
        "for f in a; do touch $f; done",
        "f() { touch x; }; f",
        "echo $((1 + 2))",
        "git status 'unterminated",
        "",
    ],
)
def test_any_part_not_allowed_asks(command: str) -> None:
    assert not pre_approved(command, ALLOWED)
    assert needs_asking("auto-edit", command, ALLOWED)
    assert needs_asking("suggest", command, ALLOWED)


def test_an_empty_or_blank_entry_allows_nothing() -> None:
    assert not pre_approved("rm -rf /", [""])
    assert not pre_approved("rm -rf /", ["   "])
    assert not pre_approved("anything", [])


def test_full_auto_never_asks() -> None:
    assert not needs_asking("full-auto", "rm -rf stats", [])


def test_always_allow_remembers_each_new_part_once() -> None:
    assert entries_to_remember("git status && npm test -- --watch=false", ALLOWED) == [
        "npm test -- --watch=false"
    ]
    assert entries_to_remember("npm test; npm test", []) == ["npm test"]
    assert entries_to_remember("echo $(cat x) > out", []) == []  # can only be allowed once
