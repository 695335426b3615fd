"""`coder apply PATCH [--check] [--repo DIR]`: apply a diff from a file or stdin, like git apply."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coder.diff import apply_patch
from coder.errors import EXIT_FAILED, EXIT_OK, UsageError
from coder.textsafe import printable
from coder.workspace import Workspace


def _read_patch(name: str) -> str:
    if name == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read patch {name}: {exc.strerror}") from exc
    return data.decode("utf-8", "surrogateescape")


def apply_command(args: argparse.Namespace) -> int:
    """Apply (or with --check, only test) a patch; 0 applied, 1 rejected, 2 bad input."""
    text = _read_patch(args.patch)
    root = Path(args.repo) if args.repo else Path.cwd()
    if not root.is_dir():
        raise UsageError(f"--repo is not a directory: {root}")
    ws = Workspace(root, deny_secrets=False)  # the user's own patch may touch .env files
    result = apply_patch(text, ws, check=bool(args.check))
    print(printable(result.feedback()))
    return EXIT_OK if result.ok else EXIT_FAILED
