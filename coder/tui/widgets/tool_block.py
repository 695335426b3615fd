"""ToolBlock: a compact, expandable transcript entry for one tool call and its live output."""

from __future__ import annotations

import json
from typing import Any

from textual.content import Content
from textual.widgets import Collapsible, Log, Static

from coder.tui.widgets.diff_view import render_diff

_KEY_ARGUMENT = {
    "read_file": "path",
    "list_files": "path",
    "search": "query",
    "run": "command",
    "apply_diff": None,
    "finish": "summary",
}
_LIVE = ("run", "run_checks")
"""Tools whose output streams while they run: expanded until they finish."""
MAX_LOG_LINES = 2000


def summarize_call(name: str, arguments: dict[str, Any]) -> str:
    """One line naming the tool and its most telling argument."""
    if name == "apply_diff":
        diff = str(arguments.get("diff", ""))
        files = [
            line[4:].strip().removeprefix("b/")
            for line in diff.splitlines()
            if line.startswith("+++ ") and "/dev/null" not in line
        ]
        hunks = sum(1 for line in diff.splitlines() if line.startswith("@@"))
        return f"apply_diff {', '.join(files) or '?'} ({hunks} hunk{'s' * (hunks != 1)})"
    key = _KEY_ARGUMENT.get(name)
    value = arguments.get(key) if key else None
    if value is None and arguments and name not in _KEY_ARGUMENT:
        value = json.dumps(arguments, ensure_ascii=False)
    text = f"{name} {value}" if value is not None else name
    first = text.splitlines()[0] if text else name
    return first if len(first) <= 100 else first[:99] + "…"


class ToolBlock(Collapsible):
    """Title: tool, key argument and state. Body: arguments, live output, result."""

    DEFAULT_CSS = """
    ToolBlock { margin: 0 0 1 0; padding: 0; border: none; background: $surface; }
    ToolBlock.-failed CollapsibleTitle { color: $error; }
    ToolBlock Log { height: 10; }
    ToolBlock .tool-result { color: $text-muted; }
    """

    def __init__(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        self.call_id = call_id
        self.tool_name = name
        self.summary = summarize_call(name, arguments)
        self.state = "running…"
        children: list[Static | Log] = []
        self.diff_view: Static | None = None
        if name == "apply_diff":
            diff = str(arguments.get("diff", ""))
            self.diff_view = Static(render_diff(diff), classes="tool-args")
            children.append(self.diff_view)
        self.log_view = Log(max_lines=MAX_LOG_LINES, classes="tool-output")
        self.log_view.display = False
        self.result_view = Static(Content(""), classes="tool-result")
        super().__init__(
            *children,
            self.log_view,
            self.result_view,
            title=self._heading(),  # type: ignore[arg-type]
            collapsed=name not in _LIVE,
        )

    def _heading(self) -> Content:
        style = {"ok": "$success", "failed": "$error"}.get(self.state, "$warning")
        return Content.assemble(("⚙ ", "$accent"), self.summary, "  ", (self.state, style))

    def set_waiting(self, waiting: bool) -> None:
        """The call waits for the user's answer (a review, a confirmation) or runs again."""
        if self.state in ("ok", "failed"):
            return
        self.state = "waiting for approval" if waiting else "running…"
        self.title = self._heading()  # type: ignore[assignment]

    def show_applied(self, diff: str) -> None:
        """After a review that edited or left out hunks: what was applied, not the proposal."""
        if self.diff_view is not None:
            self.diff_view.update(render_diff(diff))
            self.summary = f"{self.summary} · as applied"
            self.title = self._heading()  # type: ignore[assignment]

    def write_output(self, text: str) -> None:
        """Append live output (already stripped of escape sequences by the workspace)."""
        if not self.log_view.display:
            # Output shows while it happens, whatever the tool (finish runs the checks too).
            self.log_view.display = True
            self.collapsed = False
        self.log_view.write(text)

    def finish(self, ok: bool, output: str) -> None:
        """Record what the tool returned; live blocks fold away once done."""
        self.state = "ok" if ok else "failed"
        self.set_class(not ok, "-failed")
        if not self.log_view.display:
            self.result_view.update(Content(output))
        self.title = self._heading()  # type: ignore[assignment]
        if self.tool_name in _LIVE or self.log_view.display:
            self.collapsed = True
