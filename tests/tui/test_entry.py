"""`coder` with no subcommand: settings from flags, the TUI's approval default, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from coder.cli import build_parser, main
from coder.tui import settings_from_args


def test_tui_asks_before_edits_unless_an_approval_mode_is_given(git_repo: Path) -> None:
    plain = build_parser().parse_args(["--repo", str(git_repo)])
    chosen = build_parser().parse_args(["--repo", str(git_repo), "--approval", "full-auto"])
    assert settings_from_args(plain).approval == "suggest"
    assert settings_from_args(chosen).approval == "full-auto"


def test_flags_reach_the_settings(git_repo: Path) -> None:
    args = build_parser().parse_args(
        ["--repo", str(git_repo), "--model", "m1", "--check", "make test", "--max-turns", "4"]
    )
    settings = settings_from_args(args)
    assert (settings.model, settings.checks, settings.max_turns) == ("m1", ("make test",), 4)


def test_outside_a_git_repository_coder_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--repo", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a git repository" in err
