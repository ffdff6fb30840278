"""Writing one imported day: the replace-in-one-transaction, retention and rollups."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iwtui.analyzer import schema
from iwtui.analyzer.parse import Rollup
from iwtui.analyzer.worker import Sink, insert_sql

if TYPE_CHECKING:
    from iwtui.analyzer.db import Database
    from iwtui.analyzer.importer import DayResult, Options, TableStat

# Which rollups each log type feeds.
ROLLUPS_OF = {
    "smtp": ("agg_hour", "agg_conn", "agg_dur", "agg_top"),
    "pop3": ("agg_pop3",),
    "antispam": ("agg_spam",),
    "antivirus": (),
}


def split_sql(text: str) -> list[str]:
    """Statements separated by ``;`` outside quotes."""
    out, cur, quote = [], [], ""
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote = ch
            cur.append(ch)
        elif ch == ";":
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return [s for s in out if s]


def rollup_rows(server: str, day: str, r: Rollup) -> dict[str, list[tuple[Any, ...]]]:
    trimmed = r.trimmed(schema.TOP_KEEP)
    return {
        "agg_hour": [(server, day, h, c, e, *v) for (h, c, e), v in r.hour.items()],
        "agg_conn": [(server, day, h, c, n) for (h, c), n in r.conn.items()],
        "agg_dur": [(server, day, c, b, n) for (c, b), n in r.dur.items()],
        "agg_top": [
            (server, day, dim, name, m, b)
            for dim, t in trimmed.top.items()
            for name, (m, b) in t.items()
        ],
        "agg_spam": [(server, day, h, a, n) for (h, a), n in r.spam.items()],
        "agg_pop3": [(server, day, h, res, n) for (h, res), n in r.pop3.items()],
    }


def _insert_sql(table: str) -> str:
    cols = schema.columns(table)
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def _all_tables() -> list[str]:
    return [*schema.TABLES, *schema.ROLLUPS]


def retention(db: Database, newest: date, keep_days: int, pre_sql: str) -> int:
    """The user's SQL first (only with this option, as in ILA), then rows of days older
    than ``keep_days`` before ``newest`` go. Inside the caller's transaction."""
    for stmt in split_sql(pre_sql):
        db.conn.execute(stmt)
    cutoff = (newest - timedelta(days=keep_days)).isoformat()
    deleted = 0
    for t in _all_tables():
        cur = db.execute(f"DELETE FROM {t} WHERE lg_Date <= ?", (cutoff,))
        if t in schema.TABLES:
            deleted += max(0, cur.rowcount or 0)
    return deleted


