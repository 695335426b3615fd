"""Settings precedence: flags > env > repo .coder.toml > user config; bad config is refused."""

from __future__ import annotations

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
    trust.trust(git_repo)
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
        ('colour = "blue"\n', "unknown key"),
        ("max-turns = -1\n", "positive integer"),
        ('api = "soap"\n', "api must be one of"),
    ],
)
def test_bad_repo_config_is_refused(git_repo: Path, text: str, message: str) -> None:
    (git_repo / ".coder.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.load({}, repo=git_repo)
