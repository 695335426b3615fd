"""Model providers behind the `Provider` protocol, chosen by name and imported lazily.

`get_provider(settings)` imports only the selected module, so `coder --help` never imports
`openai` or `llama_cpp`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from coder.errors import ConfigError

if TYPE_CHECKING:
    from coder.config import Settings
    from coder.protocols import Provider

PROVIDERS: dict[str, str] = {
    "chat": "coder.providers.chat:ChatProvider",
    "responses": "coder.providers.responses:ResponsesProvider",
    "local": "coder.providers.local:LocalProvider",
}
"""Provider name (`Settings.provider_name`) → "module:Class"; each class has from_settings."""


def get_provider(settings: Settings) -> Provider:
    """Build the provider that `settings` select, importing only its module."""
    name = settings.provider_name
    target = PROVIDERS.get(name)
    if target is None:
        raise ConfigError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}")
    module_name, class_name = target.split(":")
    provider_class = getattr(importlib.import_module(module_name), class_name)
    return provider_class.from_settings(settings)