def write_day(db: Database, day: str, targets: Iterable[tuple[str, str]], local: Sink,
              outs: list[Path], rolls: dict[tuple[str, str], Rollup], opts: Options,
              stats: dict[str, TableStat]) -> int:  # fmt: skip
    """Replace the day's rows for each (log type, server) in one transaction."""
    targets = sorted(set(targets))
    pg = db.engine == "postgresql"
    attached: list[str] = []
    deleted = 0
    if not pg:
        for i, out in enumerate(outs):
            db.execute(f"ATTACH DATABASE ? AS w{i}", (str(out),))
            attached.append(f"w{i}")
    try:
        with db.transaction():
            if opts.empty_first:
                for t in _all_tables():
                    db.execute(f"DELETE FROM {t}")
            if opts.keep_days:
                deleted = retention(db, date.fromisoformat(day), opts.keep_days,
                                    opts.pre_delete_sql)  # fmt: skip
            for service, server in targets:
                for t in (service, *ROLLUPS_OF[service]):
                    if t == "smtp":  # indexed by lg_TS ('YYYY-MM-DD hh:mm:ss'), not by day
                        db.execute("DELETE FROM smtp WHERE lg_TS >= ? AND lg_TS < ? AND "
                                   "lg_Server = ? AND lg_Date = ?",
                                   (day, day + "~", server, day))  # fmt: skip
                    else:
                        db.execute(f"DELETE FROM {t} WHERE lg_Server = ? AND lg_Date = ?",
                                   (server, day))  # fmt: skip
            for t in schema.TABLES:
                t0 = time.perf_counter()
                cols = ", ".join(schema.columns(t))
                rebuild = _rebuild_indexes(db, t, stats, opts.rebuild_rows)
                if pg:
                    for out in outs:
                        _copy(db, t, ", ".join(schema.row_columns(t, opts.raw)),
                              out / f"{t}.copy")  # fmt: skip
                else:
                    # the same columns in the same order: records are copied as they are
                    # (SQLite's transfer optimisation needs a bare SELECT *)
                    same = _sqlite_columns(db, "main", t) == schema.columns(t)
                    for w in attached:
                        if same and _sqlite_columns(db, w, t) == schema.columns(t):
                            db.execute(f"INSERT INTO {t} SELECT * FROM {w}.{t}")
                        else:
                            db.execute(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM {w}.{t}")
                db.executemany(insert_sql(t, opts.raw), local.rows[t])
                if rebuild:
                    with db.index_builds():
                        for iname, icols in rebuild:
                            db.execute(f"CREATE INDEX IF NOT EXISTS {iname} ON {t} ({icols})")
                if t in stats:
                    stats[t].seconds += time.perf_counter() - t0
            for (server, service), r in rolls.items():
                for t, rows in rollup_rows(server, day, r).items():
                    if t in ROLLUPS_OF.get(service, ()):
                        db.executemany(_insert_sql(t), rows)
    finally:
        for w in attached:
            db.execute(f"DETACH DATABASE {w}")
    return deleted


def _sqlite_columns(db: Database, schema_name: str, table: str) -> list[str]:
    return [str(r[1]) for r in db.execute(f"PRAGMA {schema_name}.table_info({table})")]


def _rebuild_indexes(db: Database, table: str, stats: dict[str, TableStat],
                     min_rows: int) -> list[tuple[str, str]]:  # fmt: skip
    """A table that receives at least ``min_rows`` rows, and at least as many as it already
    holds, loses its secondary indexes for the load; the caller builds them again after it
    (one sort per index instead of a B-tree update per row; 175,000 smtp rows on SQLite:
    0.8-1.1 s against 1.3-1.8 s). Inside the day's transaction, so a failed or cancelled
    import keeps the indexes. On PostgreSQL the DROP locks the table against readers until
    the commit; a table already holding more than the day (a database in use) is never
    touched. Returns the dropped (name, columns)."""
    stat = stats.get(table)
    incoming = stat.rows if stat is not None else 0
    if incoming < max(1, min_rows):
        return []
    held = db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT ?) AS held",
                      (incoming + 1,)).fetchone()[0]  # fmt: skip
    if held > incoming:
        return []
    dropped = []
    for iname, t, icols in schema.INDEXES:
        if t == table:
            db.execute(f"DROP INDEX IF EXISTS {iname}")
            dropped.append((iname, icols))
    return dropped


def _copy(db: Database, table: str, cols: str, path: Path) -> None:
    if not path.is_file() or path.stat().st_size == 0:
        return
    with db.conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp, \
            open(path, "rb") as fh:  # fmt: skip
        while block := fh.read(1 << 20):
            cp.write(block)


def record_run(db: Database, res: DayResult, status: str, detail: str) -> None:
    from datetime import datetime

    with db.transaction():
        db.execute(
            _insert_sql(schema.RUNS),
            (datetime.now().isoformat(timespec="seconds"), round(res.seconds, 3),
             ",".join(res.servers), res.day.isoformat(), status, detail),
        )  # fmt: skip


def last_runs(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    cols, rows = db.query(
        f"SELECT started, seconds, lg_Server, lg_Date, status, detail FROM {schema.RUNS} "
        "ORDER BY started DESC LIMIT ?",
        (limit,),
    )
    return [dict(zip(cols, r, strict=True)) for r in rows]
