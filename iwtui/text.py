"""The one sanitiser of human-readable output: what reaches a terminal is inert.

Every text iwtui prints or draws for a person (log lines, subjects, file names, path.dat
values, journal fields, the pager's copy of a message) goes through :func:`safe_text`,
whether the output is a terminal or a pipe (``iwtui queue list | grep x`` on a terminal
must not pass an OSC 52 clipboard write on). C0 and C1 control characters, DEL and ESC
are shown as visible escapes (``\\x1b``), a newline inside one field as ``\\x0a``; a tab
becomes spaces. Characters that reorder or hide text (bidirectional overrides, zero-width
marks), lone surrogates left by undecodable bytes and other non-characters are escaped
too (``\\u202e``). Rich markup needs no escaping here: screens draw ``rich.text.Text``,
never markup strings built from data.

JSON output is left to ``json`` (it escapes C0 itself; :func:`json_inert` adds C1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import BinaryIO

# C0 but tab, DEL, C1; bidi embeddings/overrides/isolates, zero-width and line/paragraph
# separators; lone surrogates (surrogateescape of undecodable bytes); BOM.
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_C1 = re.compile("[\x7f-\x9f\u2028\u2029]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def safe_text(text: str, limit: int | None = None) -> str:
    """One field (or one line) made inert: control characters as visible escapes, so it
    can never drive the terminal; a tab becomes spaces. ``limit`` cuts very long text
    with a marker."""
    if not isinstance(text, str):
        text = str(text)
    text = text.replace("\t", "    ")
    if _UNSAFE.search(text) is not None:
        text = _UNSAFE.sub(_escape, text)
    if limit is not None and len(text) > limit:
        return f"{text[:limit]}… ({len(text):,} characters)"
    return text


def safe_lines(text: str) -> str:
    """A multi-line text (a message, a pager's copy) made inert line by line: newlines
    are kept (a CR before one is dropped), everything else as :func:`safe_text`."""
    return "\n".join(safe_text(line.removesuffix("\r")) for line in text.split("\n"))


def json_inert(dumped: str) -> str:
    """A JSON document (``ensure_ascii=False``) with C1 controls and line separators
    escaped as ``\\u0085``: still the same JSON, and inert on a terminal (``json``
    escapes C0 by itself; these only occur inside strings)."""
    return _C1.sub(lambda m: f"\\u{ord(m.group(0)):04x}", dumped)


def write_inert(read: Callable[[int], bytes], out: BinaryIO, chunk: int = 1 << 20) -> int:
    """Copy what ``read(n)`` returns (a file read through its descriptor) to ``out`` made
    inert line by line (:func:`safe_lines`), in bounded memory: a pager gets a copy that
    cannot drive the terminal (``PAGER=more`` passes escapes through). The bytes
    written."""
    written = 0
    rest = b""
    while True:
        data = read(chunk)
        buf = rest + data
        if data:
            cut = buf.rfind(b"\n") + 1
            if cut == 0 and len(buf) < 4 * chunk:
                rest = buf  # a line still being read
                continue
            cut = cut or len(buf)
            buf, rest = buf[:cut], buf[cut:]
        text = safe_lines(buf.decode("utf-8", "replace"))
        blob = text.encode("utf-8")
        out.write(blob)
        written += len(blob)
        if not data:
            return written
