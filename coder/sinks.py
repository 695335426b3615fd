"""Event sinks every face gets: secrets redacted and live output released by whole lines.

The session wraps the face's sink in `RedactingSink`, so no event — JSON Lines, the TUI,
stderr progress — carries a secret. Live command output is held until its line is complete
(a key split across two chunks is still recognised), and a private-key block until it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

from coder.events import AssistantDelta, Event, ToolOutput
from coder.protocols import EventSink
from coder.textsafe import map_strings

HOLD_LIMIT = 64_000
"""Characters of one call's live output held back at most, waiting for a line's end."""


def redact_event(event: Event, redact: Callable[[str], str]) -> Event:
    """A copy of `event` with `redact` applied to every text in it."""
    changes = {
        f.name: map_strings(getattr(event, f.name), redact)
        for f in fields(event)
        if f.name not in ("type", "ts")
    }
    return replace(event, **changes)


class RedactingSink:
    """Redacts every event before the face sees it; buffers live output by lines."""

    def __init__(
        self,
        inner: EventSink,
        redact: Callable[[str], str],
        holds_block: Callable[[str], bool] = lambda text: False,
    ) -> None:
        self.inner, self.redact, self.holds_block = inner, redact, holds_block
        self._held: dict[str, str] = {}

    def emit(self, event: Event) -> None:
        """Forward a redacted copy (live output once its lines are complete)."""
        if isinstance(event, ToolOutput):
            self._live(event.call_id, event.text)
            return
        if not isinstance(event, AssistantDelta):
            self.flush()
        self.inner.emit(redact_event(event, self.redact))

    def _live(self, call_id: str, text: str) -> None:
        held = self._held.get(call_id, "") + text
        cut = held.rfind("\n") + 1
        if len(held) < HOLD_LIMIT and (cut == 0 or self.holds_block(held[:cut])):
            self._held[call_id] = held
            return
        if len(held) >= HOLD_LIMIT:
            cut = len(held)
        self._held[call_id] = held[cut:]
        self.inner.emit(ToolOutput(call_id, self.redact(held[:cut])))

    def flush(self) -> None:
        """Release every held fragment (at the end of a command)."""
        held, self._held = self._held, {}
        for call_id, text in held.items():
            if text:
                self.inner.emit(ToolOutput(call_id, self.redact(text)))
