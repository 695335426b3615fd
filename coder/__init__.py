"""coder: a terminal coding assistant that fixes issues in a repository."""

__version__ = "0.1.0"
