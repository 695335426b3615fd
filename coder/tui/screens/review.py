"""ReviewScreen: a proposed diff file by file and hunk by hunk; the answer is a DiffDecision.

Keys (shown on screen): y approve hunk, n reject hunk, a approve all, e edit the hunk in
$EDITOR then approve it, r reject the hunk with a comment for the model, Esc reject the rest.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from coder.approval import DiffDecision
from coder.diff.parse import FilePatch, Hunk, Patch
from coder.hostprogs import host_program, in_repository
from coder.tui.widgets.diff_view import DiffView

_HEADER = re.compile(r"^@@+\s*-(\d+)(?:,\d+)?\s+\+(\d+)(?:,\d+)?\s*@@+ ?(.*)$")
KEY_HINTS = (
    "y approve hunk · n reject hunk · a approve all · e edit in $EDITOR · "
    "r reject with comment · ↑↓ move · esc reject the rest"
)


def recount(text: str, original: Hunk) -> str:
    """An edited hunk's text with its `@@` counts recomputed from its body."""
    lines = [line for line in text.rstrip("\n").split("\n") if not line.startswith("#")]
    match = _HEADER.match(lines[0]) if lines else None
    body = lines[1:] if lines and lines[0].startswith("@@") else lines
    old_start = int(match.group(1)) if match else original.old_start
    new_start = int(match.group(2)) if match else original.new_start
    section = match.group(3) if match else original.section
    body = [line if line[:1] in ("+", "-", " ", "\\") else " " + line for line in body]
    old = sum(1 for line in body if line[:1] in (" ", "-"))
    new = sum(1 for line in body if line[:1] in (" ", "+"))
    header = f"@@ -{old_start},{old} +{new_start},{new} @@ {section}".rstrip()
    return "\n".join([header, *body]) + "\n"


def file_header(fp: FilePatch) -> str:
    """Git-style headers that recreate `fp`'s file operation in a rebuilt diff."""
    lines = [f"diff --git a/{fp.source_path} b/{fp.path}"]
    if fp.is_new:
        lines.append(f"new file mode {fp.new_mode or '100644'}")
    elif fp.is_deleted:
        lines.append(f"deleted file mode {fp.old_mode or '100644'}")
    elif fp.old_mode and fp.new_mode and fp.old_mode != fp.new_mode:
        lines += [f"old mode {fp.old_mode}", f"new mode {fp.new_mode}"]
    if fp.is_rename:
        lines += [f"rename from {fp.source_path}", f"rename to {fp.path}"]
    lines.append("--- /dev/null" if fp.is_new else f"--- a/{fp.source_path}")
    lines.append("+++ /dev/null" if fp.is_deleted else f"+++ b/{fp.path}")
    return "\n".join(lines) + "\n"


def build_decision(
    patch: Patch, decisions: list[str], edited: dict[int, str], comments: dict[int, str]
) -> DiffDecision:
    """Turn per-hunk verdicts (approved, edited, rejected) into the agent's DiffDecision."""
    hunks = patch.hunks
    approved = frozenset(i for i, d in enumerate(decisions) if d in ("approved", "edited"))
    notes = [f"hunk {i + 1} ({hunks[i].path}): {c}" for i, c in sorted(comments.items())]
    if not edited:
        everything = len(approved) == len(hunks)
        return DiffDecision(
            approved_hunks=None if everything else approved, comment="\n".join(notes)
        )
    parts: list[str] = []
    index = 0
    for fp in patch.files:
        chosen: list[str] = []
        for hunk in fp.hunks:
            if index in approved and hunk.kind == "change":
                chosen.append(edited.get(index, hunk.text()))
            elif index in approved:
                chosen.append("")
            index += 1
        if chosen:
            parts.append(file_header(fp) + "".join(chosen))
    return DiffDecision(
        approved_hunks=approved,
        edited_diff="".join(parts),
        comment="\n".join(notes),
        edited_hunks=frozenset(edited),
    )


