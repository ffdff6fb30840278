"""Preset reports: ILA's (IP, Domain, User, Global by hour/day/week/month, Mail Search,
Direct Search, Duration) and pflogsumm's sections. Each answers from the rollup tables or
an indexed lookup, so it stays fast on millions of rows; each is a table plus a chart
(which column labels the bars, which one sizes them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from iwtui.analyzer import schema
from iwtui.analyzer.db import Database
from iwtui.analyzer.schema import DURATION_BUCKETS, OTHERS
from iwtui.errors import BadInput


@dataclass(frozen=True)
class Params:
    start: str | None = None  # YYYY-MM-DD, inclusive
    end: str | None = None
    server: str | None = None  # None: every server
    threshold: int | None = None  # Global: highlight periods at or above
    q: str = ""  # Mail/Direct Search: an address, a domain, a message id or an IP
    limit: int = 50


@dataclass
class Report:
    name: str
    title: str
    columns: list[str]
    rows: list[tuple[Any, ...]]
    chart: tuple[int, int] | None = (0, 1)  # (label column, value column)
    highlight: list[int] = field(default_factory=list)  # row numbers over the threshold
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": self.columns,
            "rows": [dict(zip(self.columns, r, strict=True)) for r in self.rows],
            "highlight": self.highlight,
            "note": self.note,
        }


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    source: str  # "ila" or "pflogsumm"
    run: Callable[[Database, Params], Report]


def _where(p: Params, extra: str = "") -> tuple[str, list[Any]]:
    conds, args = [], []
    if p.start:
        conds.append("lg_Date >= ?")
        args.append(p.start)
    if p.end:
        conds.append("lg_Date <= ?")
        args.append(p.end)
    if p.server is not None:
        conds.append("lg_Server = ?")
        args.append(p.server)
    if extra:
        conds.append(extra)
    return (" WHERE " + " AND ".join(conds)) if conds else "", args


def _q(db: Database, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
    return db.query(sql, args)[1]


def _int(v: Any) -> int:
    return int(v or 0)


# --- totals ----------------------------------------------------------------------------

_KINDS = (("received", 0, True), ("rejected", 0, False), ("delivered", 1, True),
          ("deferred", 1, False))  # fmt: skip


def grand_totals(db: Database, p: Params) -> Report:
    w, a = _where(p)
    rows = _q(db, "SELECT lg_ClientSession, lg_Error, sum(msgs), sum(rcpts), sum(bytes) "
                  f"FROM agg_hour{w} GROUP BY lg_ClientSession, lg_Error", a)  # fmt: skip
    total = [0, 0]
    kinds = {k: [0, 0] for k, _c, _ok in _KINDS}
    by_class: dict[str, list[int]] = {}
    rcpts = 0
    for client, err, n, r, b in rows:
        n, b = _int(n), _int(b)
        total[0] += n
        total[1] += b
        rcpts += _int(r)
        for k, c, ok in _KINDS:
            if _int(client) == c and (err == "OK") == ok:
                kinds[k][0] += n
                kinds[k][1] += b
        cur = by_class.setdefault(str(err), [0, 0])
        cur[0] += n
        cur[1] += b
    conn = dict(_q(db, f"SELECT lg_ClientSession, sum(sessions) FROM agg_conn{w} "
                       "GROUP BY lg_ClientSession", a))  # fmt: skip
    out: list[tuple[Any, ...]] = [("messages", total[0], total[1]), ("recipients", rcpts, 0)]
    out += [(k, v[0], v[1]) for k, v in kinds.items()]
    out += [
        (f"result {c}", v[0], v[1]) for c, v in sorted(by_class.items(), key=lambda x: -x[1][0])
    ]
    out += [("connections in", _int(conn.get(0)), 0), ("connections out", _int(conn.get(1)), 0)]
    return Report("grand-totals", "Grand totals", ["measure", "count", "bytes"], out)


def _by(db: Database, p: Params, col: str) -> list[tuple[Any, ...]]:
    w, a = _where(p)
    rows = _q(db, f"SELECT {col}, lg_ClientSession, lg_Error = 'OK', sum(msgs), sum(bytes) "
                  f"FROM agg_hour{w} GROUP BY {col}, lg_ClientSession, lg_Error = 'OK' "
                  f"ORDER BY {col}", a)  # fmt: skip
    table: dict[Any, list[int]] = {}
    for key, client, ok, n, b in rows:
        cur = table.setdefault(key, [0, 0, 0, 0, 0])
        i = (0 if ok else 1) if not _int(client) else (2 if ok else 3)
        cur[i] += _int(n)
        cur[4] += _int(b)
    return [(k, *v) for k, v in sorted(table.items())]


_TRAFFIC = ["received", "rejected", "delivered", "deferred", "bytes"]


def per_day(db: Database, p: Params) -> Report:
    return Report("per-day", "Per day", ["date", *_TRAFFIC], _by(db, p, "lg_Date"))


def per_hour(db: Database, p: Params) -> Report:
    rows = _by(db, p, "lg_Hour")
    return Report("per-hour", "Per hour of the day", ["hour", *_TRAFFIC],
                  [(f"{int(r[0]):02d}:00", *r[1:]) for r in rows])  # fmt: skip


def _global(group: str) -> Callable[[Database, Params], Report]:
    def run(db: Database, p: Params) -> Report:
        col = "lg_Hour" if group == "hour" else "lg_Date"
        w, a = _where(p)
        rows = _q(db, f"SELECT {col}, sum(msgs), sum(bytes), sum(CASE WHEN lg_Error = 'OK' "
                      f"THEN 0 ELSE msgs END) FROM agg_hour{w} GROUP BY {col} ORDER BY {col}",
                  a)  # fmt: skip
        table: dict[str, list[int]] = {}
        for key, n, b, e in rows:
            if group == "hour":
                label = f"{int(key):02d}:00"
            elif group == "day":
                label = str(key)
            elif group == "week":
                y, wk, _d = date.fromisoformat(str(key)).isocalendar()
                label = f"{y}-W{wk:02d}"
            else:
                label = str(key)[:7]
            cur = table.setdefault(label, [0, 0, 0])
            cur[0] += _int(n)
            cur[1] += _int(b)
            cur[2] += _int(e)
        items = sorted(table.items())
        out: list[tuple[Any, ...]] = [(k, *v) for k, v in items]
        hi = [i for i, (_k, v) in enumerate(items)
              if p.threshold is not None and v[0] >= p.threshold]  # fmt: skip
        return Report(f"global-{group}", f"Global by {group}",
                      [group, "messages", "bytes", "errors"], out, highlight=hi,
                      note="" if p.threshold is None else f"highlighted: {p.threshold}+ messages")  # fmt: skip

    return run


# --- top lists -------------------------------------------------------------------------


def _top(db: Database, p: Params, dims: tuple[str, ...]) -> dict[str, dict[str, list[int]]]:
    marks = ", ".join("?" * len(dims))
    w, a = _where(p, f"dim IN ({marks})")
    rows = _q(db, f"SELECT dim, name, sum(msgs), sum(bytes) FROM agg_top{w} GROUP BY dim, name",
              [*a, *dims])  # fmt: skip
    out: dict[str, dict[str, list[int]]] = {d: {} for d in dims}
    for dim, name, n, b in rows:
        out[str(dim)][str(name)] = [_int(n), _int(b)]
    return out


def _top_preset(name: str, title: str, dim: str, by: int, label: str) -> Preset:
    def run(db: Database, p: Params) -> Report:
        t = _top(db, p, (dim,))[dim]
        rest = t.pop(OTHERS, None)
        rows = sorted(t.items(), key=lambda kv: (-kv[1][by], kv[0]))[: p.limit]
        out: list[tuple[Any, ...]] = [(k, v[0], v[1]) for k, v in rows]
        note = f"(others) beyond each day's top lists: {rest[0]} messages" if rest else ""
        return Report(name, title, [label, "messages", "bytes"], out, chart=(0, 1 + by),
                      note=note)  # fmt: skip

    return Preset(name, title, "pflogsumm", run)


def _pair(name: str, title: str, dims: tuple[str, str], label: str,
          heads: tuple[str, str]) -> Preset:  # fmt: skip
    def run(db: Database, p: Params) -> Report:
        t = _top(db, p, dims)
        keys = (set(t[dims[0]]) | set(t[dims[1]])) - {OTHERS}
        if p.q:
            keys = {k for k in keys if p.q.lower() in k.lower()}
        a, b = t[dims[0]], t[dims[1]]
        order = sorted(keys, key=lambda k: (-(a.get(k, [0])[0] + b.get(k, [0])[0]), k))
        rows: list[tuple[Any, ...]] = [(k, *a.get(k, [0, 0]), *b.get(k, [0, 0])) for k in order]
        cols = [label, f"{heads[0]} messages", f"{heads[0]} bytes", f"{heads[1]} messages",
                f"{heads[1]} bytes"]  # fmt: skip
        return Report(name, title, cols, rows[: p.limit])

    return Preset(name, title, "ila", run)


# --- classes, time, connections --------------------------------------------------------


def _classes(db: Database, p: Params, client: int, name: str, title: str) -> Report:
    w, a = _where(p, "lg_ClientSession = ? AND lg_Error <> 'OK'")
    rows = _q(db, f"SELECT lg_Error, sum(msgs) FROM agg_hour{w} GROUP BY lg_Error", [*a, client])
    out = sorted(((str(e), _int(n)) for e, n in rows), key=lambda r: (-r[1], r[0]))
    return Report(name, title, ["class", "messages"], list(out))


def rejections(db: Database, p: Params) -> Report:
    return _classes(db, p, 0, "rejections", "Rejections by class")


def deferrals(db: Database, p: Params) -> Report:
    return _classes(db, p, 1, "deferrals", "Deferrals (outgoing, not delivered) by class")


def delivery_time(db: Database, p: Params) -> Report:
    w, a = _where(p)
    rows = _q(db, f"SELECT bucket, lg_ClientSession, sum(msgs) FROM agg_dur{w} "
                  "GROUP BY bucket, lg_ClientSession", a)  # fmt: skip
    got = {(int(b), int(c)): _int(n) for b, c, n in rows}
    out = []
    for i, lower in enumerate(DURATION_BUCKETS):
        upper = DURATION_BUCKETS[i + 1] if i + 1 < len(DURATION_BUCKETS) else None
        label = f"{lower}-{upper - 1} s" if upper and upper - 1 > lower else (
            f"{lower} s" if upper else f"{lower}+ s")  # fmt: skip
        out.append((label, got.get((lower, 0), 0), got.get((lower, 1), 0)))
    return Report("delivery-time", "Delivery time (summary duration)",
                  ["duration", "incoming", "outgoing"], out)  # fmt: skip


def connections(db: Database, p: Params) -> Report:
    w, a = _where(p)
    rows = _q(db, f"SELECT lg_Hour, lg_ClientSession, sum(sessions) FROM agg_conn{w} "
                  "GROUP BY lg_Hour, lg_ClientSession", a)  # fmt: skip
    got = {(int(h), int(c)): _int(n) for h, c, n in rows}
    out = [(f"{h:02d}:00", got.get((h, 0), 0), got.get((h, 1), 0)) for h in range(24)]
    return Report("connections", "Connections per hour", ["hour", "incoming", "outgoing"], out)


def duration(db: Database, p: Params) -> Report:
    w, a = _where(p)
    rows = _q(db, f"SELECT lg_Hour, sum(msgs), sum(duration) FROM agg_hour{w} "
                  "GROUP BY lg_Hour ORDER BY lg_Hour", a)  # fmt: skip
    out = [(f"{int(h):02d}:00", _int(n), _int(d), round(_int(d) / _int(n), 2) if _int(n) else 0)
           for h, n, d in rows]  # fmt: skip
    return Report("duration", "Duration of sessions by hour",
                  ["hour", "messages", "seconds", "average s"], out, chart=(0, 3))  # fmt: skip


def spam(db: Database, p: Params) -> Report:
    w, a = _where(p)
    acts = _q(db, f"SELECT lg_Action, sum(msgs) FROM agg_spam{w} GROUP BY lg_Action", a)
    w2, a2 = _where(p, "lg_Error IN ('AS', 'AV', 'GRLST', 'DNSBL', 'DBF', 'TARP')")
    cls = _q(db, f"SELECT lg_Error, sum(msgs) FROM agg_hour{w2} GROUP BY lg_Error", a2)
    out = [(f"anti-spam {x}", _int(n)) for x, n in sorted(acts, key=lambda r: str(r[0]))]
    names = {"AS": "refused as spam", "AV": "refused: virus", "GRLST": "greylisted",
             "DNSBL": "refused by DNSBL", "DBF": "deleted by filter", "TARP": "tarpitted"}  # fmt: skip
    out += [(names[str(e)], _int(n)) for e, n in sorted(cls, key=lambda r: str(r[0]))]
    return Report("spam", "Spam, virus and greylisting", ["measure", "messages"], out)


def greylisting(db: Database, p: Params) -> Report:
    w, a = _where(p, "lg_Error = 'GRLST'")
    rows = dict(_q(db, f"SELECT lg_Hour, sum(msgs) FROM agg_hour{w} GROUP BY lg_Hour", a))
    out = [(f"{h:02d}:00", _int(rows.get(h))) for h in range(24)]
    return Report("greylisting", "Greylisted per hour", ["hour", "messages"], out)


def virus(db: Database, p: Params) -> Report:
    w, a = _where(p)
    rows = _q(db, f"SELECT lg_Virus, count(*) FROM antivirus{w} GROUP BY lg_Virus", a)
    w2, a2 = _where(p, "lg_Error = 'AV'")
    refused = _q(db, f"SELECT sum(msgs) FROM agg_hour{w2}", a2)
    out = [("refused by SMTP (AV)", _int(refused[0][0]) if refused else 0)]
    out += sorted(((str(v), _int(n)) for v, n in rows), key=lambda r: (-r[1], r[0]))
    return Report("virus", "Viruses", ["virus", "messages"], out)


def pop3(db: Database, p: Params) -> Report:
    w, a = _where(p)
    rows = _q(db, f"SELECT lg_Hour, lg_Result, sum(sessions) FROM agg_pop3{w} "
                  "GROUP BY lg_Hour, lg_Result", a)  # fmt: skip
    got = {(int(h), str(r)): _int(n) for h, r, n in rows}
    out = [(f"{h:02d}:00", got.get((h, "OK"), 0), got.get((h, "FAILED"), 0)) for h in range(24)]
    return Report("pop3", "POP3 logins per hour", ["hour", "logins", "failed"], out)


# --- searches (indexed lookups) --------------------------------------------------------

_ROW = ("lg_Date, lg_Time, lg_Server, lg_FromIP, lg_FromAccount, lg_FromDomain, lg_ToAccount, "
        "lg_ToDomain, lg_Size, lg_Error, lg_MessageID, lg_ThreadID")  # fmt: skip
_ROW_COLS = ["date", "time", "server", "ip", "from", "from domain", "to", "to domain", "size",
             "result", "message id", "thread"]  # fmt: skip


def _search(db: Database, p: Params, cond: str, args: list[Any], name: str, title: str) -> Report:
    w, a = _where(p, f"({cond})")
    rows = _q(db, f"SELECT {_ROW} FROM smtp{w} ORDER BY lg_Date DESC, lg_Time DESC LIMIT ?",
              [*a, *args, max(1, p.limit) * 10])  # fmt: skip
    # arguments of the condition come after the range ones
    return Report(name, title, _ROW_COLS, rows, chart=None)


def _span(p: Params, *, ts_only: bool = False) -> tuple[str, list[Any]]:
    """The server and date conditions of a search on smtp, the dates also as an lg_TS
    range (``YYYY-MM-DD hh:mm:ss``), which the indexes hold (``ts_only``: that range
    alone, answered from an index without reading rows)."""
    conds, args = [], []
    if p.start:
        conds.append("lg_TS >= ?" if ts_only else "lg_TS >= ? AND lg_Date >= ?")
        args += [p.start] if ts_only else [p.start, p.start]
    if p.end:
        conds.append("lg_TS < ?" if ts_only else "lg_TS < ? AND lg_Date <= ?")
        args += [p.end + "~"] if ts_only else [p.end + "~", p.end]
    if p.server is not None and not ts_only:
        conds.append("lg_Server = ?")
        args.append(p.server)
    return "".join(f" AND {c}" for c in conds), args


WALK_MIN = 1000  # a value held by fewer rows is always found by its index


def _walk(db: Database, p: Params, col: str, value: str, n: int) -> bool:
    """Whether the newest rows whose ``col`` is ``value`` are found sooner by walking
    every row newest first (``smtp_ts``) than by sorting that value's rows (found by its
    index): when it holds more than sqrt(n x rows in range) rows (the rows in range from
    the hourly rollup; the value's counted in its index up to that bound)."""
    w, a = _where(p)
    total = _int(_q(db, f"SELECT sum(msgs) FROM agg_hour{w}", a)[0][0])
    bound = max(WALK_MIN, math.isqrt(n * total))
    span, sargs = _span(p, ts_only=True)
    held = _q(db, f"SELECT count(*) FROM (SELECT 1 FROM smtp WHERE {col} = ?{span} LIMIT ?) "
                  "AS c", [value, *sargs, bound + 1])[0][0]  # fmt: skip
    return _int(held) > bound


def mail_search(db: Database, p: Params) -> Report:
    """Rows sent from or to an address (or a domain), newest first: the newest ``n`` of
    each side (an address from ``smtp_from_ts``/``smtp_to_ts``, in order; a domain from
    the same index and a sort or, when it holds many rows, by walking ``smtp_ts`` newest
    first); a receiving-side row that also matches the sending side is that side's (it is
    among the sending side's newest ``n`` whenever it is among the answer's)."""
    q = p.q.strip().lower()
    if not q:
        return Report("mail-search", "Mail Search", _ROW_COLS, [], chart=None,
                      note="give an address or a domain (q)")  # fmt: skip
    n = max(1, p.limit) * 10
    span, sargs = _span(p)
    if "@" in q:
        acc, dom = q.rsplit("@", 1)
        c1 = "lg_FromDomain = ? AND lower(lg_FromAccount) = ?"
        c2 = "lg_ToDomain = ? AND lower(lg_ToAccount) = ?"
        dup = "coalesce(lg_FromDomain, '') = ? AND lower(coalesce(lg_FromAccount, '')) = ?"
        args = [dom, acc]
    else:
        # ``|| ''``: the same test, one no index answers, so the newest-first walk is taken
        c1 = "lg_FromDomain" + (" || ''" if _walk(db, p, "lg_FromDomain", q, n) else "") + " = ?"
        c2 = "lg_ToDomain" + (" || ''" if _walk(db, p, "lg_ToDomain", q, n) else "") + " = ?"
        dup = "coalesce(lg_FromDomain, '') = ?"
        args = [q]
    sql = (f"SELECT * FROM (SELECT * FROM (SELECT {_ROW}, lg_TS, 0 AS dup FROM smtp "
           f"WHERE {c1}{span} ORDER BY lg_TS DESC LIMIT ?) AS a UNION ALL "
           f"SELECT * FROM (SELECT {_ROW}, lg_TS, CASE WHEN {dup} THEN 1 ELSE 0 END AS dup "
           f"FROM smtp WHERE {c2}{span} ORDER BY lg_TS DESC LIMIT ?) AS b) AS u "
           "WHERE dup = 0 ORDER BY lg_TS DESC LIMIT ?")  # fmt: skip
    rows = _q(db, sql, [*args, *sargs, n, *args, *args, *sargs, n, n])
    return Report("mail-search", "Mail Search", _ROW_COLS, [r[:-2] for r in rows], chart=None)


def direct_search(db: Database, p: Params) -> Report:
    q = p.q.strip()
    if not q:
        return Report("direct-search", "Direct Search", _ROW_COLS, [], chart=None,
                      note="give a message id or an IP address (q)")  # fmt: skip
    return _search(db, p, "lg_MessageID = ? OR lg_FromIP = ?", [q, q], "direct-search",
                   "Direct Search")  # fmt: skip


def _ip(db: Database, p: Params) -> Report:
    return _pair("ip", "IP", ("ip", "reject_ip"), "ip", ("accepted", "refused")).run(db, p)


PRESETS: dict[str, Preset] = {
    x.name: x
    for x in (
        Preset("grand-totals", "Grand totals", "pflogsumm", grand_totals),
        Preset("per-day", "Per day", "pflogsumm", per_day),
        Preset("per-hour", "Per hour", "pflogsumm", per_hour),
        *(
            Preset(f"global-{g}", f"Global by {g}", "ila", _global(g))
            for g in ("hour", "day", "week", "month")
        ),
        Preset("ip", "IP", "ila", _ip),
        _pair("domain", "Domain", ("from_domain", "to_domain"), "domain", ("sent", "received")),
        _pair("user", "User", ("from_user", "to_user"), "user", ("sent", "received")),
        Preset("mail-search", "Mail Search", "ila", mail_search),
        Preset("direct-search", "Direct Search", "ila", direct_search),
        Preset("duration", "Duration", "ila", duration),
        _top_preset("top-sender-domains", "Top sender domains", "from_domain", 0, "domain"),
        _top_preset(
            "top-sender-domains-size", "Top sender domains by size", "from_domain", 1, "domain"
        ),
        _top_preset("top-recipient-domains", "Top recipient domains", "to_domain", 0, "domain"),
        _top_preset(
            "top-recipient-domains-size", "Top recipient domains by size", "to_domain", 1, "domain"
        ),
        _top_preset("top-senders", "Top senders", "from_user", 0, "sender"),
        _top_preset("top-senders-size", "Top senders by size", "from_user", 1, "sender"),
        _top_preset("top-recipients", "Top recipients", "to_user", 0, "recipient"),
        _top_preset("top-recipients-size", "Top recipients by size", "to_user", 1, "recipient"),
        Preset("rejections", "Rejections by class", "pflogsumm", rejections),
        _top_preset("rejections-ip", "Rejections by IP", "reject_ip", 0, "ip"),
        Preset("deferrals", "Deferrals by class", "pflogsumm", deferrals),
        _top_preset(
            "deferral-domains", "Deferrals by recipient domain", "defer_domain", 0, "domain"
        ),
        Preset("delivery-time", "Delivery-time histogram", "pflogsumm", delivery_time),
        Preset("connections", "Connections per hour", "pflogsumm", connections),
        Preset("spam", "Spam, virus, greylisting", "pflogsumm", spam),
        Preset("greylisting", "Greylisting per hour", "pflogsumm", greylisting),
        Preset("virus", "Viruses", "pflogsumm", virus),
        Preset("pop3", "POP3 logins", "pflogsumm", pop3),
    )
}


def run(db: Database, name: str, params: Params) -> Report:
    preset = PRESETS.get(name)
    if preset is None:
        raise BadInput(f"no report {name!r} (see `iwtui analyzer reports`)")
    missing = not_imported(db, params)
    rep = preset.run(db, params)
    rep.title = preset.title
    if missing:
        rep.note = f"{rep.note}; {missing}" if rep.note else missing
    return rep


def not_imported(db: Database, p: Params) -> str:
    """A sentence when no import has run for the period (and server): a report of zeros
    reads as a quiet day otherwise. Empty when one has."""
    where, args = _where(replace(p, server=None), "status = 'ok'")
    rows = _q(db, f"SELECT lg_Server FROM {schema.RUNS}{where}", args)
    if p.server is not None:  # a run lists the server ids it found, comma-separated
        rows = [r for r in rows if p.server in str(r[0] or "").split(",")]
    if rows:
        return ""
    span = ("from " + (p.start or "the first day") + " to " + (p.end or "today")
            if p.start or p.end else "yet")  # fmt: skip
    who = f" for server {p.server}" if p.server is not None else ""
    return (
        f"nothing imported {span}{who}: every count is 0 until a day is imported "
        "(Import Now, or `iwtui analyzer import --date YYYY-MM-DD`)"
    )
