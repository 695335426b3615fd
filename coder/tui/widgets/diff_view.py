"""DiffView: one highlighted hunk with its review decision; `render_diff` for whole diffs.

Diff text comes from the model, so it is only ever turned into literal `Content`, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from coder.textsafe import printable

_LINE_STYLES = {"+": "on $success 15%", "-": "on $error 15%"}
_PREFIX_STYLES = {"+": "bold $success", "-": "bold $error", " ": "$text-muted"}


def _language(path: str | None, code: str) -> str:
    if not path:
        return "text"
    from textual.highlight import guess_language

    return guess_language(code, path)


def render_hunk(text: str, path: str | None = None) -> Content:
    """A hunk (`@@` header plus body) with its code highlighted for the file's language."""
    lines = printable(text).rstrip("\n").split("\n")
    header: list[str] = []
    while lines and (
        lines[0][:1] not in ("+", "-", " ", "\\") or lines[0].startswith(("--- ", "+++ "))
    ):
        header.append(lines.pop(0))
    code = "\n".join(line[1:] for line in lines)
    highlighted: list[Content] | None = None
    if code.strip():
        from textual.highlight import highlight

        parts = highlight(code, language=_language(path, code)).split("\n")
        if len(parts) >= len(lines):
            highlighted = parts[: len(lines)]
    out: list[Content] = [Content.styled(h, "bold $accent") for h in header]
    for number, line in enumerate(lines):
        prefix = line[:1]
        body = highlighted[number] if highlighted is not None else Content(line[1:])
        row = Content.assemble((prefix or " ", _PREFIX_STYLES.get(prefix, "")), body)
        if prefix in _LINE_STYLES:
            row = row.stylize_before(_LINE_STYLES[prefix])
        out.append(row)
    return Content("\n").join(out)


def render_diff(text: str) -> Content:
    """A whole unified diff (any number of files), each hunk highlighted for its file."""
    blocks: list[Content] = []
    path: str | None = None
    chunk: list[str] = []

    def flush() -> None:
        if chunk:
            blocks.append(render_hunk("\n".join(chunk), path))
            chunk.clear()

    for line in printable(text).rstrip("\n").split("\n"):
        if line.startswith(("diff --git", "--- ", "+++ ", "index ", "new file", "deleted file")):
            flush()
            if line.startswith("+++ "):
                name = line[4:].strip().split("\t")[0]
                path = None if name == "/dev/null" else name.removeprefix("b/")
            blocks.append(Content.styled(line, "bold"))
        elif line.startswith("@@"):
            flush()
            chunk.append(line)
        else:
            chunk.append(line)
    flush()
    return Content("\n").join(blocks)


class DiffView(Widget):
    """One hunk under review: highlighted code, a title and the decision taken so far."""

    DEFAULT_CSS = """
    DiffView {
        height: auto;
        padding: 0 1;
        margin: 0 0 1 0;
        border-left: thick $panel;
    }
    DiffView.-current { border-left: thick $accent; background: $boost; }
    DiffView.-approved { border-left: thick $success; }
    DiffView.-edited { border-left: thick $success; }
    DiffView.-rejected { border-left: thick $error; }
    """

    decision: reactive[str] = reactive("pending")
    """pending, approved, edited or rejected."""

    @dataclass
    class Selected(Message):
        """The user clicked this hunk to make it the current one."""

        index: int

    def __init__(self, index: int, path: str, text: str, label: str) -> None:
        super().__init__()
        self.index = index
        self.path = path
        self.text = text
        self.label = label
        self.comment = ""

    def render(self) -> Content:
        """Title line (hunk label and decision) above the highlighted hunk."""
        marks = {"pending": "·", "approved": "✓", "edited": "✎", "rejected": "✗"}
        title = Content.assemble(
            (f"{marks[self.decision]} {self.label}", "bold"),
            (f"  {self.decision}", "$text-muted"),
        )
        if self.comment:
            title = title + Content.styled(f"  “{self.comment}”", "italic $text-muted")
        return Content("\n").join([title, render_hunk(self.text, self.path)])

    def watch_decision(self, decision: str) -> None:
        for name in ("approved", "edited", "rejected"):
            self.set_class(decision == name, f"-{name}")

    def on_click(self) -> None:
        self.post_message(self.Selected(self.index))
