"""The approval seam: may a diff be applied, may a command run? Answered by the faces.

The approval mode lives behind `Approver`: headless answers by mode and allow-list, the TUI
asks through modal screens. A diff arrives parsed (`coder.diff.Patch`, its text inside), so
no face parses it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from coder.diff import Patch


@dataclass(frozen=True)
class DiffDecision:
    """The user's answer to a proposed diff."""

    approved_hunks: frozenset[int] | None
    """Indices (in diff order, 0-based across files) of hunks to apply; None means all."""
    edited_diff: str | None = None
    """When the user edited the diff, the text to apply instead (all of it is applied)."""
    comment: str = ""
    """Feedback for the model (why hunks were rejected, what to do instead)."""
    edited_hunks: frozenset[int] = field(default_factory=frozenset)
    """Indices of hunks the user changed before approving."""


@dataclass(frozen=True)
class CommandDecision:
    """The user's answer to a proposed shell command."""

    approved: bool
    comment: str = ""
    always: tuple[str, ...] = ()
    """Allow-list entries the user chose to remember for this repository ("always allow")."""


class Approver(Protocol):
    """Decides whether a diff or a command may run; the approval mode lives behind this."""

    def review_diff(self, patch: Patch) -> DiffDecision:
        """Review a parsed diff the model wants to apply; return which hunks to apply."""
        ...

    def confirm_command(self, command: str) -> CommandDecision:
        """Confirm a shell command the model wants to run in the working tree."""
        ...
