"""get_provider: the lazy name → class table."""

from __future__ import annotations

import subprocess
import sys

import pytest

from coder.config import Settings
from coder.errors import ConfigError
from coder.providers import get_provider

URL = "http://127.0.0.1:9/v1"


def test_chat_and_responses_are_chosen_by_the_api_setting() -> None:
    chat = get_provider(Settings(model="gpt-4.1", base_url=URL, api="chat"))
    responses = get_provider(Settings(model="gpt-4.1", base_url=URL, api="responses"))
    assert type(chat).__name__ == "ChatProvider"
    assert type(responses).__name__ == "ResponsesProvider"
    assert chat.model == responses.model == "gpt-4.1"


def test_auto_with_a_base_url_uses_chat_completions() -> None:
    assert type(get_provider(Settings(base_url=URL))).__name__ == "ChatProvider"


def test_unknown_provider_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'carrier-pigeon'"):
        get_provider(Settings(api="carrier-pigeon"))


def test_importing_the_provider_table_does_not_import_openai() -> None:
    code = "import sys, coder.providers; print('openai' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
