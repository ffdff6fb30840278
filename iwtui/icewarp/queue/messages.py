"""Queued messages (spec section 2): envelope and headers from the head of each file.

Only the first 64 KiB of a file are read. Header values are decoded (RFC 2047) and kept as
plain strings: the screens make them inert. A file that is not a message (binary, empty,
no headers, a header block larger than the limit) is listed with a ``problem`` rather
than dropped. A file that vanishes while we read it was delivered: it is skipped.

Scanning many files (keyed by path, rescans reusing unchanged items, helper processes)
is ``scanning``'s part.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring as _json_str
from pathlib import Path
from typing import Any

from iwtui.errors import BadInput
from iwtui.icewarp import files
from iwtui.icewarp.install import Install
from iwtui.icewarp.queue.folders import QueueSpot, iter_items, spots
from iwtui.icewarp.queue.headers import (
    Fields,
    _fields_of,
    parse_block,
    parse_fields,
)
from iwtui.icewarp.queue.heads import (
    HEAD_LIMIT,
    BlockResult,
    ParsedResult,
    read_block,
    read_blocks,
)
from iwtui.text import json_inert


class QueueItem:
    """One queued message. Envelope and header fields are parsed from the stored header
    block on first use (a listing of 100,000 files reads the blocks; the fields are parsed
    for the rows on screen first and for the rest in the background)."""

    __slots__ = (
        "_fields",
        "_head",
        "_path",
        "_problem",
        "id",
        "key",
        "last_error",
        "priority",
        "queue",
        "queued_at",
        "size",
        "where",
    )

    def __init__(
        self,
        id: str,
        queue: str,
        priority: int | None,
        path: Path | str,
        size: int,
        queued_at: float,
        *,
        head: bytes | None = None,
        headers: dict[str, list[str]] | None = None,
        problem: str | None = None,
        key: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        self.id, self.queue, self.priority = id, queue, priority
        self.where = str(path)  # the file's path as text: the item's key in every listing
        self._path: Path | None = path if isinstance(path, Path) else None
        self.size, self.queued_at, self.key = size, queued_at, key  # key: inode, size, mtime_ns
        self.last_error: str | None = None
        self._problem = problem
        self._head = head
        self._fields: Fields | None = None
        if headers is not None:
            self._fields = _fields_of(headers)

    def _parsed(self) -> Fields:
        # The screen's thread and the background parser may both get here: read the head
        # before the fields. The writer sets the fields before it drops the head, so a
        # reader that finds the head gone finds the fields set.
        head = self._head
        fields = self._fields
        if fields is None:
            fields, problem = parse_fields(head or b"")
            self._problem = self._problem or problem
            self._fields = fields
            self._head = None
        return fields

    def _adopt(self, fields: Fields, problem: str | None) -> None:
        """Fields parsed elsewhere (a helper process): shared strings interned here."""
        intern = sys.intern
        sender, rcpts, from_, to, subject, date, msgid = fields
        self._problem = self._problem or problem
        self._fields = (intern(sender), [intern(r) for r in rcpts], intern(from_), intern(to),
                        intern(subject), date, msgid)  # fmt: skip
        self._head = None

    @property
    def path(self) -> Path:
        """The file (a Path is made only when asked for: 100,000 of them cost seconds)."""
        if self._path is None:
            self._path = Path(self.where)
        return self._path

    @property
    def parsed(self) -> bool:
        return self._fields is not None

    @property
    def sender(self) -> str:
        return self._parsed()[0]

    @property
    def recipients(self) -> list[str]:
        return self._parsed()[1]

    @property
    def from_(self) -> str:
        return self._parsed()[2]

    @property
    def to(self) -> str:
        return self._parsed()[3]

    @property
    def subject(self) -> str:
        return self._parsed()[4]

    @property
    def date(self) -> str | None:
        return self._parsed()[5]

    @property
    def message_id(self) -> str | None:
        return self._parsed()[6]

    @property
    def problem(self) -> str | None:
        self._parsed()
        return self._problem

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "queue": self.queue,
            "priority": self.priority,
            "path": self.where,
            "sender": self.sender,
            "recipients": self.recipients,
            "from": self.from_,
            "to": self.to,
            "subject": self.subject,
            "date": self.date,
            "message_id": self.message_id,
            "size": self.size,
            "queued_at": _iso(self.queued_at),
            "last_error": self.last_error,
            "problem": self.problem,
        }

    def json_line(self) -> str:
        """``json.dumps(self.as_json(), ensure_ascii=False)``: the same text, 3x faster
        (``--jsonl``; a test holds them equal). To be made inert still (``json_inert``)."""
        return _LINE.format(*self._json_values(False))

    def json_block(self) -> str:
        """The item as ``json.dumps([self.as_json()], indent=2, ensure_ascii=False)``
        writes it inside the list (indented by two, no comma after): ``--json``'s rows."""
        return _BLOCK.format(*self._json_values(True))

    def _json_values(self, indent: bool) -> tuple[str, ...]:
        fields = self._parsed()
        return _json_values(self.id, self.queue, self.priority, self.where, fields,
                            self.size, self.queued_at, self.last_error, self._problem, indent)  # fmt: skip