def editor_command(root: Path) -> list[str]:
    """The user's editor as an argv prefix: $EDITOR, then $VISUAL, then vi.

    It runs on the host, so its program is found outside the repository `root` (a
    command could plant `vi` in an activated `.venv/bin`); OSError when there is none.
    """
    argv = shlex.split(os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi")
    if not argv:
        raise OSError("$EDITOR is empty")
    program = argv[0]
    if os.sep in program:
        if in_repository(program, root):
            raise OSError(f"{program} is inside the repository; coder runs no program from it")
        return argv
    found = host_program(program, root)
    if found is None:
        raise OSError(f"{program} not found outside the repository")
    return [found, *argv[1:]]


class ReviewScreen(ModalScreen[DiffDecision]):
    """Shows every hunk of a diff; the current one has a highlighted bar."""

    AUTO_FOCUS = None
    """Keys go to the screen's bindings, not to the (hidden) comment box."""

    BINDINGS = [
        Binding("y", "decide('approved')", "approve hunk"),
        Binding("n", "decide('rejected')", "reject hunk"),
        Binding("a", "approve_all", "approve all"),
        Binding("e", "edit", "edit in $EDITOR"),
        Binding("r", "comment", "reject with comment"),
        Binding("up,k", "move(-1)", "previous", show=False),
        Binding("down,j", "move(1)", "next", show=False),
        Binding("escape", "reject_rest", "reject the rest"),
    ]

    DEFAULT_CSS = """
    ReviewScreen { align: center middle; }
    ReviewScreen > Vertical {
        width: 100%; height: 100%; border: thick $accent; background: $surface;
    }
    ReviewScreen #review-title { height: auto; padding: 0 1; text-style: bold; }
    ReviewScreen #review-keys { height: auto; padding: 0 1; color: $accent; }
    ReviewScreen #hunks { height: 1fr; }
    ReviewScreen .file-header { padding: 0 1; text-style: bold; background: $panel; }
    ReviewScreen #comment { display: none; }
    ReviewScreen #comment.-visible { display: block; }
    """

    def __init__(self, patch: Patch, root: Path | None = None) -> None:
        super().__init__()
        self.patch = patch
        self._root = (root or Path.cwd()).resolve()
        """The repository: the editor is never a program inside it."""
        self.hunks = self.patch.hunks
        self.decisions = ["pending"] * len(self.hunks)
        self.edited: dict[int, str] = {}
        self.comments: dict[int, str] = {}
        self.current = 0
        self._views: list[DiffView] = []

    def compose(self) -> ComposeResult:
        files, total = len(self.patch.files), len(self.hunks)
        with Vertical():
            yield Static(
                Content(
                    f"Review the proposed change: {files} file{'s' * (files != 1)}, "
                    f"{total} hunk{'s' * (total != 1)}"
                ),
                id="review-title",
            )
            with VerticalScroll(id="hunks"):
                index = 0
                for fp in self.patch.files:
                    yield Static(Content(_file_title(fp)), classes="file-header")
                    for hunk in fp.hunks:
                        label = f"hunk {index + 1}/{total}  {fp.path}"
                        view = DiffView(index, fp.path, hunk.text(), label)
                        self._views.append(view)
                        yield view
                        index += 1
            yield Static(Content(KEY_HINTS), id="review-keys")
            yield Input(
                placeholder="why? (Enter sends it to the model, Esc cancels)",
                id="comment",
                disabled=True,
            )
        yield Footer()

    def on_mount(self) -> None:
        self._show_current()

    def _show_current(self) -> None:
        for view in self._views:
            view.set_class(view.index == self.current, "-current")
        if self._views:
            self._views[self.current].scroll_visible(animate=False)

    def _advance(self) -> None:
        pending = [i for i, d in enumerate(self.decisions) if d == "pending"]
        if not pending:
            self.dismiss(build_decision(self.patch, self.decisions, self.edited, self.comments))
            return
        later = [i for i in pending if i > self.current]
        self.current = later[0] if later else pending[0]
        self._show_current()

    def _set(self, index: int, decision: str) -> None:
        self.decisions[index] = decision
        self._views[index].decision = decision
        self._views[index].refresh(layout=True)

    def action_decide(self, decision: str) -> None:
        """Approve or reject the current hunk and move to the next undecided one."""
        self._set(self.current, decision)
        self._advance()

    def action_approve_all(self) -> None:
        """Approve every hunk not yet decided and finish the review."""
        for index, decision in enumerate(self.decisions):
            if decision == "pending":
                self._set(index, "approved")
        self._advance()

    def action_reject_rest(self) -> None:
        """Reject every hunk not yet decided and finish the review (Esc in the comment box
        only closes the box)."""
        box = self.query_one("#comment", Input)
        if box.has_class("-visible"):
            box.remove_class("-visible")
            box.disabled = True
            self.set_focus(None)
            return
        for index, decision in enumerate(self.decisions):
            if decision == "pending":
                self._set(index, "rejected")
        self._advance()

    def action_move(self, step: int) -> None:
        """Make the previous or next hunk current (to revisit a decision)."""
        self.current = max(0, min(len(self.hunks) - 1, self.current + step))
        self._show_current()

    @on(DiffView.Selected)
    def _select(self, message: DiffView.Selected) -> None:
        self.current = message.index
        self._show_current()

    def action_comment(self) -> None:
        """Ask for a comment; Enter rejects the current hunk with it."""
        box = self.query_one("#comment", Input)
        box.disabled = False
        box.add_class("-visible")
        box.value = ""
        box.focus()

    @on(Input.Submitted, "#comment")
    def _comment_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        box = self.query_one("#comment", Input)
        box.remove_class("-visible")
        box.disabled = True
        self.set_focus(None)
        if message.value.strip():
            self.comments[self.current] = message.value.strip()
            self._views[self.current].comment = message.value.strip()
        self.action_decide("rejected")

    def action_edit(self) -> None:
        """Open the current hunk in $EDITOR; the saved text is approved as the edited hunk."""
        index = self.current
        hunk = self.hunks[index]
        if hunk.kind != "change":
            self.notify("only line changes can be edited; use y or n", severity="warning")
            return
        original = self.edited.get(index, hunk.text())
        with tempfile.TemporaryDirectory(prefix="coder-edit-") as tmp:
            path = Path(tmp) / f"hunk-{index + 1}.diff"
            path.write_text(original, encoding="utf-8")
            try:
                code = self._run_editor([*editor_command(self._root), str(path)])
            except OSError as exc:
                self.notify(f"cannot start the editor: {exc}", severity="error")
                return
            text = path.read_text(encoding="utf-8", errors="replace")
        if code != 0:
            self.notify(f"the editor exited with {code}; hunk left undecided", severity="warning")
            return
        if not text.strip():
            self._set(index, "rejected")
        elif text == original and index not in self.edited:
            self._set(index, "approved")
        else:
            self.edited[index] = recount(text, hunk)
            self._views[index].text = self.edited[index]
            self._set(index, "edited")
        self._advance()

    def _run_editor(self, argv: list[str]) -> int:
        from textual.app import SuspendNotSupported

        try:
            with self.app.suspend():
                return subprocess.run(argv).returncode
        except SuspendNotSupported:
            # Headless (tests, pipes): no terminal to hand over; run the editor as is.
            return subprocess.run(argv, stdin=subprocess.DEVNULL).returncode


def _file_title(fp: FilePatch) -> str:
    if fp.is_new:
        return f"{fp.path} (new file)"
    if fp.is_deleted:
        return f"{fp.path} (deleted)"
    if fp.is_rename:
        return f"{fp.source_path} → {fp.path}"
    return fp.path
