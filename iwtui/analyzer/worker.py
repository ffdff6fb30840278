"""Parsing byte ranges of day logs, in a helper process or in-process.

A helper is started as ``python -P -m iwtui.analyzer.worker JOBFILE``: the job file (a
pickle written by the importer, which started it) lists ranges; rows go to one scratch
file per table (a SQLite file or PostgreSQL ``COPY`` text), the rest (counts, rollups,
the lines of sessions cut by a range's edges) to ``JOBFILE.out``. Progress is printed as
``P <bytes>`` lines on stdout.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iwtui.analyzer.parse import Rollup, Row, parser_for
from iwtui.analyzer.schema import TABLES, row_columns

BLOCK = 8 * 1024 * 1024
BATCH = 20_000


@dataclass(frozen=True)
class Piece:
    path: str
    start: int
    end: int


@dataclass(frozen=True)
class Job:
    service: str
    day: str
    server: str
    raw: bool
    first: bool  # the range starts the day's stream
    last: bool  # the range ends it
    pieces: tuple[Piece, ...]
    key: tuple[str, str, str, int]  # (service, server, day, range number)


@dataclass
class JobResult:
    key: tuple[str, str, str, int]
    lines: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    rollup: Rollup = field(default_factory=Rollup)
    # for the stitch (SessionParser: tails, fresh, pending): sessions open at the range's
    # end by thread id, and what a range that does not start the day saw of earlier ones
    heads: dict[Any, list[bytes]] = field(default_factory=dict)
    tails: list[tuple[Any, list[bytes], int]] = field(default_factory=list)
    fresh: list[Any] = field(default_factory=list)
    pending: dict[Any, list[bytes]] = field(default_factory=dict)


def open_regular(path: str) -> int:
    """A descriptor on a regular file, links not followed, never blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path}: not a regular file")
    return fd


def read_blocks(piece: Piece) -> Any:
    """Whole lines of one piece, block by block, as ``(data, end, done)``: the lines are
    ``data[:end]`` (never decoded here, never copied: a cut line is read again with the
    next block), ``done`` the bytes of the piece read so far."""
    fd = open_regular(piece.path)
    try:
        pos = piece.start
        while pos < piece.end:
            data = os.pread(fd, min(BLOCK, piece.end - pos), pos)
            if not data:
                break
            end = len(data)
            if pos + end < piece.end:
                cut = data.rfind(b"\n") + 1
                if cut > 0:
                    end = cut
            pos += end
            yield data, end, pos - piece.start
    finally:
        os.close(fd)


class Sink:
    """Rows kept in lists (in-process imports and stitching): a parser appends to
    ``rows[table]`` itself."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Row]] = {t: [] for t in TABLES}

    def add_many(self, table: str, rows: list[Row]) -> None:
        self.rows[table] += rows

    def close(self) -> None:
        pass


def insert_sql(table: str, raw: bool) -> str:
    """The INSERT of the import's rows (``schema.row_columns``: what is left out is NULL)."""
    cols = row_columns(table, raw)
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


class SqliteSink(Sink):
    """Rows into a scratch SQLite file (no indexes; every column of the schema, so the
    importer's ``INSERT INTO t SELECT * FROM w.t`` copies records as they are)."""

    def __init__(self, path: Path, raw: bool) -> None:
        super().__init__()
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        for name, cols in TABLES.items():
            self.db.execute(f"CREATE TABLE IF NOT EXISTS {name} "
                            f"({', '.join(f'{c} {t}' for c, t in cols)})")  # fmt: skip
        self.sql = {t: insert_sql(t, raw) for t in TABLES}

    def add_many(self, table: str, rows: list[Row]) -> None:
        self.db.executemany(self.sql[table], rows)

    def close(self) -> None:
        self.db.commit()
        self.db.close()


def copy_text(value: Any) -> str:
    """One field in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, str):
        text: str = value
        if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
            text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            text = text.replace("\r", "\\r")
        return text.replace("\x00", "")
    return str(value)


def copy_line(row: Row) -> str:
    """One row in COPY text format, without its newline: ``copy_text`` of each field, joined
    by tabs. The common row (no backslash, tab, newline, CR or NUL in its text, no bytes)
    is joined in one pass; any other falls back to ``copy_text`` field by field."""
    line = "\t".join([v if type(v) is str else "\\N" if v is None else str(v) for v in row])
    if (
        line.count("\\") == row.count(None)
        and line.count("\t") == len(row) - 1
        and "\n" not in line
        and "\r" not in line
        and "\x00" not in line
        and bytes not in map(type, row)
    ):
        return line
    return "\t".join(map(copy_text, row))


class CopySink(Sink):
    """Rows as COPY text, one file per table; the importer streams them to PostgreSQL."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.files = {t: open(folder / f"{t}.copy", "a", encoding="utf-8") for t in TABLES}  # noqa: SIM115

    def add_many(self, table: str, rows: list[Row]) -> None:
        cl = copy_line
        self.files[table].write("".join([cl(r) + "\n" for r in rows]))

    def close(self) -> None:
        for table in self.rows:
            self.files[table].close()


def run_job(job: Job, sink: Sink, progress: Any = None) -> JobResult:
    res = JobResult(job.key)
    counts: dict[str, int] = {t: 0 for t in TABLES}
    out: dict[str, list[Row]] = {t: [] for t in TABLES}

    def drain(least: int) -> None:
        for table, rows in out.items():
            if len(rows) >= least:
                counts[table] += len(rows)
                sink.add_many(table, rows)
                out[table] = []  # the parser's own dict: it appends to the new list

    p = parser_for(job.service, job.day, job.server, out, raw=job.raw, first=job.first,
                   last=job.last)  # fmt: skip
    done = 0
    for piece in job.pieces:
        base = done
        for data, end, pos in read_blocks(piece):
            p.feed(data, end)
            drain(BATCH)
            done = base + pos
            if progress is not None:
                progress(done)
    res.heads = p.finish()
    drain(1)
    res.tails, res.fresh, res.pending = p.tails, p.fresh, p.pending
    res.lines = p.lines
    res.rollup = p.rollup.trimmed(4 * 500)
    res.rows = {t: n for t, n in counts.items() if n}
    return res


def main(argv: list[str]) -> int:
    jobfile = Path(argv[0])
    spec = pickle.loads(jobfile.read_bytes())
    jobs: list[Job] = spec["jobs"]
    raw = any(j.raw for j in jobs)
    sink: Sink = (
        SqliteSink(Path(spec["out"]), raw)
        if spec["sink"] == "sqlite"
        else CopySink(Path(spec["out"]))
    )
    results = []
    total = 0
    for job in jobs:

        def progress(n: int, base: int = total) -> None:
            print(f"P {base + n}", flush=True)

        results.append(run_job(job, sink, progress))
        total += sum(p.end - p.start for p in job.pieces)
    sink.close()
    tmp = jobfile.with_suffix(".part")
    tmp.write_bytes(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(tmp, jobfile.with_suffix(".out"))
    return 0


if __name__ == "__main__":
    # Run the module's own copy, so pickled results name iwtui.analyzer.worker, not __main__.
    from iwtui.analyzer import worker as _self

    sys.exit(_self.main(sys.argv[1:]))