def _json_values(
    item_id: str,
    queue: str,
    priority: int | None,
    where: str,
    fields: Fields,
    size: int,
    queued_at: float,
    last_error: str | None,
    problem: str | None,
    indent: bool,
) -> tuple[str, ...]:
    """as_json's values as JSON texts, in its order."""
    sender, rcpts, from_, to, subject, date, msgid = fields
    if not rcpts:
        recipients = "[]"
    elif indent:
        recipients = "[\n      " + ",\n      ".join(map(_json_str, rcpts)) + "\n    ]"
    else:
        recipients = "[" + ", ".join(map(_json_str, rcpts)) + "]"
    return (
        _json_str(item_id),
        _json_str(queue),
        "null" if priority is None else int.__repr__(priority),
        _json_str(where),
        _json_str(sender),
        recipients,
        _json_str(from_),
        _json_str(to),
        _json_str(subject),
        "null" if date is None else _json_str(date),
        "null" if msgid is None else _json_str(msgid),
        int.__repr__(size),
        _json_str(_iso(queued_at)),
        "null" if last_error is None else _json_str(last_error),
        "null" if problem is None else _json_str(problem),
    )


# A row of a listing, made by rows_of (in a helper): (queued_at, JSON text, and for the
# retry queue the sender and recipients its last error is found by, else None, None).
Row = tuple[float, str, str | None, list[str] | None]
_NOWHERE = Path()
_SPOTS: dict[tuple[str, int | None], QueueSpot] = {}
_QUERIES: dict[str, Query] = {}


def rows_of(work: list[Any]) -> list[Row | None]:
    """``[form, query, jobs]``: each job ``(path, name, queue, priority)`` read, parsed,
    kept if it matches ``query`` (``parse_query``'s text) and written as JSON (``form``
    "line": ``json_line``, "block": ``json_block``) made inert (``json_inert``); None
    for a file gone or filtered out. What the helpers of ``scanning.stream_rows`` do (and this process for the
    files it reads itself)."""
    form, text, jobs = work
    query = _QUERIES.get(text)
    if query is None:
        query = _QUERIES[text] = parse_query(text)
    out: list[Row | None] = []
    files = [job[0] for job in jobs if job[2] != "sms"]
    results = iter(read_blocks(files))  # through files.open_fd, in the jobs' order
    for path, name, queue, priority in jobs:
        spot = _SPOTS.get((queue, priority))
        if spot is None:
            spot = _SPOTS[(queue, priority)] = QueueSpot(queue, _NOWHERE, priority)
        result = next(results) if queue != "sms" else None
        if not query and isinstance(result, tuple):  # the usual file, no filter: no item
            head, problem, _ino, size, _mtime_ns, mtime = result
            fields, problem2 = parse_fields(head)
            values = _json_values(name.split(".", 1)[0], queue, priority, path, fields, size,
                                  mtime, None, problem or problem2, form != "line")  # fmt: skip
            json = (_LINE if form == "line" else _BLOCK).format(*values)
            sender, recipients, queued_at = fields[0], fields[1], mtime
        else:
            item = make_item(spot, path, name=name) if queue == "sms" else _item(spot, path, result, False, name)  # fmt: skip
            if item is None or (query and not matches(item, query)):
                out.append(None)
                continue
            json = item.json_line() if form == "line" else item.json_block()
            sender, recipients, queued_at = item.sender, item.recipients, item.queued_at
        if not json.isascii() or "\x7f" in json:
            json = json_inert(json)  # C1 controls, line separators: escaped
        if queue == "retry":
            out.append((queued_at, json, sender, recipients))
        else:
            out.append((queued_at, json, None, None))
    return out


