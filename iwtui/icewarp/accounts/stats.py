"""Account Statistics: per local account over a period, from the traffic store's
``account_day`` table (filled by the same incremental ingest as the Traffic Charts), and
the mailbox as it is now (the Volume walker).

- A local account is a ``<mail>/<domain>/<user>/`` folder; any other address seen in the
  logs is an unknown sender (summed in the export's unknown line).
- Received: ``OK`` server-session summaries with the account as a recipient, one per
  message; Sent: ``OK`` server-session summaries with the account as sender, once per
  recipient (the amount too); Sent Out: ``OK`` client-session summaries with the account
  as sender, once per (remote) recipient. Last Sent / Received / Login / IP: the newest in
  the period. (The exact definitions are the traffic engine's: ``traffic.accounts_feed``.)
- Messages Count / Amount: regular files below the account folder now; Created: the
  mtime of its oldest file (when the mailbox was first used).
- Quota %: ``quota.limits`` (ASSUMED source); None when unknown.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from json.encoder import encode_basestring
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from iwtui.errors import BadInput
from iwtui.icewarp.install import Install
from iwtui.icewarp.volume import targets
from iwtui.icewarp.volume.folders import FolderCache
from iwtui.icewarp.volume.mailboxes import mailboxes

# The CLI's objects, in this order (extra fields may follow).
FIELDS = ("account", "received_count", "received_bytes", "sent_count", "sent_bytes",
          "sent_out_count", "sent_out_bytes", "last_sent", "last_received", "last_login",
          "last_ip", "created", "messages_count", "messages_bytes")  # fmt: skip
TEXT_FIELDS = ("account", "last_ip")  # sorted A-Z; every other field most/newest first
SORT_FIELDS = (*FIELDS, "quota_percent", "domain")


@dataclass
class AccountRow:
    account: str
    received_count: int = 0
    received_bytes: int = 0
    sent_count: int = 0
    sent_bytes: int = 0
    sent_out_count: int = 0
    sent_out_bytes: int = 0
    last_sent: str | None = None
    last_received: str | None = None
    last_login: str | None = None
    last_ip: str | None = None
    created: str | None = None
    messages_count: int = 0
    messages_bytes: int = 0
    quota_percent: float | None = None
    quota_bytes: int | None = None

    @property
    def domain(self) -> str:
        return self.account.rpartition("@")[2]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)  # the fields in order (asdict's copy of flat values)


def _number(v: float | None) -> str:
    return "null" if v is None else json.dumps(v)


def json_texts(rows: list[AccountRow]) -> list[str]:
    """``json.dumps(row.to_json(), ensure_ascii=False)`` of each row, made without the dicts
    (the same C string encoder; the counts are ints; the None checks inline, no call per
    field)."""
    q, n = encode_basestring, _number
    return [
        f'{{"account": {q(r.account)}, "received_count": {r.received_count}, '
        f'"received_bytes": {r.received_bytes}, "sent_count": {r.sent_count}, '
        f'"sent_bytes": {r.sent_bytes}, "sent_out_count": {r.sent_out_count}, '
        f'"sent_out_bytes": {r.sent_out_bytes}, '
        f'"last_sent": {"null" if r.last_sent is None else q(r.last_sent)}, '
        f'"last_received": {"null" if r.last_received is None else q(r.last_received)}, '
        f'"last_login": {"null" if r.last_login is None else q(r.last_login)}, '
        f'"last_ip": {"null" if r.last_ip is None else q(r.last_ip)}, '
        f'"created": {"null" if r.created is None else q(r.created)}, '
        f'"messages_count": {r.messages_count}, "messages_bytes": {r.messages_bytes}, '
        f'"quota_percent": {"null" if r.quota_percent is None else n(r.quota_percent)}, '
        f'"quota_bytes": {"null" if r.quota_bytes is None else n(r.quota_bytes)}}}'
        for r in rows
    ]


@dataclass
class Report:
    rows: list[AccountRow]  # filtered, sorted, at most max_items
    unknown: AccountRow | None  # unknown senders; only when the filter is empty
    total: AccountRow  # over ``rows`` (the unknown line not included)
    start: str
    end: str
    matched: int  # accounts matching the filter, before Max Items
    accounts: int  # local accounts in the mail store


def parse_filter(text: str | None) -> list[str]:
    """``'acme.test;john@x.org'`` -> lower-case terms; empty terms dropped."""
    return [t.strip().lower() for t in (text or "").split(";") if t.strip()]


def matches(account: str, terms: list[str]) -> bool:
    """Any term matches: a domain or an address, as a substring, any case."""
    if not terms:
        return True
    a = account.lower()
    return any(t in a for t in terms)


def parse_day(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise BadInput(f"bad {what} date {text!r}: use YYYY-MM-DD") from None


def local_accounts(install: Install) -> dict[str, str]:
    """Lower-case address -> account folder, for every ``<mail>/<domain>/<user>/`` (the
    folders ``targets.accounts`` names)."""
    base = str(install.mail_dir)
    out: dict[str, str] = {}
    for d in targets.domains(install.mail_dir):
        folder = f"{base}/{d}"
        for user in targets.subdirs(folder):
            if not user.startswith(("_", ".", "~")):
                out[f"{user}@{d}".lower()] = f"{folder}/{user}"
    return out


def sort_rows(rows: list[AccountRow], field: str = "account") -> list[AccountRow]:
    """Sort by a field: text A-Z, numbers and times largest/newest first; ``-field``
    reverses that; rows without a value go last; ties by address."""
    reverse_req = field.startswith("-")
    name = field.lstrip("-")
    if name not in SORT_FIELDS:
        raise BadInput(f"unknown sort field {name!r} (one of: {', '.join(SORT_FIELDS)})")
    desc = name not in TEXT_FIELDS
    if reverse_req:
        desc = not desc
    by_account = sorted(rows, key=attrgetter("account"))
    if name == "account":
        return by_account[::-1] if desc else by_account
    get = attrgetter(name)
    have = [r for r in by_account if get(r) is not None]
    none = [r for r in by_account if get(r) is None]
    have.sort(key=get, reverse=desc)  # stable: ties stay A-Z
    return have + none


def _sum_values(values: list[tuple[Any, ...]]) -> AccountRow:
    """``_sum`` of every row, from their field tuples (the order does not matter): one C
    pass per column (``map(itemgetter)``; ``filter(None)`` drops the missing times)."""
    t = AccountRow("Total")
    if not values:
        return t
    for i in (1, 2, 3, 4, 5, 6, 12, 13):  # the counts and amounts
        setattr(t, FIELDS[i], sum(map(itemgetter(i), values)))
    for i in (7, 8, 9):  # last sent, received, login
        setattr(t, FIELDS[i], max(filter(None, map(itemgetter(i), values)), default=None))
    t.created = min(filter(None, map(itemgetter(11), values)), default=None)
    return t


# the traffic columns of an account with no row in the period (AccountRow's order)
NO_TRAFFIC = (0, 0, 0, 0, 0, 0, None, None, None, None)


SUMMED = ("received_count", "received_bytes", "sent_count", "sent_bytes", "sent_out_count",
          "sent_out_bytes", "messages_count", "messages_bytes")  # fmt: skip


def _sum(rows: list[AccountRow], name: str) -> AccountRow:
    """The totals line: sums; the newest last_*, the oldest created."""
    t = AccountRow(name)
    if not rows:
        return t
    times = ("last_sent", "last_received", "last_login", "created")
    cols = list(zip(*map(attrgetter(*SUMMED, *times), rows), strict=True))
    for f, col in zip(SUMMED, cols, strict=False):
        setattr(t, f, sum(col))
    for f, col in zip(times, cols[len(SUMMED) :], strict=True):
        values = [v for v in col if v is not None]
        if values:
            setattr(t, f, min(values) if f == "created" else max(values))
    return t


def collect(
    install: Install,
    state_dir: Path,
    *,
    start: date | None = None,
    end: date | None = None,
    filter_text: str = "",
    max_items: int = 0,
    sort: str = "account",
    ingest: bool = True,
    mailbox_cache: FolderCache | None = None,
    quotas: dict[str, int] | None = None,
    progress: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Report:
    """The whole Account Statistics answer for a period (both days included; default: every
    day the store holds). ``ingest``: bring the store up to date with the logs first."""
    from iwtui.icewarp.accounts.totals import account_totals, day_range
    from iwtui.icewarp.traffic.store import Store, default_path

    if max_items < 0:
        raise BadInput("--max must be 0 (no limit) or more")
    if start and end and start > end:
        raise BadInput(f"--from {start} is after --to {end}")
    sort_rows([], sort)  # a bad field is refused before any work
    store = Store(default_path(install, state_dir))
    try:
        if ingest and install.log_dir.is_dir():
            from iwtui.icewarp.traffic.ingest import ingest as run_ingest

            if progress:
                progress("reading logs")
            run_ingest(install, store, cancel=cancel)
        days = day_range(store.db) if start is None or end is None else None
        today = date.today().isoformat()
        lo = start.isoformat() if start else (days[0] if days else today)
        hi = end.isoformat() if end else (days[1] if days else today)
        totals = account_totals(store.db, lo, hi)
    finally:
        store.db.close()
    local = local_accounts(install)
    terms = parse_filter(filter_text)
    chosen = {a: p for a, p in local.items() if matches(a, terms)} if terms else local
    if progress:
        progress(f"counting {len(chosen):,} mailboxes")
    boxes = mailboxes(install, state_dir, chosen, cache=mailbox_cache, cancel=cancel)
    rows: list[AccountRow] = []
    values: list[tuple[Any, ...]] = []  # each row's fields up to messages_bytes
    get_totals, get_box = totals.get, boxes.get
    stamp = datetime.fromtimestamp
    times: dict[int, str | None] = {0: None}  # Created, once per distinct time
    no_box: tuple[str | None, int, int] = (None, 0, 0)
    for address in chosen:
        mb = get_box(address)
        if mb is None:
            v = (address, *get_totals(address, NO_TRAFFIC), *no_box)
        else:
            created = times.get(mb.oldest, "")
            if created == "":
                created = times[mb.oldest] = stamp(mb.oldest).isoformat(timespec="seconds")
            v = (address, *get_totals(address, NO_TRAFFIC), created, mb.files, mb.bytes)
        values.append(v)
        row = AccountRow(*v)
        if quotas and quotas.get(address):
            row.quota_bytes = quotas[address]
            row.quota_percent = round(100.0 * row.messages_bytes / quotas[address], 1)
        rows.append(row)
    rows = sort_rows(rows, sort)
    matched = len(rows)
    if max_items:
        rows = rows[:max_items]
    unknown = None
    if not terms:
        others = [r for a, r in totals.items() if a not in local]
        unknown = AccountRow("Unknown senders")
        unknown.sent_count = sum(r[2] for r in others)
        unknown.sent_bytes = sum(r[3] for r in others)
        unknown.sent_out_count = sum(r[4] for r in others)
        unknown.sent_out_bytes = sum(r[5] for r in others)
        unknown.last_sent = max((r[6] for r in others if r[6]), default=None)
    total = _sum(rows, "Total") if max_items and matched > max_items else _sum_values(values)
    return Report(rows, unknown, total, lo, hi, matched, len(local))
