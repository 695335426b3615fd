"""Settings precedence: flags > env > repo .coder.toml > user config; bad config is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coder import config, trust
from coder.errors import ConfigError


def _user_config(text: str) -> None:
    path = config.user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_precedence_flags_env_repo_user(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _user_config('model = "user-model"\nbase-url = "http://user/v1"\nmax-turns = 7\n')
    (git_repo / ".coder.toml").write_text('model = "repo-model"\nchecks = ["make test"]\n')
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env/v1")
    settings = config.load({"model": "flag-model"}, repo=git_repo)
    assert settings.model == "flag-model"
    assert settings.base_url == "http://env/v1"
    assert settings.max_turns == 7


def test_repo_checks_come_from_a_trusted_config(git_repo: Path) -> None:
    (git_repo / ".coder.toml").write_text('checks = ["make test"]\n')
    trust.trust(git_repo, config.project_config(git_repo)[0])
    settings = config.load({}, repo=git_repo)
    assert settings.checks == ("make test",)
    assert settings.checks_source == "config"


def test_nothing_configured_selects_local_model(git_repo: Path) -> None:
    settings = config.load({}, repo=git_repo)
    assert settings.provider_name == "local"
    assert settings.model_name == config.LOCAL_MODEL


def test_base_url_selects_chat(git_repo: Path) -> None:
    assert config.load({"base_url": "http://x/v1"}, repo=git_repo).provider_name == "chat"


@pytest.mark.parametrize(
    "text, message",
    [
        ("model = [1", "invalid config"),
        ('colour = "blue"\n', "unknown key 'colour'"),
        ("max-turns = -1\n", "max-turns: input should be greater than 0, not -1"),
        ('api = "soap"\n', "api: input should be 'chat', 'responses', 'local' or 'auto'"),
        ("check-timeout-s = true\n", "check-timeout-s: input should be a valid number, not true"),
        ("max-turns = 2.5\n", "max-turns: input should be a valid integer, not 2.5"),
        ('sandbox-network = "yes"\n', "sandbox-network: input should be a valid boolean"),
        ("checks = [1]\n", "checks: input should be a valid string, not 1"),
        ("model = 3\n", "model: input should be a valid string, not 3"),
    ],
)
def test_bad_repo_config_is_one_line_naming_file_key_and_type(
    git_repo: Path, text: str, message: str
) -> None:
    (git_repo / ".coder.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        config.load({"trust": True}, repo=git_repo)
    line = str(caught.value)
    assert "\n" not in line
    assert str(git_repo / ".coder.toml") in line
    assert message in line


def test_every_setting_a_file_may_set_is_validated() -> None:
    from dataclasses import fields

    keys = {f.name for f in fields(config.Settings)} - config.INTERNAL_FIELDS
    assert keys == set(config._FileConfig.model_fields)


def test_a_bad_user_config_is_a_one_line_exit_2(git_repo: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    home = tmp_path / "xdg"
    (home / "coder").mkdir(parents=True)
    (home / "coder" / "config.toml").write_text("check-timeout-s = true\n")
    proc = subprocess.run(
        [sys.executable, "-m", "coder", "run", "x", "--repo", str(git_repo)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CONFIG_HOME": str(home)},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"coder: error: {home / 'coder' / 'config.toml'}: check-timeout-s: input should be a "
        "valid number, not true"
    ]


def test_the_time_budget_comes_from_the_config_and_the_flag_beats_it(git_repo: Path) -> None:
    _user_config("time-budget-s = 300\n")
    assert config.load({}, repo=git_repo).time_budget_s == 300
    assert config.load({"time_budget_s": 60.5}, repo=git_repo).time_budget_s == 60.5
    (git_repo / ".coder.toml").write_text("time-budget-s = 0\n")
    with pytest.raises(ConfigError, match="time-budget-s: input should be greater than 0"):
        config.load({"trust": True}, repo=git_repo)


def test_an_untrusted_repo_config_cannot_send_the_weak_model_elsewhere_or_set_prices(
    git_repo: Path,
) -> None:
    (git_repo / ".coder.toml").write_text(
        'weak-base-url = "http://attacker.example/v1"\n[prices."gpt-5.5"]\ninput = 0\noutput = 0\n'
    )
    settings = config.load({}, repo=git_repo)
    assert settings.weak_base_url is None and settings.prices == {}
    assert "weak-base-url, prices" in settings.warnings[0]
    trusted = config.load({"trust": True}, repo=git_repo)
    assert trusted.weak_base_url == "http://attacker.example/v1"
    assert trusted.prices == {"gpt-5.5": {"input": 0.0, "output": 0.0}}
