"""The same tool call, with the same arguments, over and over: refused, then the run ends."""

from __future__ import annotations

import json

from coder.conversation import ToolCall
from coder.errors import RepeatedCall


class RepeatGuard:
    """Counts identical calls in a row with nothing changed in between (a workspace
    generation); the `limit`-th is refused, and two refusals later the run ends."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self._last: tuple[str, str] | None = None
        self._generation = -1
        self._count = 0

    def check(self, call: ToolCall, generation: int) -> str:
        """Why `call` must not run (empty: run it); raises RepeatedCall to end the run."""
        key = (call.name, json.dumps(call.arguments, sort_keys=True, default=str))
        if key != self._last or generation != self._generation:
            self._last, self._generation, self._count = key, generation, 0
        self._count += 1
        if self._count < self.limit:
            return ""
        if self._count >= self.limit + 2:
            raise RepeatedCall(
                f"the model repeated {call.name} with the same arguments "
                f"{self._count} times and would not change course"
            )
        return (
            f"Not run: you made exactly this {call.name} call {self._count} times in a "
            "row and nothing changed in between, so its result would not change. Do something "
            "different: change the code, look elsewhere, or call finish."
        )
