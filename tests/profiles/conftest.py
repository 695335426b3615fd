"""A small profile over a real workspace, and the records a check run leaves."""

from __future__ import annotations

from pathlib import Path

from coder.checks import CheckRunner, failing_tests
from coder.profiles.small import SmallProfile
from coder.results import CheckRun
from coder.tools import AutoApprover, ToolContext
from coder.workspace import Workspace


def small_profile(
    repo: Path, protocol: str | None = None, checks: list[str] | None = None
) -> SmallProfile:
    """The small profile as a session builds it, over `repo`."""
    ws = Workspace(repo)
    ctx = ToolContext(ws=ws, approver=AutoApprover(), checks=CheckRunner(ws, checks or []))
    return SmallProfile(ctx, protocol=protocol)


def failed_run(output: str) -> CheckRun:
    """What a failing pytest check run records."""
    return CheckRun("pytest -q", False, 1, output, 0.1, None, failing_tests(output))