def with_last_error(json: str, form: str, last_error: str) -> str:
    """A row's JSON text (``last_error`` null) with its last error set, the error made
    inert (``json_inert``; the row's text is already). The null is found from the end:
    the problem after it is a JSON string, which cannot hold this text unescaped."""
    sep = ", " if form == "line" else ",\n    "
    null = f'{sep}"last_error": null{sep}"problem": '
    at = json.rfind(null)
    if at < 0:
        return json
    why = _json_str(last_error)
    if not why.isascii() or "\x7f" in why:
        why = json_inert(why)
    return f'{json[:at]}{sep}"last_error": {why}{sep}"problem": {json[at + len(null) :]}'


# as_json's keys, in its order, for json_line and json_block
_KEYS = ("id", "queue", "priority", "path", "sender", "recipients", "from", "to", "subject",
         "date", "message_id", "size", "queued_at", "last_error", "problem")  # fmt: skip
_LINE = "{{" + ", ".join(f'"{k}": {{}}' for k in _KEYS) + "}}"
_BLOCK = "  {{\n" + ",\n".join(f'    "{k}": {{}}' for k in _KEYS) + "\n  }}"


def _iso(ts: float) -> str:
    """The local time of ``ts`` to the second. Kept by whole second (a queue's files come
    in bursts): every ``ts`` of that second gives the same text, but one within a
    microsecond of the next second, which rounds up."""
    whole = int(ts)
    if ts < 0 or ts - whole >= 0.999999:
        return datetime.fromtimestamp(ts).isoformat(timespec="seconds")
    got = _ISO.get(whole)
    if got is None:
        if len(_ISO) > 100_000:
            _ISO.clear()
        got = _ISO[whole] = datetime.fromtimestamp(ts).isoformat(timespec="seconds")
    return got


_ISO: dict[int, str] = {}


def read_head(
    path: Path | str, limit: int = HEAD_LIMIT, size: int | None = None
) -> tuple[dict[str, list[str]], str | None, int]:
    """(wanted headers by lower-case name, a problem or None, size)."""
    block, problem, size = read_block(path, limit, size)
    headers, problem2 = parse_block(block)
    return headers, problem or problem2, size


def read_sms(path: Path | str) -> tuple[dict[str, list[str]], str | None, int]:
    """An SMS item: line 3 the recipient, line 4 the sender (spec 2), then the text.
    Opened without following a link, a FIFO or device refused (:class:`files.Unsafe`)."""
    with files.open_regular(path) as (fd, st):
        size = st.st_size
        lines = files.read_fd(fd, HEAD_LIMIT).decode("utf-8", "replace").splitlines()
    if len(lines) < 4:
        return {}, "not an SMS item: fewer than 4 lines", size
    return (
        {"to": [lines[2]], "from": [lines[3]], "subject": [" ".join(lines[4:])[:200]]},
        None,
        size,
    )


