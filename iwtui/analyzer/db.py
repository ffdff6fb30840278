"""One connection to the analyzer database: SQLite (a path, the default) or PostgreSQL
(a ``postgresql://`` URL, psycopg 3). Our own SQL is written with ``?`` placeholders and
translated for psycopg; the user's SQL is passed through untouched.

Read-only connections (custom SQL): SQLite opens the file with ``mode=ro`` and sets
``PRAGMA query_only``; PostgreSQL runs every statement in a ``READ ONLY`` transaction that
is rolled back. A write is refused by the engine itself, not by guessing at the text.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from iwtui.analyzer import schema
from iwtui.errors import BadInput, IwtuiError

_URL = re.compile(r"^postgres(?:ql)?(?:\+\w+)?://", re.IGNORECASE)
_PW = re.compile(r"(://[^:/@]*:)[^@]*@")


class DbError(IwtuiError):
    """The database refused or failed: one line, exit 1."""


class WriteRefused(BadInput):
    """A write on the read-only connection of custom SQL (exit 2)."""


def is_postgres(url: str) -> bool:
    return bool(_URL.match(url))


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return _PW.sub(r"\1***@", url)


def _sqlite_path(url: str) -> Path:
    if url.startswith("sqlite:///"):
        url = url[len("sqlite://") :]
    elif url.startswith("sqlite:"):
        url = url[len("sqlite:") :]
    return Path(url).expanduser()


CACHE_KB = 65536  # the page cache of every connection (reports read through it)
SORT_RUN_KB = 2000  # an index build's sort runs (Database.index_builds)
SORT_THREADS = max(1, min(4, os.cpu_count() or 1))


class Database:
    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self.engine = "postgresql" if is_postgres(url) else "sqlite"
        self._lock = threading.Lock()
        self.conn: Any
        try:
            if self.engine == "postgresql":
                import psycopg

                self.conn = psycopg.connect(url, autocommit=False, connect_timeout=10)
                if read_only:
                    self.conn.read_only = True
            else:
                path = _sqlite_path(url)
                if read_only:
                    if not path.is_file():
                        raise DbError(f"no analyzer database at {path} (run `iwtui analyzer "
                                      "import` first)")  # fmt: skip
                    self.conn = sqlite3.connect(
                        f"file:{path}?mode=ro", uri=True, check_same_thread=False
                    )
                    self.conn.execute("PRAGMA query_only=ON")
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self.conn = sqlite3.connect(path, check_same_thread=False,
                                                isolation_level=None)  # fmt: skip
                    self.conn.execute("PRAGMA journal_mode=WAL")
                    self.conn.execute("PRAGMA synchronous=NORMAL")
                    self.conn.execute("PRAGMA busy_timeout=10000")
                self.conn.execute(f"PRAGMA cache_size=-{CACHE_KB}")
        except DbError:
            raise
        except Exception as exc:
            raise DbError(f"cannot open the analyzer database {redact(url)}: "
                          f"{_one_line(exc)}") from exc  # fmt: skip

    @property
    def label(self) -> str:
        return redact(self.url)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.engine == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.engine == "postgresql":
            with self.conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        else:
            self.conn.executemany(sql, rows)

    def query(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Our own read: columns (schema spelling) and rows."""
        cur = self.conn.cursor()
        try:
            cur.execute(self._sql(sql), params)
            cols = [schema.SPELLING.get(d[0].lower(), d[0]) for d in cur.description or ()]
            rows = [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()
        if self.engine == "postgresql" and self.conn.info.transaction_status != 0:
            self.conn.rollback()
        return cols, rows

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""
        if self.engine == "postgresql":
            with self.conn.transaction():
                yield
            self.conn.commit()
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def index_builds(self) -> Iterator[None]:
        """Settings for CREATE INDEX on a bulk load, inside the caller's transaction.

        SQLite sorts an index's keys in runs of at most ``cache_size`` bytes: with the
        connection's 64 MB cache one run holds the whole day and is sorted as one list,
        which misses the CPU caches; 2 MB runs, sorted by ``threads`` helper threads and
        merged, build the five smtp indexes of a 1 GB day in 2.7 s instead of 5.1 s
        (docs/analyzer.md). PostgreSQL is given more sort memory for the build (SET
        LOCAL: until the transaction ends)."""
        if self.engine == "postgresql":
            self.conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            yield
            return
        self.conn.execute(f"PRAGMA threads={SORT_THREADS}")
        self.conn.execute(f"PRAGMA cache_size=-{SORT_RUN_KB}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA cache_size=-{CACHE_KB}")
            self.conn.execute("PRAGMA threads=0")

    def ensure_schema(self) -> None:
        if self.engine == "postgresql":
            with self.conn.transaction():
                for stmt in schema.ddl(self.engine):
                    self.conn.execute(stmt)
            self.conn.commit()
        else:
            for stmt in schema.ddl(self.engine):
                self.conn.execute(stmt)

    def tables(self) -> list[str]:
        if self.engine == "postgresql":
            _c, rows = self.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "current_schema() ORDER BY 1"
            )
        else:
            _c, rows = self.query("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1")
        return [str(r[0]) for r in rows]

    def interrupt(self) -> None:
        """Cancel the running statement (from another thread)."""
        with contextlib.suppress(Exception):
            if self.engine == "postgresql":
                self.conn.cancel_safe()
            else:
                self.conn.interrupt()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def connect(url: str, *, read_only: bool = False, create: bool = True) -> Database:
    db = Database(url, read_only=read_only)
    if create and not read_only:
        try:
            db.ensure_schema()
        except Exception as exc:
            db.close()
            raise DbError(f"cannot create the analyzer tables in {db.label}: "
                          f"{_one_line(exc)}") from exc  # fmt: skip
    return db
