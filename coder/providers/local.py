"""The embedded model: Qwen2.5-Coder-1.5B (GGUF) through llama-cpp-python on the CPU.

Owns the local wire format: a ChatML prompt built append-only from the conversation (so
llama.cpp reuses the KV cache of the unchanged prefix every turn), the repository's small
files shown once with the issue, failed attempts replaced by one retry message (a small model
copies any failed answer it can see), and a text protocol a 1.5B model follows: code blocks in its
answer become `write_file` calls (merged by local_edits; `apply_diff` with an exact diff when
write_file is not offered) followed by `finish`, and `<tool_call>` JSON for the other tools.
Over 400 lines because the prompt cache, the protocol and the llama.cpp loop share state.
"""

from __future__ import annotations

import ast
import codecs
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coder import prompts
from coder.checks import failing_tests
from coder.config import LOCAL_MODEL
from coder.conversation import (
    AssistantTurn,
    Conversation,
    Item,
    SystemText,
    TokenUsage,
    ToolCall,
    ToolResultItem,
    ToolSpec,
    UserText,
)
from coder.errors import CoderError, ProviderError, UsageError
from coder.providers.local_edits import Edit, edits_from_text, file_diff
from coder.providers.text_tool_calls import parse_tool_calls
from coder.providers.weights import require_model_path
from coder.secrets import Redactor
from coder.workspace import Workspace

if TYPE_CHECKING:
    from coder.config import Settings

log = logging.getLogger("coder.local")