def make_item(
    spot: QueueSpot,
    path: Path | str,
    st: os.stat_result | None = None,
    *,
    lazy: bool = False,
    name: str | None = None,
) -> QueueItem | None:
    """The item for ``path``; None when it vanished while read. ``lazy`` keeps the header
    block and parses it on first use. ``st`` is not needed (the open file is stat'ed)."""
    if spot.queue != "sms":
        return _item(spot, path, read_blocks([str(path)])[0], lazy, name)
    try:
        st = st or os.lstat(path)
    except OSError:
        return None
    try:
        headers, problem, size = read_sms(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except files.Unsafe as exc:
        why = str(exc).replace(f"refused {path}: ", "refused: ")
        headers, problem, size = {}, why, st.st_size
    except OSError as exc:
        headers, problem, size = {}, f"unreadable: {exc.strerror or exc}", st.st_size
    item_id = (name or os.path.basename(path)).split(".", 1)[0]
    return QueueItem(item_id, spot.queue, spot.priority, path, size, st.st_mtime,
                     headers=headers, problem=problem, key=(st.st_ino, st.st_size, st.st_mtime_ns))  # fmt: skip


def _item(
    spot: QueueSpot,
    path: Path | str,
    result: BlockResult | ParsedResult,
    lazy: bool,
    name: str | None = None,
) -> QueueItem | None:
    """The item made of a ``read_blocks`` result, or of a helper's parsed result.
    (Called 100,000 times by a scan.)"""
    if result is None:
        return None  # delivered while we read it
    item_id = (name or os.path.basename(path)).split(".", 1)[0]
    if isinstance(result, str):  # unreadable (rare): what a stat says, and why
        try:
            st = os.lstat(path)  # never follows (a link to /dev/zero is refused, not read)
        except OSError:
            return None
        return QueueItem(item_id, spot.queue, spot.priority, path, st.st_size, st.st_mtime,
                         headers={}, problem=result)  # fmt: skip
    head, problem, ino, size, mtime_ns, mtime = result
    if isinstance(head, bytes):
        item = QueueItem(item_id, spot.queue, spot.priority, path, size, mtime, head=head,
                         problem=problem, key=(ino, size, mtime_ns))  # fmt: skip
        if not lazy:
            item._parsed()
        return item
    item = QueueItem(item_id, spot.queue, spot.priority, path, size, mtime, head=b"",
                     problem=problem, key=(ino, size, mtime_ns))  # fmt: skip
    item._adopt(*head)
    return item


def find(install: Install, item_id: str) -> QueueItem | None:
    """The queued item with this id (file name up to the first dot), in any queue."""
    for spot in spots(install):
        for entry in iter_items(spot):
            if entry.name.split(".", 1)[0] == item_id:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                return make_item(spot, Path(entry.path), st)
    return None


QUERY_FIELDS = ("from", "to", "subject")
_FIELD = re.compile(r"([A-Za-z_]+):(.*)", re.S)


@dataclass(frozen=True)
class Query:
    """A parsed queue filter: terms of (field, text, negated); field ``any`` is a bare
    term. ``nothing``: matches no item (the screen's stand-in for a filter in error)."""

    terms: tuple[tuple[str, str, bool], ...] = ()
    nothing: bool = False

    def __bool__(self) -> bool:
        return bool(self.terms) or self.nothing


NOTHING = Query(nothing=True)


def parse_query(text: str) -> Query:
    """``from:x;to:y;subject:z;!from:w`` (every term must hold; ``!`` negates; a bare term
    matches any of the three fields), like the logs filter. A ``word:`` that is not a
    known field is bad input naming the known ones (it matched nothing before)."""
    terms: list[tuple[str, str, bool]] = []
    for part in text.split(";"):
        part = part.strip()
        negate = part.startswith("!") and len(part) > 1
        if negate:
            part = part[1:].strip()
        if not part:
            continue
        m = _FIELD.fullmatch(part)
        if m is None:
            terms.append(("any", part.casefold(), negate))
            continue
        key = m.group(1).lower()
        if key not in QUERY_FIELDS:
            raise BadInput(
                f"filter: unknown field {m.group(1)!r} (known: {', '.join(QUERY_FIELDS)};"
                " a bare word matches any of them; !term excludes)"
            )
        terms.append((key, m.group(2).strip().casefold(), negate))
    return Query(tuple(terms))


def matches(item: QueueItem, query: Query) -> bool:
    """Whether ``item`` passes ``query`` (from :func:`parse_query`). An empty query reads
    nothing: a listing of 100,000 items must not parse every header to show itself."""
    if not query:
        return True
    if query.nothing:
        return False
    for key, value, negate in query.terms:
        hit = (
            (key in ("from", "any") and value in f"{item.sender} {item.from_}".casefold())
            or (
                key in ("to", "any")
                and value in f"{' '.join(item.recipients)} {item.to}".casefold()
            )
            or (key in ("subject", "any") and value in item.subject.casefold())
        )
        if hit == negate:
            return False
    return True


MAILBOX_FOLDERS = {"inbox": "inbox", "spam": "~spam"}


def mailbox(install: Install, account: str, folder: str = "inbox") -> tuple[Path, list[QueueItem]]:
    """A user's inbox or spam folder (``<mail>/<domain>/<user>/inbox|~spam``), listed
    like a queue (queue name ``mailbox``). Raises BadInput for a malformed account."""
    user, sep, domain = account.strip().lower().partition("@")
    if not sep or not user or not domain or "/" in account or ".." in account:
        raise BadInput(f"bad account {account!r}: use user@domain")
    if folder not in MAILBOX_FOLDERS:
        raise BadInput(f"bad folder {folder!r}: inbox or spam")
    where = files.inside(install.mail_dir, domain, user, MAILBOX_FOLDERS[folder], what="mailbox")
    spot = QueueSpot("mailbox", where, base=install.mail_dir)
    items: list[QueueItem] = []
    for entry in iter_items(spot):
        if not entry.name.endswith(".imap"):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        item = make_item(spot, Path(entry.path), st)
        if item is not None:
            items.append(item)
    return where, sorted(items, key=lambda i: i.queued_at, reverse=True)
