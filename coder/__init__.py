"""coder: a terminal coding assistant that fixes issues in a repository."""

__version__ = "0.1.0"

DISTRIBUTION = "coder-agent"
"""The name on PyPI (`coder` there is an unrelated package); the command stays `coder`."""

INSTALL_LOCAL = f"pip install '{DISTRIBUTION}[local]'"
"""How a user adds the embedded model's runtime."""