DEFAULT_CONTEXT = 12288
MAX_NEW_TOKENS = 2048
RETRY_TEMPERATURES = (0.8, 1.0)
"""Sampling temperature of retries (cycled): a retry must not be a replay of the failure."""
HIDDEN_TOOLS = frozenset({"apply_diff", "run"})
"""Tools not shown to the small model: it edits with write_file blocks, checks with run_checks."""
WRITE_FILE = ToolSpec(
    "write_file",
    "Replace a file's whole content (or create it).",
    {
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
)
CONTEXT_CHARS = 6000
MAX_FILE_BYTES = 16_000
SOURCE_SUFFIXES = frozenset(
    {".py", ".js", ".ts", ".go", ".rs", ".java", ".c", ".h", ".rb", ".sh", ".toml", ".cfg"}
)
_LANGS = {".py": "python", ".js": "javascript", ".ts": "typescript", ".go": "go", ".rs": "rust"}
_STOP_TEXT = ("<tool_response>", "<|im_start|>")
PROTOCOLS = ("blocks", "json")
"""How the model edits: code blocks after a path line (default), or write_file calls in
`<tool_call>` JSON (kept to measure against; chosen by CODER_LOCAL_PROTOCOL, see
bench/local_eval.py)."""


@dataclass
class _Attempt:
    """A refused attempt: its check failures, their count (None: unknown) and the files."""

    refusal: int
    """id() of the refused `finish` result."""
    failures: str
    failing: int | None
    files: dict[str, str | None]


@dataclass
class _Generated:
    """The exact tokens the model produced for a turn, kept so the next prompt matches the KV."""

    turn: AssistantTurn
    tokens: list[int]


class LocalProvider:
    """Provider over an in-process llama.cpp model; see the module docstring."""

    def __init__(
        self,
        model_path: Path,
        repo: Path,
        n_ctx: int = DEFAULT_CONTEXT,
        n_threads: int | None = None,
        max_new_tokens: int = MAX_NEW_TOKENS,
        protocol: str = "blocks",
    ) -> None:
        if protocol not in PROTOCOLS:
            raise UsageError(f"unknown local tool protocol {protocol!r}: use one of {PROTOCOLS}")
        self.protocol = protocol
        self.model = LOCAL_MODEL
        self._lock = threading.Lock()
        self.model_path = model_path
        self.repo = repo.resolve()
        self.ws = Workspace(self.repo)
        """Files are read through the path guard: no symlink out, no secret file."""
        self.redact = Redactor.for_session(None).redact
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 2
        self.max_new_tokens = max_new_tokens
        self._llm: Any = None
        self._segments: dict[tuple[str, str], list[int]] = {}
        self._generated: dict[int, _Generated] = {}
        self._turn = 0
        self._task: UserText | None = None
        self._context_text: str | None = None
        self._shown: dict[str, str] = {}
        """Files as shown in the context: a retry shows those that have changed since."""
        self._retries: dict[int, UserText] = {}
        """The retry message that stands for each failed attempt (fixed once made)."""
        self._attempts: list[_Attempt] = []
        """Each refused attempt: how many tests failed and the files as they were checked."""
        self._restore: dict[str, str] = {}
        """Files to put back to the best attempt's text before the next answer's edits."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalProvider:
        """Check that llama-cpp-python and the weights are present; the model loads lazily."""
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise UsageError(
                "the embedded model needs llama-cpp-python: pip install 'coder[local]'"
            ) from None
        path = require_model_path(settings.model_path)
        return cls(
            path,
            settings.repo,
            n_ctx=settings.context_window or DEFAULT_CONTEXT,
            protocol=os.environ.get("CODER_LOCAL_PROTOCOL", "blocks"),
        )

    def complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
        on_notice: Callable[[str], None] = lambda message: None,
    ) -> AssistantTurn:
        """Prefill only the new part of the prompt, generate, and parse the tool calls."""
        # An interrupted call may still be prefilling in its abandoned thread; llama.cpp's
        # context is not reentrant, so the next call waits for it to stop at its next token.
        with self._lock:
            return self._complete(conversation, tools, on_delta)

    def _complete(
        self,
        conversation: Conversation,
        tools: list[ToolSpec],
        on_delta: Callable[[str], None],
    ) -> AssistantTurn:
        llm = self._load()
        shown = self._shown_tools(tools)
        prompt = self._fit(conversation, shown)
        cached = llm.input_ids[: llm.n_tokens].tolist()
        reused = 0
        for have, want in zip(cached, prompt, strict=False):
            if have != want:
                break
            reused += 1
        reused = min(reused, len(prompt) - 1)  # llama.cpp re-evaluates at least one token
        budget = min(self.max_new_tokens, self.n_ctx - len(prompt))
        started = time.monotonic()
        tokens, text, first_token_at = self._generate(llm, prompt, budget, on_delta)
        done = time.monotonic()
        self._turn += 1
        prefill_s = (first_token_at or done) - started
        log.info(
            "turn %d: prefilled %d, reused %d tokens (%.1f s); generated %d tokens (%.1f s)",
            self._turn,
            len(prompt) - reused,
            reused,
            prefill_s,
            len(tokens),
            done - (first_token_at or done),
        )
        usage = TokenUsage(len(prompt), len(tokens), reused)
        calls = self._parse_calls(text, shown)
        turn = AssistantTurn(text, tuple(calls), usage, calls_in_text=True)
        self._generated[id(turn)] = _Generated(turn, tokens)
        return turn

    def _load(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama

            started = time.monotonic()
            try:
                self._llm = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_batch=512,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(f"cannot load {self.model_path}: {exc}") from None
            eos = {
                self._llm.token_eos(),
                *self._special("<|im_end|>"),
                *self._special("<|endoftext|>"),
            }
            self._eos = eos
            log.info("loaded %s in %.1f s", self.model_path.name, time.monotonic() - started)
        return self._llm

    def _special(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode(), add_bos=False, special=True)  # type: ignore[no-any-return]

    def _shown_tools(self, tools: list[ToolSpec]) -> list[ToolSpec]:
        return [spec for spec in tools if spec.name not in HIDDEN_TOOLS]

    # -- prompt ---------------------------------------------------------------------------

    def _fit(self, conversation: Conversation, tools: list[ToolSpec]) -> list[int]:
        """The prompt tokens, compacting the conversation first if they would overflow."""
        reserve = min(self.max_new_tokens, self.n_ctx // 4)
        prompt = self._prompt(conversation, tools)
        for keep_last, max_chars in ((6, 400), (4, 200), (2, 100), (0, 100)):
            if len(prompt) + reserve <= self.n_ctx:
                return prompt
            removed = conversation.compact(keep_last=keep_last, max_chars=max_chars)
            log.info("compacted the conversation: %d characters removed", removed)
            prompt = self._prompt(conversation, tools)
        if len(prompt) + reserve > self.n_ctx:
            raise ProviderError(
                f"the conversation ({len(prompt)} tokens) no longer fits the local model's "
                f"context of {self.n_ctx} tokens"
            )
        return prompt

    def _prompt(self, conversation: Conversation, tools: list[ToolSpec]) -> list[int]:
        tokens: list[int] = []
        for item in self.visible_items(conversation):
            tokens += self._item_tokens(item, tools)
        return tokens + self._segment("<|im_start|>assistant\n", special=True)

    def visible_items(self, conversation: Conversation) -> list[Item]:
        """The items the model sees: failed attempts give way to one retry message.

        A 1.5B model shown its own failed answer copies it verbatim, however hot the
        sampling. So after a dead end (the checks refused a `finish`, or an answer held no
        usable call), everything since the task is replaced by one message with the latest
        failures and the changed files as they now are. The prompt up to the task stays
        the same, so its KV cache is still reused.
        """
        self._task = conversation.task
        self._context()  # records the files as first shown
        items = conversation.items()
        head = len(items) - len(conversation.turns)
        dead_ends = _dead_ends(items, head)
        if not dead_ends:
            return items
        last = dead_ends[-1]
        retry = self._retries.get(id(items[last]))
        if retry is None:
            retry = UserText(self._retry_text(items[head : last + 1], len(dead_ends)))
            self._retries[id(items[last])] = retry
        return [*items[:head], retry, *items[last + 1 :]]

    def _retry_text(self, attempts: list[Item], number: int) -> str:
        """The retry message after `attempts`; it also records the attempt just checked.

        Called once per dead end, right after it, so the files on disk are the ones the
        checks just ran on. When that attempt made more tests fail than an earlier one, the
        retry builds on the earlier one instead, and its files are put back before the next
        answer's edits: a small model that keeps patching a worse version rarely recovers.
        """
        written = {
            str(call.arguments.get("path", "")).strip()
            for item in attempts
            if isinstance(item, AssistantTurn)
            for call in item.tool_calls
            if call.name == "write_file"
        }
        recorded = {attempt.refusal for attempt in self._attempts}
        for item in attempts:
            if isinstance(item, ToolResultItem) and _is_refusal(item) and id(item) not in recorded:
                failures = item.output.strip()
                paths = written | set(self._shown) | {p for a in self._attempts for p in a.files}
                files = {path: self._current(path) for path in sorted(paths)}
                attempt = _Attempt(id(item), failures, failing_tests(failures), files)
                self._attempts.append(attempt)
        best = _best(self._attempts)
        latest = self._attempts[-1] if self._attempts else None
        undone = ""
        if best is not None and latest is not None and best is not latest:
            self._restore = {
                path: text
                for path, text in best.files.items()
                if text is not None and text != latest.files.get(path)
            }
            undone = (
                f"Your last change made more tests fail, so it is undone: the code is back to "
                f"attempt {self._attempts.index(best) + 1}."
            )
        files = best.files if best is not None else {p: self._current(p) for p in written}
        changed = []
        for path in sorted(files):
            now = files[path]
            if now is not None and not same_code(path, now, self._shown.get(path)):
                lang = _LANGS.get(Path(path).suffix, "")
                changed.append(f"{path} now reads:\n```{lang}\n{now.rstrip()}\n```")
        answers = [item for item in attempts if isinstance(item, AssistantTurn)]
        if undone:
            state = undone
        elif answers and not answers[-1].tool_calls:
            state = "Your last answer held no source file to write (the tests must not change)."
        elif not changed:
            state = "Your answer did not change the code: it repeated the code as it was."
        else:
            state = ""
        if changed:
            applied = "\n\n" if undone else " Your change so far is applied. "
            state = (state + applied + "\n\n".join(changed)).strip()
        failures = best.failures if best is not None else ""
        return prompts.render("retry", "small", attempt=number, state=state, failures=failures)

    def _item_tokens(self, item: Item, tools: list[ToolSpec]) -> list[int]:
        if isinstance(item, SystemText):
            if self.protocol == "json":
                return self._message("system", render_json_system(tools))
            body = item.text.rstrip() + "\n\n" + render_tools(tools)
            return self._message("system", body)
        if isinstance(item, UserText):
            if item is self._task:  # the files first, the issue last, nearest the answer
                return self._message("user", self._context() + "\n\n" + item.text.strip())
            return self._message("user", item.text)
        if isinstance(item, ToolResultItem):
            return self._message("user", f"<tool_response>\n{item.output}\n</tool_response>")
        generated = self._generated.get(id(item))
        if generated is not None and generated.turn is item:
            return [
                *self._segment("<|im_start|>assistant\n", special=True),
                *generated.tokens,
                *self._segment("<|im_end|>\n", special=True),
            ]
        return self._message("assistant", render_assistant(item))

    def _message(self, role: str, body: str) -> list[int]:
        return [
            *self._segment(f"<|im_start|>{role}\n", special=True),
            *self._segment(body, special=False),
            *self._segment("<|im_end|>\n", special=True),
        ]

    def _segment(self, text: str, special: bool) -> list[int]:
        key = ("s" if special else "t", text)
        found = self._segments.get(key)
        if found is None:
            found = self._llm.tokenize(text.encode(), add_bos=False, special=special)
            self._segments[key] = found
        return list(found)

    def _context(self) -> str:
        """The repository's small files, shown with the task once (then fixed, for the KV)."""
        if self._context_text is None:
            text = repo_context(self.ws, self._task.text if self._task else "", record=self._shown)
            self._context_text = self.redact(text)
        return self._context_text

    # -- generation -----------------------------------------------------------------------

    def _generate(
        self, llm: Any, prompt: list[int], budget: int, on_delta: Callable[[str], None]
    ) -> tuple[list[int], str, float | None]:
        """Sample until end of turn, a stop text or the budget; returns (tokens, text, t0)."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        tokens: list[int] = []
        ends: list[int] = []  # text length after each token
        text = ""
        first_at: float | None = None
        shown = 0
        # Greedy first; later turns sample, so a retry after failing checks is not a replay.
        # No top_p or min_p: they cut every alternative to a confidently copied line.
        if self._turn == 0:
            sampling: dict[str, Any] = {"temp": 0.0, "top_k": 1}
        else:
            temperature = RETRY_TEMPERATURES[(self._turn - 1) % len(RETRY_TEMPERATURES)]
            sampling = {"temp": temperature, "top_k": 40, "top_p": 1.0, "min_p": 0.0}
            llm.set_seed(self._turn)
        for token in llm.generate(prompt, repeat_penalty=1.0, reset=True, **sampling):
            if first_at is None:
                first_at = time.monotonic()
            if token in self._eos:
                break
            tokens.append(token)
            text += decoder.decode(llm.detokenize([token]))
            ends.append(len(text))
            cut = _stop_at(text)
            if cut is not None:
                keep = sum(1 for end in ends if end <= cut)
                tokens, text = tokens[:keep], text[:cut]
                break
            safe = _safe_prefix(text)
            if safe > shown:
                on_delta(text[shown:safe])
                shown = safe
            if len(tokens) >= budget:
                break
        if len(text) > shown:
            on_delta(text[shown:])
        return tokens, text, first_at

    # -- tool calls -----------------------------------------------------------------------

    def _parse_calls(self, text: str, offered: list[ToolSpec]) -> list[ToolCall]:
        """Tool calls in the answer; code blocks become write_file (or apply_diff) calls."""
        native_write = any(spec.name == "write_file" for spec in offered)
        tools = offered if native_write else [*offered, WRITE_FILE]
        names = {spec.name for spec in tools}
        sources = [name for name in repo_files(self.ws) if name.endswith(".py")]
        edits: list[Edit]
        if self.protocol == "json":
            edits, rest = [], text
        else:
            edits, rest = edits_from_text(text, self._current, sources)
        found: list[tuple[int, str, dict[str, Any]]] = [
            (edit.position, "write_file", {"path": edit.path, "content": edit.content})
            for edit in edits
        ]
        restore, self._restore = self._restore, {}
        edited = {edit.path for edit in edits}
        found += [
            (-1, "write_file", {"path": path, "content": text})
            for path, text in sorted(restore.items())
            if path not in edited and self._current(path) != text
        ]
        calls = [
            (_position(rest, c.name), c.name, c.arguments) for c in parse_tool_calls(rest, names)
        ]
        found += calls or python_style_calls(rest, tools)
        offered_names = {spec.name for spec in offered}
        wrote = edits or any(entry[1] == "write_file" for entry in found)
        if wrote and "finish" in offered_names and not any(f[1] == "finish" for f in found):
            # An answer with code means "this is my fix": finishing runs the checks, and
            # their failures come back to the model, which saves a whole turn.
            found.append((len(text), "finish", {"summary": _first_sentence(text)}))
        # finish last: an edit written after it in the same answer must land first
        found.sort(key=lambda entry: (entry[1] == "finish", entry[0]))
        result = []
        for index, (_, name, arguments) in enumerate(found, start=1):
            if name == "write_file" and not native_write:
                path = str(arguments.get("path", "")).strip()
                old = self._current(path)
                diff = file_diff(path, old, str(arguments.get("content", "")))
                name, arguments = "apply_diff", {"diff": diff}
            result.append(ToolCall(f"call_{self._turn}_{index}", name, arguments))
        return result

    def _current(self, path: str) -> str | None:
        """Current text of `path` if it is a readable, non-secret file inside the repository."""
        return read_source(self.ws, path)


def render_tools(tools: Sequence[ToolSpec]) -> str:
    """The tool section of the system prompt: one line per tool, then how to call them."""
    shown = [spec for spec in tools if spec.name not in {"finish", "write_file"}]
    return prompts.render("tools", "small", tools=_tool_lines(shown))  # answers cover those two


def render_json_system(tools: Sequence[ToolSpec]) -> str:
    """The system prompt of the JSON protocol: every tool, write_file and finish included."""
    return prompts.render("system_json", "small", tools=_tool_lines(tools))


def _tool_lines(tools: Sequence[ToolSpec]) -> str:
    lines = []
    for spec in tools:
        props = spec.parameters.get("properties", {})
        required = set(spec.parameters.get("required", []))
        params = ", ".join(name + ("" if name in required else "?") for name in props)
        lines.append(f"- {spec.name}({params}): {spec.description}")
    return "\n".join(lines)


def read_source(ws: Workspace, path: str) -> str | None:
    """The UTF-8 text of a file through the path guard; None when absent, refused or binary."""
    try:
        return ws.read_bytes(path).decode("utf-8")
    except (CoderError, OSError, UnicodeDecodeError):
        return None


def repo_files(ws: Workspace) -> list[str]:
    """Small files of the repository (no hidden directories, caches or secrets), sorted."""
    files = []
    for path in sorted(ws.root.rglob("*")):
        rel = path.relative_to(ws.root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        name = rel.as_posix()
        if ws.is_secret(name) or path.is_symlink():
            continue
        if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
            files.append(name)
    return files


def python_style_calls(
    text: str, tools: Sequence[ToolSpec]
) -> list[tuple[int, str, dict[str, Any]]]:
    """Calls the model wrote like Python, e.g. `finish("Fixed it.")` or `read_file(path="a.py")`."""
    found = []
    for spec in tools:
        for match in re.finditer(rf"(?<![\w.]){spec.name}\((.*?)\)(?=[`\s.]|$)", text, re.M):
            try:
                call = ast.parse(match.group(0), mode="eval").body
            except SyntaxError:
                continue
            if not isinstance(call, ast.Call):
                continue
            params = list(spec.parameters.get("properties", {}))
            try:
                args = {params[i]: ast.literal_eval(a) for i, a in enumerate(call.args)}
                args |= {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
            except (ValueError, IndexError, SyntaxError):
                continue
            found.append((match.start(), spec.name, args))
    return found


def repo_context(
    ws: Workspace, task: str, budget: int = CONTEXT_CHARS, record: dict[str, str] | None = None
) -> str:
    """File list plus the full text of the most relevant small files, within `budget` chars.

    Sources named in the task come first, then other sources, then tests; a 1.5B model
    fixes far more when it sees the code at once than when it must find and read it.
    The files shown are recorded in `record` (path → text) when it is given.
    """
    files = repo_files(ws)

    def rank(name: str) -> tuple[int, int, str]:
        stem = Path(name).stem
        is_test = stem.startswith("test_") or stem.endswith("_test") or "tests/" in name
        mentioned = stem in task or name in task
        return (is_test, not mentioned, name)

    shown: list[tuple[tuple[int, int, str], str]] = []
    used = 0
    for name in sorted(files, key=rank):
        if Path(name).suffix not in SOURCE_SUFFIXES or name == "ISSUE.md":
            continue
        text = read_source(ws, name)
        if text is None:
            continue
        label = " (a test: read it, never change it)" if rank(name)[0] else ""
        block = f"{name}{label}:\n```{_LANGS.get(Path(name).suffix, '')}\n{text.rstrip()}\n```"
        if used + len(block) > budget:
            continue
        shown.append((rank(name), block))
        used += len(block)
        if record is not None:
            record[name] = text
    # tests first, the code to fix last: nearest to where the model starts writing
    ordered = [block for key, block in sorted(shown, key=lambda e: (not e[0][0], e[0][1:]))]
    return prompts.render(
        "context", "small", files="\n".join(files) or "(none)", contents="\n\n".join(ordered)
    )


def render_assistant(turn: AssistantTurn) -> str:
    """An assistant turn not generated here, in the text protocol."""
    if turn.calls_in_text or not turn.tool_calls:
        return turn.text
    calls = [
        f'<tool_call>\n{{"name": "{c.name}", "arguments": {json.dumps(c.arguments)}}}\n</tool_call>'
        for c in turn.tool_calls
    ]
    return "\n".join([turn.text, *calls]).strip()


def _dead_ends(items: list[Item], start: int) -> list[int]:
    """Indexes (from `start`) where an attempt ended without progress: a refused `finish`, or
    an answer without tool calls (with the hint that followed it)."""
    ends = []
    for index in range(start, len(items)):
        item = items[index]
        if isinstance(item, ToolResultItem) and _is_refusal(item):
            ends.append(index)
        elif isinstance(item, AssistantTurn) and not item.tool_calls:
            hinted = index + 1 < len(items) and isinstance(items[index + 1], UserText)
            ends.append(index + 1 if hinted else index)
    return ends


def same_code(path: str, text: str, other: str | None) -> bool:
    """Whether two versions of a file hold the same code: for Python, the same syntax tree
    (comments and layout aside), as a small model often "fixes" a bug with a comment."""
    if other is None or text == other:
        return text == other
    if not path.endswith(".py"):
        return False
    try:
        return ast.dump(ast.parse(text)) == ast.dump(ast.parse(other))
    except (SyntaxError, ValueError):
        return False


def _best(attempts: list[_Attempt]) -> _Attempt | None:
    """The attempt with the fewest failing tests (the latest of equals); the latest when
    a count is unknown."""
    if not attempts:
        return None
    if any(a.failing is None for a in attempts):
        return attempts[-1]
    return min(reversed(attempts), key=lambda a: a.failing or 0)


def _is_refusal(item: ToolResultItem) -> bool:
    """A `finish` the checks refused (a passing finish ends the run)."""
    return item.name == "finish" and not item.output.startswith("finished")


def _first_sentence(text: str) -> str:
    head = text.split("```", 1)[0].strip().split("\n", 1)[0]
    return head[:200] or "Applied the fix."


def _position(text: str, name: str) -> int:
    found = text.find(f'"{name}"')
    return found if found != -1 else len(text)


def _stop_at(text: str) -> int | None:
    positions = [text.find(stop) for stop in _STOP_TEXT]
    positions = [p for p in positions if p != -1]
    return min(positions) if positions else None


def _safe_prefix(text: str) -> int:
    """How much of `text` can be streamed without showing the start of a stop text."""
    held = 0
    for stop in _STOP_TEXT:
        for size in range(len(stop) - 1, held, -1):
            if text.endswith(stop[:size]):
                held = size
                break
    return len(text) - held
