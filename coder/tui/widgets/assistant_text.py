"""AssistantText: one model message rendered as markdown, streamed in at a bounded rate.

One widget per message (not one per markdown block) keeps transcript layout cheap, and each
markdown block's rendered lines are cached per width, so streaming re-parses only the last block;
re-rendering while streaming is throttled, so 100 tokens/s cost a few repaints a second.
The text goes through Rich's markdown parser only: Textual markup in it is shown literally.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

REFRESH_S = 0.25
"""Longest delay between a fragment arriving and being drawn."""


def split_blocks(text: str) -> list[str]:
    """Split markdown at blank lines outside code fences: each block renders on its own,
    so streaming re-renders only the last one."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None and stripped.startswith(fence):
            fence = None
        if fence is None and not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


class AssistantText(Widget):
    """The model's text for one turn; `append` as fragments arrive."""

    DEFAULT_CSS = """
    AssistantText { height: auto; padding: 0 0 0 2; margin: 0 0 1 0; }
    """

    def __init__(self, text: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.text = text
        self._pending = False
        self._cache_key: tuple[int, str] | None = None
        self._lines: list[Strip] = []
        self._blocks: dict[tuple[int, str], list[Strip]] = {}

    def append(self, fragment: str) -> None:
        """Add streamed text; the widget repaints at most every REFRESH_S seconds."""
        self.text += fragment
        if not self._pending:
            self._pending = True
            self.set_timer(REFRESH_S, self._flush)

    def set_text(self, text: str) -> None:
        """Replace the whole text (the final message) and repaint now."""
        self.text = text
        self._flush()

    def _flush(self) -> None:
        self._pending = False
        # Re-layout (which repaints everything that moves) only when the height changes.
        height = len(self._lines)
        new_height = len(self._rendered(self.content_size.width))
        self.refresh(layout=new_height != height or not self._lines)

    def _rendered(self, width: int) -> list[Strip]:
        key = (width, self.text)
        if key != self._cache_key and width > 0:
            lines: list[Strip] = []
            blocks = split_blocks(self.text)
            for number, block in enumerate(blocks):
                if number:
                    lines.append(Strip.blank(width, self.rich_style))
                lines.extend(self._block_lines(block, width))
            self._lines = lines
            self._cache_key = key
        return self._lines

    def _block_lines(self, block: str, width: int) -> list[Strip]:
        cached = self._blocks.get((width, block))
        if cached is None:
            from rich.markdown import Markdown as RichMarkdown  # markdown-it: load on first use

            console = self.app.console
            options = console.options.update(width=width, height=None)
            markdown = RichMarkdown(block, code_theme="monokai", hyperlinks=False)
            rendered = console.render_lines(markdown, options, style=self.rich_style, pad=False)
            cached = [Strip(line) for line in rendered]
            while cached and not cached[-1].text.strip():
                cached.pop()
            if len(self._blocks) > 512:
                self._blocks.clear()
            self._blocks[(width, block)] = cached
        return cached

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Height of the rendered markdown at `width`."""
        return len(self._rendered(width))

    def render_line(self, y: int) -> Strip:
        """One rendered line (from the per-width cache)."""
        width = self.content_size.width
        lines = self._rendered(width)
        return lines[y] if y < len(lines) else Strip.blank(width, self.rich_style)
