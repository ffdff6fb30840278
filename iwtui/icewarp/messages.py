"""Queued messages (spec section 2): envelope and headers from the head of each file.

Only the first 64 KiB of a file are read. Header values are decoded (RFC 2047) and kept as
plain strings: the screens make them inert. A file that is not a message (binary, empty,
no headers, a header block larger than the limit) is listed with a ``problem`` rather
than dropped. A file that vanishes while we read it was delivered: it is skipped.

Scans are keyed by path, and a rescan reuses every item whose (inode, size, mtime) did
not change, so a watcher event costs a directory listing plus the changed files.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

from iwtui.icewarp.heads import (
    HEAD_LIMIT,
    BlockResult,
    Helper,
    Parsed,
    ParsedResult,
    gather,
    read_block,
    read_blocks,
)
from iwtui.icewarp.install import Install
from iwtui.icewarp.queues import QUEUE_NAMES, QueueSpot, iter_items, spots

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
            headers, problem = parse_block(head or b"")
            self._problem = self._problem or problem
            fields = self._fields = _fields_of(headers)
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


def _iso(ts: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ts).isoformat(timespec="seconds")


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
    """The item fields of a header block, and a problem or None."""
    headers, problem = parse_block(block)
    return _fields_of(headers), problem


def read_head(
    path: Path | str, limit: int = HEAD_LIMIT, size: int | None = None
) -> tuple[dict[str, list[str]], str | None, int]:
    """(wanted headers by lower-case name, a problem or None, size)."""
    block, problem, size = read_block(path, limit, size)
    headers, problem2 = parse_block(block)
    return headers, problem or problem2, size


def addresses(value: str) -> list[str]:
    """The addresses of a header value: ``<a@b>`` forms, else bare ``a@b`` words. A fast
    reading for listing 100,000 files (``email.utils.getaddresses`` is 10x slower)."""
    found = [a or b for a, b in _ADDRS.findall(value)]
    return [a for a in found if a]


def _addr(value: str) -> str:
    found = addresses(value)
    return found[0] if found else value.strip("<> ")


def read_sms(path: Path | str) -> tuple[dict[str, list[str]], str | None, int]:
    """An SMS item: line 3 the recipient, line 4 the sender (spec 2), then the text."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        lines = fh.read(HEAD_LIMIT).decode("utf-8", "replace").splitlines()
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
        st = st or os.stat(path)
        headers, problem, size = read_sms(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if st is None:
            return None
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
            st = os.stat(path)
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


def scan(
    install: Install,
    queues: Iterable[str] = QUEUE_NAMES,
    *,
    previous: dict[str, QueueItem] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, QueueItem]:
    """Every item of ``queues``, keyed by the file's path (text). Items of ``previous``
    whose file did not change are reused without reading the file again."""
    scanner = Scanner(install)
    scanner.items = previous or {}
    return scanner.scan(queues, full=True, cancel=cancel)


class Scanner:
    """Repeated scans of the same queues, for a live screen: a folder whose own mtime did
    not change since the last scan (no file was added, removed or renamed in it) is not
    listed again; its items are reused. ``full=True`` lists and checks every file (the
    safety pass: a file rewritten in place does not change its folder's mtime).

    Incoming and MDA share a folder: the folder is listed once per pass for each queue,
    as ``spots`` describes them."""

    def __init__(self, install: Install, *, lazy: bool = False) -> None:
        self.install = install
        self.lazy = lazy  # keep header blocks, parse on first use
        self.items: dict[str, QueueItem] = {}
        self._folders: dict[tuple[str, Path], tuple[int, list[str]]] = {}

    def scan(
        self,
        queues: Iterable[str] = QUEUE_NAMES,
        *,
        full: bool = False,
        cancel: threading.Event | None = None,
    ) -> dict[str, QueueItem]:
        wanted = set(queues)
        out: dict[str, QueueItem] = {}
        seen: dict[tuple[str, Path], tuple[int, list[str]]] = {}
        reading = _Reading(self.lazy, None)
        for spot in spots(self.install):
            if spot.queue not in wanted:
                continue
            key = (spot.queue, spot.folder)
            try:
                mtime = os.stat(spot.folder).st_mtime_ns
            except OSError:
                continue  # a queue folder that does not exist holds nothing
            known = self._folders.get(key)
            if not full and known is not None and known[0] == mtime:
                for p in known[1]:
                    item = self.items.get(p)
                    if item is not None:
                        out[p] = item
                seen[key] = known
                continue
            names: list[str] = []

            def sink(batch: list[Job], names: list[str] = names) -> None:
                names.extend(job[1] for job in batch)
                reading.add(batch)

            reused, _ = list_spot(spot, self.items, cancel, sink)
            out.update(reused)
            seen[key] = (mtime, [*reused, *names])
        out.update(reading.finish(cancel))
        if cancel is not None and cancel.is_set():
            return out
        self.items, self._folders = out, seen
        return out


# A job: the file of a queue folder to read (its spot, path and name).
Job = tuple[QueueSpot, str, str]
PARALLEL_MIN = 5000  # files to read before a helper process is worth its start (~50 ms)
SINK_BATCH = 2000  # files listed before they are handed on (a helper starts reading them)


def list_spot(
    spot: QueueSpot,
    previous: dict[str, QueueItem],
    cancel: threading.Event | None = None,
    sink: Callable[[list[Job]], None] | None = None,
) -> tuple[dict[str, QueueItem], list[Job]]:
    """One queue folder listed: the unchanged items of ``previous`` and the files to read
    (handed to ``sink`` in batches while the listing goes on, when there is one)."""
    reused: dict[str, QueueItem] = {}
    todo: list[Job] = []
    for entry in iter_items(spot):
        if cancel is not None and cancel.is_set():
            break
        path = entry.path
        old = previous.get(path)
        if old is None:  # not seen before: the reader stats the open file
            todo.append((spot, path, entry.name))
            if sink is not None and len(todo) >= SINK_BATCH:
                sink(todo)
                todo = []
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if old.key == (st.st_ino, st.st_size, st.st_mtime_ns):
            reused[path] = old
        else:
            todo.append((spot, path, entry.name))
    if sink is not None:
        sink(todo)
        todo = []
    return reused, todo


def read_items(
    jobs: list[Job],
    *,
    lazy: bool = False,
    cancel: threading.Event | None = None,
    parallel: bool | None = None,
) -> dict[str, QueueItem]:
    """The items of ``jobs`` (see ``_Reading``)."""
    reading = _Reading(lazy, parallel)
    reading.add(jobs)
    return reading.finish(cancel)


class _Reading:
    """Files to read, collected while folders are listed. Once there are PARALLEL_MIN of
    them, a helper process starts and takes two in three from then on: it reads (and,
    unless ``lazy``, parses) while the listing goes on and this process reads the others,
    then this process assembles its results. If the helper cannot start or fails, its
    share is done here. (``parallel`` True: a helper from the first file; False: none.)"""

    def __init__(self, lazy: bool, parallel: bool | None) -> None:
        self.lazy = lazy
        self.allowed = (os.cpu_count() or 1) > 1 if parallel is None else parallel
        self.threshold = PARALLEL_MIN if parallel is None else 1
        self.mine: list[Job] = []
        self.theirs: list[Job] = []
        self.waiting: list[Job] = []
        self.helper: Helper | None = None

    def add(self, jobs: list[Job]) -> None:
        self.waiting += jobs
        if self.helper is None:
            if not self.allowed or len(self.waiting) < self.threshold:
                return
            self.helper = Helper("read" if self.lazy else "read-parse")
            if not self.helper.started:
                self.allowed = False
                return
        # two in three to the helper: this process also lists, and assembles its results
        files = [j for j in self.waiting if j[0].queue != "sms"]
        theirs = [j for k, j in enumerate(files) if k % 3]
        self.helper.send([j[1] for j in theirs])
        self.theirs += theirs
        self.mine += files[0::3] + [j for j in self.waiting if j[0].queue == "sms"]
        self.waiting = []

    def finish(self, cancel: threading.Event | None) -> dict[str, QueueItem]:
        helper = self.helper
        if helper is not None:
            helper.close()
        out: dict[str, QueueItem] = {}
        for spot, path, name in self.mine + self.waiting:
            if cancel is not None and cancel.is_set():
                break
            item = make_item(spot, path, lazy=self.lazy, name=name)
            if item is not None:
                out[path] = item
        if helper is None or not helper.started:
            return out
        if cancel is not None and cancel.is_set():
            helper.stop()
            return out
        share, at = self.theirs, 0
        for _i, frame in gather([helper]):
            if frame is None:  # the helper failed: the rest of its share is read here
                frame = read_blocks([j[1] for j in share[at:]])
            for (spot, path, name), result in zip(share[at : at + len(frame)], frame, strict=True):  # fmt: skip
                item = _item(spot, path, result, self.lazy, name)
                if item is not None:
                    out[path] = item
            at += len(frame)
            if cancel is not None and cancel.is_set():
                break  # gather stops the helper
        return out


def parse_all(
    items: Iterable[QueueItem],
    *,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
    parallel: bool | None = None,
) -> None:
    """Parse every header block not parsed yet. Many are parsed by two helper processes
    (this process only adopts the fields); progress is reported as (done, total)."""
    import time

    todo = [i for i in items if not i.parsed]
    total = len(todo)
    if not todo:
        return
    if parallel is None:
        parallel = total >= PARALLEL_MIN and (os.cpu_count() or 1) > 1
    if parallel:
        shares = [todo[0::2], todo[1::2]]
        helpers = [Helper("parse", [i._head or b"" for i in share]) for share in shares]
        for helper, share in zip(helpers, shares, strict=True):
            if not helper.started:  # this share is parsed here while the other works
                for item in share:
                    item._parsed()
        done = sum(len(s) for h, s in zip(helpers, shares, strict=True) if not h.started)
        pos = [0] * len(helpers)
        last = time.monotonic()
        for i, frame in gather(helpers):
            share, at = shares[i], pos[i]
            if frame is None:  # the helper failed: the rest of its share is parsed here
                for item in share[at:]:
                    item._parsed()
                done += len(share) - at
                pos[i] = len(share)
            else:
                for item, (fields, problem) in zip(share[at : at + len(frame)], frame, strict=True):  # fmt: skip
                    item._adopt(fields, problem)
                done += len(frame)
                pos[i] = at + len(frame)
            if cancel is not None and cancel.is_set():
                return
            if progress is not None and time.monotonic() - last > 0.5:
                progress(done, total)
                last = time.monotonic()
        if progress is not None:
            progress(total, total)
        return
    last = time.monotonic()
    for n, item in enumerate(todo, 1):
        if cancel is not None and cancel.is_set():
            return
        item._parsed()
        if progress is not None and time.monotonic() - last > 0.5:
            progress(n, total)
            last = time.monotonic()
    if progress is not None:
        progress(total, total)


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


def parse_query(text: str) -> dict[str, str]:
    """``from:x;to:y;subject:z`` (a bare term matches any of the three)."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition(":")
        if sep and key.strip().lower() in ("from", "to", "subject"):
            out[key.strip().lower()] = value.strip().casefold()
        else:
            out["any"] = part.casefold()
    return out


def matches(item: QueueItem, query: dict[str, str]) -> bool:
    """Whether ``item`` passes ``query`` (from :func:`parse_query`). An empty query reads
    nothing: a listing of 100,000 items must not parse every header to show itself."""
    if not query:
        return True
    for key, value in query.items():
        hit = (
            (key in ("from", "any") and value in f"{item.sender} {item.from_}".casefold())
            or (
                key in ("to", "any")
                and value in f"{' '.join(item.recipients)} {item.to}".casefold()
            )
            or (key in ("subject", "any") and value in item.subject.casefold())
        )
        if not hit:
            return False
    return True


MAILBOX_FOLDERS = {"inbox": "inbox", "spam": "~spam"}


def mailbox(install: Install, account: str, folder: str = "inbox") -> tuple[Path, list[QueueItem]]:
    """A user's inbox or spam folder (``<mail>/<domain>/<user>/inbox|~spam``), listed
    like a queue (queue name ``mailbox``). Raises BadInput for a malformed account."""
    from iwtui.errors import BadInput

    user, sep, domain = account.strip().lower().partition("@")
    if not sep or not user or not domain or "/" in account or ".." in account:
        raise BadInput(f"bad account {account!r}: use user@domain")
    if folder not in MAILBOX_FOLDERS:
        raise BadInput(f"bad folder {folder!r}: inbox or spam")
    where = install.mail_dir / domain / user / MAILBOX_FOLDERS[folder]
    spot = QueueSpot("mailbox", where)
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
