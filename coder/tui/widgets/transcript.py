"""Transcript: the scrolling record of a session: user lines, streamed markdown, tool blocks.

Model text is streamed into an `AssistantText` (markdown, throttled repaints); everything else
(user text, command output, check output, notices) is shown as literal `Content`.
"""

from __future__ import annotations

from typing import Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Collapsible, Log, Static

from coder.tui.widgets.assistant_text import AssistantText
from coder.tui.widgets.tool_block import ToolBlock


class Transcript(VerticalScroll):
    """Append-only view of the conversation; keeps itself scrolled to the newest entry."""

    DEFAULT_CSS = """
    Transcript { height: 1fr; padding: 0 1; }
    Transcript .user { margin: 1 0 0 0; color: $text; text-style: bold; }
    Transcript .guidance { margin: 1 0 0 0; color: $accent; text-style: bold; }
    Transcript .notice { color: $text-muted; }
    Transcript .warning { color: $warning; }
    Transcript .check-pass CollapsibleTitle { color: $success; }
    Transcript .check-fail CollapsibleTitle { color: $error; }
    Transcript Collapsible { border: none; padding: 0; margin: 0 0 1 0; }
    """

    def __init__(self, *children: Widget, **kwargs: Any) -> None:
        super().__init__(*children, **kwargs)
        self._assistant: AssistantText | None = None
        self._tools: dict[str, ToolBlock] = {}

    def on_mount(self) -> None:
        self.anchor()

    async def add_user(self, text: str, kind: str = "user") -> None:
        """A line the user typed (`kind`: user, guidance)."""
        await self.end_assistant("")
        marker = "› " if kind == "user" else "↳ guidance: "
        await self.mount(Static(Content(marker + text), classes=kind))

    async def stream_assistant(self, text: str) -> None:
        """Append a fragment of the model's text to the current message."""
        if self._assistant is None:
            self._assistant = AssistantText(classes="assistant")
            await self.mount(self._assistant)
        self._assistant.append(text)

    async def end_assistant(self, text: str) -> None:
        """Close the streamed message; show `text` whole (the final form of the message)."""
        if self._assistant is not None:
            if text.strip():
                self._assistant.set_text(text)
            self._assistant = None
        elif text.strip():
            await self.mount(AssistantText(text, classes="assistant"))

    async def add_tool(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        """A tool call, shown as a compact block."""
        await self.end_assistant("")
        block = ToolBlock(call_id, name, arguments)
        self._tools[call_id] = block
        await self.mount(block)

    def tool_output(self, call_id: str, text: str) -> None:
        """Live output of a running tool."""
        block = self._tools.get(call_id)
        if block is not None:
            block.write_output(text)

    def newest_tool(self) -> ToolBlock | None:
        """The most recent tool call still running (the one a question is about)."""
        return next(reversed(self._tools.values()), None)

    def tool_result(self, call_id: str, ok: bool, output: str) -> None:
        """What the tool returned."""
        block = self._tools.pop(call_id, None)
        if block is not None:
            block.finish(ok, output)

    async def _mount_aside(self, widget: Widget) -> None:
        """Mount `widget` without breaking a message that is streaming: before it, so the
        message stays one block (a background check can end in the middle of a turn)."""
        if self._assistant is not None:
            await self.mount(widget, before=self._assistant)
        else:
            await self.mount(widget)

    async def add_check(
        self, command: str, passed: bool, exit_code: int, output: str, candidate: bool = False
    ) -> None:
        """A check command's result; failures are expanded, except a candidate's (an answer
        checked in the sandbox before it reaches the tree)."""
        mark = "✓" if passed else f"✗ exit {exit_code}"
        what = "candidate check " if candidate else "check "
        title = Content.assemble((what, "bold"), command, "  ", mark)
        body = Static(Content(output.rstrip() or "(no output)"))
        await self._mount_aside(
            Collapsible(
                body,
                title=title,  # type: ignore[arg-type]
                collapsed=passed or candidate,
                classes="check-pass" if passed else "check-fail",
            )
        )

    async def add_notice(self, message: str, level: str = "info") -> None:
        """A one-line message from coder itself."""
        style = "warning" if level == "warning" else "notice"
        await self._mount_aside(Static(Content(message), classes=style))

    async def add_plan(self, steps: list[dict[str, str]]) -> None:
        """The model's plan as a checklist (each update is drawn where it happened)."""
        marks = {"done": "☑", "in_progress": "◐", "pending": "☐"}
        lines = [f"{marks.get(s['status'], '☐')} {s['step']}" for s in steps]
        done = sum(s["status"] == "done" for s in steps)
        title = Content.assemble(("plan ", "bold"), f"{done}/{len(steps)} done")
        body = Static(Content("\n".join(lines)), classes="plan")
        await self._mount_aside(Collapsible(body, title=title, collapsed=False))  # type: ignore[arg-type]

    async def add_panel(self, title: str, body: Content, collapsed: bool = False) -> None:
        """A titled, expandable block (slash command output)."""
        await self.end_assistant("")
        await self.mount(
            Collapsible(
                Static(body),
                title=Content.styled(title, "bold"),  # type: ignore[arg-type]
                collapsed=collapsed,
            )
        )

    def plain_text(self) -> str:
        """Everything shown, as plain text (titles, notices, markdown source, outputs)."""
        parts: list[str] = []
        for widget in self.query("Static, AssistantText, CollapsibleTitle, Log"):
            if isinstance(widget, AssistantText):
                parts.append(widget.text)
            elif isinstance(widget, Log):
                parts.append("\n".join(widget.lines))
            elif isinstance(widget, Static):
                parts.append(str(widget.content))
        return "\n".join(parts)

    async def clear(self) -> None:
        """Remove every entry."""
        await self.end_assistant("")
        self._tools.clear()
        await self.remove_children()
