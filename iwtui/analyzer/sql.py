"""Custom SQL on a read-only connection: paged, cancellable, remembered.

The engine refuses writes (SQLite ``mode=ro`` + ``query_only`` and an authorizer that
denies ATTACH; PostgreSQL ``SET TRANSACTION READ ONLY``); a refusal is a
:class:`~iwtui.analyzer.db.WriteRefused` (exit 2 in the CLI).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from iwtui.analyzer.db import Database, DbError, WriteRefused
from iwtui.errors import BadInput

PAGE = 500
_WRITE_WORDS = ("readonly", "read-only", "read only", "query_only", "not authorized")


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    truncated: bool = False
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": [[_plain(v) for v in r] for r in self.rows],
            "count": len(self.rows),
            "truncated": self.truncated,
            "seconds": round(self.seconds, 3),
        }


def _plain(v: Any) -> Any:
    if isinstance(v, (bytes, memoryview)):
        return f"<{len(bytes(v))} bytes>"
    if isinstance(v, (int, float, str)) or v is None:
        return v
    return str(v)


def _deny_attach(action: int, *_args: Any) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def open_read_only(url: str) -> Database:
    db = Database(url, read_only=True)
    if db.engine == "sqlite":
        db.conn.set_authorizer(_deny_attach)
    return db


def _refusal(exc: BaseException) -> BaseException:
    text = " ".join(str(exc).split())
    if any(w in text.lower() for w in _WRITE_WORDS) or type(exc).__name__ in (
        "ReadOnlySqlTransaction", "InsufficientPrivilege"
    ):  # fmt: skip
        return WriteRefused(f"refused: the analyzer SQL is read-only ({text})")
    if "one statement at a time" in text or "multiple commands" in text:
        return BadInput("one statement at a time, please")
    return DbError(f"SQL failed: {text}")


class Query:
    """One statement, read page by page; ``cancel()`` from another thread stops it."""

    def __init__(self, db: Database, text: str) -> None:
        self.db, self.text = db, text.strip().rstrip(";")
        self._cancelled = threading.Event()
        self._cur: Any = None
        self.columns: list[str] = []

    def pages(self, size: int = PAGE) -> Iterator[list[tuple[Any, ...]]]:
        if not self.text:
            raise BadInput("no SQL given")
        try:
            self._cur = self.db.conn.cursor()
            if self.db.engine == "postgresql":
                # a prepared statement is one statement: no "COMMIT; ..." out of the
                # READ ONLY transaction psycopg opens (connection.read_only)
                self._cur.execute(self.text, prepare=True)
            else:
                self._cur.execute(self.text)
            self.columns = [d[0] for d in self._cur.description or ()]
            while not self._cancelled.is_set():
                rows = self._cur.fetchmany(size)
                if not rows:
                    break
                yield [tuple(r) for r in rows]
        except (BadInput, DbError):
            raise
        except Exception as exc:
            if self._cancelled.is_set():
                raise DbError("query cancelled") from exc
            raise _refusal(exc) from exc
        finally:
            if self.db.engine == "postgresql":
                with contextlib.suppress(Exception):
                    self.db.conn.rollback()
        if self._cancelled.is_set():
            raise DbError("query cancelled")

    def cancel(self) -> None:
        self._cancelled.set()
        self.db.interrupt()


def run_sql(db: Database, text: str, limit: int = 10_000) -> Result:
    import time

    t0 = time.perf_counter()
    q = Query(db, text)
    res = Result([])
    for page in q.pages():
        res.rows += page
        if len(res.rows) >= limit:
            res.rows = res.rows[:limit]
            res.truncated = True
            break
    res.columns = q.columns
    res.seconds = time.perf_counter() - t0
    return res


class History:
    """Statements run from the console or the CLI, newest last (a JSON line each)."""

    def __init__(self, path: Path, keep: int = 200) -> None:
        self.path, self.keep = path, keep

    def add(self, text: str) -> None:
        items = [h for h in self.items() if h["sql"] != text][-(self.keep - 1) :]
        items.append({"time": datetime.now().isoformat(timespec="seconds"), "sql": text})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".part")
        tmp.write_text("".join(json.dumps(h) + "\n" for h in items), encoding="utf-8")
        tmp.replace(self.path)

    def items(self) -> list[dict[str, str]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                h = json.loads(line)
            except ValueError:
                continue
            if isinstance(h, dict) and isinstance(h.get("sql"), str):
                out.append({"time": str(h.get("time", "")), "sql": h["sql"]})
        return out
