"""The header block of a queued file, parsed: the wanted fields (folded lines joined,
RFC 2047 decoded), the envelope addresses, and a problem for what is not a message."""

from __future__ import annotations

import re
import sys
from email.header import decode_header, make_header

WANTED = {
    "x-envelope-from",
    "return-path",
    "x-envelope-to",
    "from",
    "to",
    "subject",
    "date",
    "message-id",
}
_FIELDS = re.compile(
    r"^(" + "|".join(sorted(WANTED)) + r"):[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)
_LOWER = {w: w for w in WANTED}  # the usual spellings' lower case, without a call
_LOWER.update({w.title(): w for w in WANTED} | {"Message-ID": "message-id"})
_ANY_HEADER = re.compile(rb"[!-9;-~]+:")  # the block starts with a header field
# sender, recipients, From, To, Subject, Date, Message-ID
Fields = tuple[str, list[str], str, str, str, str | None, str | None]
_ADDRS = re.compile(r"<([^<>\s]*)>|([^\s<>,;\"()]+@[^\s<>,;\"()]+)")
# A parsed header block: the fields, and a problem or None.
Parsed = tuple[Fields, str | None]


def _fields_of(
    headers: dict[str, list[str]],
) -> Fields:
    def first(name: str) -> str:
        vals = headers.get(name)
        return decode_value(vals[0]) if vals else ""

    # A queue repeats its senders, recipients and subjects (a newsletter, a bounce storm):
    # interned, 100,000 items share them. The date and message id are unique: kept as is.
    intern = sys.intern
    sender = intern(_addr(first("x-envelope-from") or first("return-path") or first("from")))
    env_to = [a for v in headers.get("x-envelope-to", []) for a in addresses(v)]
    to_hdr = intern(first("to"))
    recipients = [intern(r) for r in (env_to or addresses(to_hdr) or ([to_hdr] if to_hdr else []))]
    return (sender, recipients, intern(first("from")), to_hdr, intern(first("subject")),
            first("date") or None, first("message-id") or None)  # fmt: skip


def decode_value(raw: str) -> str:
    """RFC 2047 encoded words decoded; anything undecodable kept as written."""
    if "=?" not in raw:
        return raw
    try:
        return str(make_header(decode_header(raw)))
    except (ValueError, LookupError, UnicodeError, TypeError):
        return raw


def parse_block(block: bytes) -> tuple[dict[str, list[str]], str | None]:
    """The wanted fields of a header block (folded lines joined) and a problem or None.
    One regex pass."""
    if not block:
        return {}, None
    if _ANY_HEADER.match(block) is None:
        return {}, "not a message: no headers"
    headers: dict[str, list[str]] = {}
    lower = _LOWER
    for name, text in _FIELDS.findall(block.decode("utf-8", "replace")):
        if "\n" in text:  # folded: unfold
            text = " ".join(part.strip() for part in text.splitlines())
        key = lower.get(name) or name.lower()
        if key in headers:
            headers[key].append(text.strip())
        else:
            headers[key] = [text.strip()]
    if not any(h in headers for h in ("from", "to", "subject", "x-envelope-from", "return-path")):
        return headers, "no From, To or Subject header"
    return headers, None


def parse_fields(block: bytes) -> Parsed:
    """The item fields of a header block, and a problem or None: what
    ``_fields_of(parse_block(block))`` gives (tests/test_queue_list_stream.py holds them
    equal on hostile blocks), several times faster, for scans of many files. A field is
    found with ``bytes.find`` in the block lowered byte-wise (names are ASCII, and a line
    that starts with a wanted name always is that field: a folded line starts with a
    blank); only the first of each is used, but every X-Envelope-To. Values are decoded
    one by one, and the short ones a queue repeats (senders, recipients, subjects) once."""
    if not block:
        return _EMPTY, None
    if _ANY_HEADER.match(block) is None:
        return _EMPTY, "not a message: no headers"
    low = b"\n" + block.lower()  # a name at the very start is found like any other
    if len(_TEXTS) > _CACHE_MAX or len(_ADDR_LISTS) > _CACHE_MAX:
        _TEXTS.clear()
        _ADDR_LISTS.clear()
        _SENDERS.clear()

    at = low.find(b"\nx-envelope-from:")  # the colon: at + len(needle) - 2
    xef = None if at < 0 else _value(block, at + 16)
    at = low.find(b"\nreturn-path:")
    rp = None if at < 0 else _value(block, at + 12)
    at = low.find(b"\nfrom:")
    frm = None if at < 0 else _value(block, at + 5)
    at = low.find(b"\nto:")
    to = None if at < 0 else _value(block, at + 3)
    at = low.find(b"\nsubject:")
    subject = None if at < 0 else _value(block, at + 8)
    present = not (xef is None and rp is None and frm is None and to is None and subject is None)
    sender_text = (xef is not None and _text(xef)) or (rp is not None and _text(rp)) or ""
    from_ = _text(frm) if frm is not None else ""
    sender = _SENDERS.get(sender_text or from_)
    if sender is None:
        sender = _SENDERS[sender_text or from_] = sys.intern(_addr(sender_text or from_))
    env: list[str] = []
    at = low.find(b"\nx-envelope-to:")
    while at >= 0:
        r = _value(block, at + 14)
        got = _ADDR_LISTS.get(r)
        if got is None:
            got = [sys.intern(a) for a in addresses(_unfold(r))]
            if len(r) <= _CACHED_LEN:
                _ADDR_LISTS[r] = got
        env += got
        at = low.find(b"\nx-envelope-to:", at + 1)
    to_hdr = _text(to) if to is not None else ""
    if env:
        recipients = env
    else:
        key = b"\nto:" + to_hdr.encode("utf-8", "surrogatepass")
        got = _ADDR_LISTS.get(key)
        if got is None:
            got = [sys.intern(r) for r in (addresses(to_hdr) or ([to_hdr] if to_hdr else []))]
            if len(key) <= _CACHED_LEN:
                _ADDR_LISTS[key] = got
        recipients = list(got)
    at = low.find(b"\ndate:")
    date = None if at < 0 else _value(block, at + 5)
    at = low.find(b"\nmessage-id:")
    msgid = None if at < 0 else _value(block, at + 11)
    fields = (
        sender,
        recipients,
        from_,
        to_hdr,
        _text(subject) if subject is not None else "",
        (decode_value(_unfold(date)) or None) if date is not None else None,
        (decode_value(_unfold(msgid)) or None) if msgid is not None else None,
    )
    return fields, None if present else "no From, To or Subject header"


_EMPTY: Fields = ("", [], "", "", "", None, None)
_TEXTS: dict[bytes, str] = {}  # a raw value: its text (unfolded, stripped, decoded)
_ADDR_LISTS: dict[bytes, list[str]] = {}  # a raw X-Envelope-To (or b"\nto:" + To): addresses
_SENDERS: dict[str, str] = {}  # a sender's text: its address
_CACHE_MAX = 50_000
_CACHED_LEN = 300  # longer values (rare; a hostile 64 KiB one) are not kept


def _text(raw: bytes) -> str:
    got = _TEXTS.get(raw)
    if got is None:
        got = sys.intern(decode_value(_unfold(raw)))
        if len(raw) <= _CACHED_LEN:
            _TEXTS[raw] = got
    return got


def _unfold(raw: bytes) -> str:
    """A raw value as ``parse_block`` keeps it: decoded, folded lines joined, stripped."""
    text = raw.decode("utf-8", "replace")
    if "\n" in text:
        text = " ".join(part.strip() for part in text.splitlines())
    return text.strip()


# A raw value from after its colon, as _FIELDS takes it: the rest of the line up to a CR
# or LF, then each line after LF (or CRLF) that starts with a blank.
_VALUE = re.compile(rb"[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")


def _value(block: bytes, start: int) -> bytes:
    m = _VALUE.match(block, start)  # always matches (maybe nothing)
    return block[start : m.end()] if m is not None else b""


def addresses(value: str) -> list[str]:
    """The addresses of a header value: ``<a@b>`` forms, else bare ``a@b`` words. A fast
    reading for listing 100,000 files (``email.utils.getaddresses`` is 10x slower)."""
    found = [a or b for a, b in _ADDRS.findall(value)]
    return [a for a in found if a]


def _addr(value: str) -> str:
    found = addresses(value)
    return found[0] if found else value.strip("<> ")
