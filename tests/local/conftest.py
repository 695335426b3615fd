"""Locate the real embedded model before the autouse fixture isolates HOME."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from coder import INSTALL_LOCAL
from coder.providers.weights import installed_model_path

MODEL: Path | None = installed_model_path()
"""The weights installed in the developer's (or CI's) real cache dir, found at import time."""


def require_model() -> Path:
    """Skip, saying why, unless llama-cpp-python and the verified weights are present."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip(f"llama-cpp-python is not installed ({INSTALL_LOCAL})")
    if MODEL is None:
        pytest.skip("the embedded model's weights are not installed (coder model install)")
    return MODEL
