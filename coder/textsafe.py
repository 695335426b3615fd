"""Untrusted text made safe for a terminal: control and escape sequences shown, not obeyed.

Model output, tool output, file content and summaries may carry escape sequences (OSC 52
clipboard writes, window titles, clear-screen, hyperlinks, cursor moves) or bidirectional
overrides. `printable` turns every such character into a visible stand-in, so a terminal
draws it instead of acting on it. Newlines and tabs stay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_TABLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
_TABLE[0x7F] = "\u2421"
_TABLE.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
_TABLE.update({c: f"<U+{c:04X}>" for c in _BIDI})
_JSON_TABLE = {c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), 0x2028, 0x2029, *_BIDI)}


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """`value` with `fn` applied to every string inside it (dicts, lists and tuples too)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(map_strings(v, fn) for v in value)
    return value


def valid_utf8(text: str) -> str:
    """`text` encodable as UTF-8: a byte kept by surrogateescape shows as `\\xNN`, any other
    lone surrogate as `\\udNNN` (text that reaches a model or a JSON line must encode)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join(_escape_surrogate(ch) for ch in text)


def _escape_surrogate(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"
    return ch


def printable(text: str) -> str:
    """`text` with control characters (ESC included), C1 codes and bidi overrides made visible."""
    return text.replace("\r\n", "\n").translate(_TABLE)


def json_line(text: str) -> str:
    """A JSON text with C1 codes, DEL, line separators and bidi overrides \\u-escaped.

    json.dumps(ensure_ascii=False) escapes C0 but leaves these raw; inside a JSON string the
    escape is equivalent, so the line decodes to the same value and is safe to `cat`.
    """
    return text.translate(_JSON_TABLE)
