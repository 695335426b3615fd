"""Untrusted text made safe for a terminal: control and escape sequences shown, not obeyed.

Model output, tool output, file content and summaries may carry escape sequences (OSC 52
clipboard writes, window titles, clear-screen, hyperlinks, cursor moves) or bidirectional
overrides. `printable` turns every such character into a visible stand-in, so a terminal
draws it instead of acting on it. Newlines and tabs stay.
"""

from __future__ import annotations

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_TABLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
_TABLE[0x7F] = "\u2421"
_TABLE.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
_TABLE.update({c: f"<U+{c:04X}>" for c in _BIDI})
_JSON_TABLE = {c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), 0x2028, 0x2029, *_BIDI)}


def printable(text: str) -> str:
    """`text` with control characters (ESC included), C1 codes and bidi overrides made visible."""
    return text.replace("\r\n", "\n").translate(_TABLE)


def json_line(text: str) -> str:
    """A JSON text with C1 codes, DEL, line separators and bidi overrides \\u-escaped.

    json.dumps(ensure_ascii=False) escapes C0 but leaves these raw; inside a JSON string the
    escape is equivalent, so the line decodes to the same value and is safe to `cat`.
    """
    return text.translate(_JSON_TABLE)
