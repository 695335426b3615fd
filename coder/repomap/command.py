"""`coder map`: print the ranked repository map, optionally with indexing figures."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from coder.errors import UsageError
from coder.textsafe import printable
from coder.workspace import Workspace


def map_command(args: argparse.Namespace) -> int:
    """Print the map of `args.repo` within `args.tokens`, ranked around `args.focus`."""
    from coder.repomap import RepoMap

    root = Path(args.repo or ".")
    if not root.is_dir():
        raise UsageError(f"--repo: not a directory: {root}")
    if args.tokens <= 0:
        raise UsageError(f"--tokens must be a positive number, not {args.tokens}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        repo_map = RepoMap(Workspace(root))
        repo_map.refresh()
        focus = [*args.focus, *([args.subdir] if getattr(args, "subdir", None) else [])]
        text = repo_map.render(args.tokens, focus=focus)
    for warning in caught:
        print(f"coder: warning: {warning.message}", file=sys.stderr)
    if text:
        print(printable(text.rstrip("\n")))
    else:
        print("coder: no source files to map", file=sys.stderr)
    if args.stats:
        stats = repo_map.stats
        print(
            f"\nfiles: {stats.files}  tags: {stats.tags}  parsed: {stats.parsed}  "
            f"scan: {stats.scan_s:.3f}s  parse: {stats.parse_s:.3f}s  rank: {stats.rank_s:.3f}s"
        )
    return 0
