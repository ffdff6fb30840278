"""The anti-spam database ``<spam>/antispam.db`` (spec section 3).

Table ``Senders`` holds quarantine, whitelist and blacklist; table ``Greylist`` (ASSUMED)
the greylisting entries. Neither is promised an id column (the spec's Greylist has
``GLValue, GLOwner, GLStatus, GLCreated, GLUpdated`` only): rows are addressed by
``rowid`` (which is the id column where the table has an INTEGER PRIMARY KEY). IceWarp writes this database while we read it: every connection
has a busy timeout and transactions stay short. This module holds what the header and
``doctor`` need (schema check, counts); listing and actions build on it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from iwtui.errors import IwtuiError
from iwtui.icewarp import delphi, files

BUSY_TIMEOUT_S = 5.0

BLACKLIST, WHITELIST, QUARANTINE = 0, 1, 2
LIST_NAMES = {QUARANTINE: "quarantine", WHITELIST: "whitelist", BLACKLIST: "blacklist"}

SENDERS_COLUMNS = (
    "SndOwner",
    "SndEmail",
    "SndAuthorized",
    "SndFolder",
    "SndDomain",
    "SndSubject",
    "SndCreatedOn",
    "SndCreatedAt",
)
GREYLIST_COLUMNS = ("GLValue", "GLOwner", "GLStatus", "GLCreated", "GLUpdated")

# The shape iwtui (and its simulator) creates; IceWarp's own types are not public.
SCHEMA = """
CREATE TABLE IF NOT EXISTS Senders (
    SndID INTEGER PRIMARY KEY AUTOINCREMENT,
    SndOwner TEXT, SndEmail TEXT, SndAuthorized INTEGER, SndFolder TEXT,
    SndDomain TEXT, SndSubject TEXT, SndCreatedOn REAL, SndCreatedAt REAL
);
CREATE INDEX IF NOT EXISTS SndEmailIdx ON Senders (SndEmail);
CREATE INDEX IF NOT EXISTS SndAuthorizedIdx ON Senders (SndAuthorized);
CREATE TABLE IF NOT EXISTS Greylist (
    GLID INTEGER PRIMARY KEY AUTOINCREMENT,
    GLValue TEXT, GLOwner TEXT, GLStatus INTEGER, GLCreated REAL, GLUpdated REAL
);
CREATE INDEX IF NOT EXISTS GLValueIdx ON Greylist (GLValue);
"""


INSERT_SENDER = (
    "INSERT INTO Senders (SndOwner, SndEmail, SndAuthorized, SndFolder, SndDomain, SndSubject,"
    " SndCreatedOn, SndCreatedAt) VALUES (?,?,?,?,?,?,?,?)"
)
INSERT_GREYLIST = (
    "INSERT INTO Greylist (GLValue, GLOwner, GLStatus, GLCreated, GLUpdated) VALUES (?,?,?,?,?)"
)


class SpamDbError(IwtuiError):
    """The database is missing, corrupt, locked too long, or of another shape."""


@dataclass(frozen=True)
class SchemaReport:
    senders: bool
    greylist: bool
    missing_senders: tuple[str, ...] = ()
    missing_greylist: tuple[str, ...] = ()


def connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection with a busy timeout. Raises SpamDbError with a clear message."""
    if not path.exists():
        raise SpamDbError(
            f"{path}: not found (a server that keeps anti-spam data in MySQL is not supported yet)"
        )
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        con.execute("PRAGMA query_only = 1")
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise SpamDbError(f"{path}: {explain(exc)}") from exc
    return con


def explain(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return "not a readable SQLite database (corrupt or another format)"
    if "locked" in text or "busy" in text:
        return "locked by another process for too long; try again"
    return text


def _columns(con: sqlite3.Connection, table: str) -> set[str] | None:
    rows = con.execute(f"PRAGMA table_info({table})").fetchall()
    return {r[1] for r in rows} if rows else None


def schema(path: Path) -> SchemaReport:
    with closing(connect_ro(path)) as con:
        try:
            senders = _columns(con, "Senders")
            grey = _columns(con, "Greylist")
        except sqlite3.DatabaseError as exc:
            raise SpamDbError(f"{path}: {explain(exc)}") from exc
    miss_s = tuple(c for c in SENDERS_COLUMNS if senders is None or c not in senders)
    miss_g = tuple(c for c in GREYLIST_COLUMNS if grey is None or c not in grey)
    return SchemaReport(
        senders is not None and not miss_s, grey is not None and not miss_g, miss_s, miss_g
    )


def list_counts(path: Path) -> dict[str, int]:
    """Rows per list: quarantine, whitelist, blacklist."""
    out = dict.fromkeys(LIST_NAMES.values(), 0)
    with closing(connect_ro(path)) as con:
        try:
            rows = con.execute(
                "SELECT SndAuthorized, count(*) FROM Senders GROUP BY SndAuthorized"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise SpamDbError(f"{path}: {explain(exc)}") from exc
    for status, n in rows:
        name = LIST_NAMES.get(status) if isinstance(status, int) else None
        if name:
            out[name] += int(n)
    return out


def quarantine_folders(path: Path) -> list[tuple[str, str]]:
    """(owner, folder) of every quarantine row that names a folder."""
    with closing(connect_ro(path)) as con:
        try:
            rows = con.execute(
                "SELECT SndOwner, SndFolder FROM Senders WHERE SndAuthorized = 2 "
                "AND SndFolder IS NOT NULL AND SndFolder != ''"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise SpamDbError(f"{path}: {explain(exc)}") from exc
    return [(str(o or ""), str(f)) for o, f in rows]


def quarantine_dir(mail_dir: Path, owner: str, folder: str) -> Path | None:
    """``<mail>/<domain>/<user>/~spam/~quarantine/<folder>/`` for a user owner, else None
    (an owner or folder that is not a plain name, such as ``..@..``)."""
    user, at, domain = owner.partition("@")
    if not at or not user or not domain:
        return None
    try:
        for part in (domain, user, folder):
            files.check_name(part)
    except files.Unsafe:
        return None
    return mail_dir / domain / user / "~spam" / "~quarantine" / folder


def held_dir(mail_dir: Path, owner: str, folder: str) -> Path:
    """The quarantine folder of a row, built from the database's ``SndOwner`` and
    ``SndFolder`` through :func:`files.inside`: every part a plain name, no symlinked
    component (a linked mailbox or ``SndFolder``). Raises :class:`files.Unsafe`."""
    user, at, domain = owner.partition("@")
    if not at or not user or not domain:
        raise files.Unsafe(f"refused owner {owner!r}: not a user address")
    return files.inside(mail_dir, domain, user, "~spam", "~quarantine", folder,
                        what="quarantine folder")  # fmt: skip


def greylist_count(path: Path) -> int:
    with closing(connect_ro(path)) as con:
        try:
            return int(con.execute("SELECT count(*) FROM Greylist").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise SpamDbError(f"{path}: {explain(exc)}") from exc


# --- listing (aiosqlite: the screen awaits these; the CLI runs them with asyncio.run) ----

LIST_CODES = {name: code for code, name in LIST_NAMES.items()}
GREY_STATUSES = ("pending", "authorized", "expired")


@dataclass(frozen=True, slots=True)
class SenderRow:
    """One row of ``Senders``: a held message (quarantine) or a listed sender."""

    id: int
    list: str
    sender: str
    owner: str
    domain: str
    subject: str
    folder: str
    created: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "list": self.list,
            "sender": self.sender,
            "owner": self.owner,
            "domain": self.domain,
            "subject": self.subject,
            "folder": self.folder,
            "created": self.created.isoformat(timespec="seconds") if self.created else None,
        }


@dataclass(frozen=True, slots=True)
class GreyRow:
    id: int
    value: str
    owner: str
    status: str  # pending, authorized, expired
    created: datetime | None
    updated: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "value": self.value,
            "owner": self.owner,
            "status": self.status,
            "created": self.created.isoformat(timespec="seconds") if self.created else None,
            "updated": self.updated.isoformat(timespec="seconds") if self.updated else None,
        }


@dataclass(frozen=True)
class Expiry:
    """When greylist entries expire (config: C_AS_SpamGLPending / C_AS_SpamGLAuthorized)."""

    pending_hours: float = 24.0
    authorized_days: float = 36.0


def _like(text: str) -> str:
    """A case-insensitive substring pattern for LIKE ... ESCAPE '\\'."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


@asynccontextmanager
async def _read(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    if not path.exists():
        raise SpamDbError(
            f"{path}: not found (a server that keeps anti-spam data in MySQL is not supported yet)"
        )
    try:
        con = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise SpamDbError(f"{path}: {explain(exc)}") from exc
    try:
        con.text_factory = _decode  # a row with bad UTF-8 must not stop the listing
        yield con
    except sqlite3.Error as exc:
        raise SpamDbError(f"{path}: {explain(exc)}") from exc
    finally:
        await con.close()


def _where(filters: list[tuple[str, str]]) -> tuple[str, list[object]]:
    """``AND`` clauses for ``(column, text)`` filters: the column contains the text, in
    any case (an empty text filters nothing)."""
    sql: list[str] = []
    params: list[object] = []
    for column, value in filters:
        value = value.strip()
        if value:
            sql.append(f"lower({column}) LIKE lower(?) ESCAPE '\\'")
            params.append(_like(value))
    return (" AND " + " AND ".join(sql)) if sql else "", params


async def list_senders(
    path: Path,
    list_name: str,
    *,
    sender: str = "",
    owner: str = "",
    domain: str = "",
    max_items: int = 0,
) -> tuple[list[SenderRow], int]:
    """Rows of one list, newest first, filtered as the seed's fields (a substring, any
    case); and how many match in all (``max_items`` 0: every row)."""
    code = LIST_CODES.get(list_name)
    if code is None:
        raise SpamDbError(f"unknown list {list_name!r}: use quarantine, whitelist or blacklist")
    where, params = _where([("SndEmail", sender), ("SndOwner", owner), ("SndDomain", domain)])
    limit = f" LIMIT {int(max_items)}" if max_items > 0 else ""
    async with _read(path) as con:
        cur = await con.execute(
            "SELECT rowid, SndEmail, SndOwner, SndDomain, SndSubject, SndFolder, SndCreatedOn,"
            f" SndCreatedAt FROM Senders WHERE SndAuthorized = ?{where}"
            f" ORDER BY SndCreatedOn DESC, rowid DESC{limit}",
            (code, *params),
        )
        raw = list(await cur.fetchall())
        if max_items > 0 and len(raw) == max_items:
            cur = await con.execute(
                f"SELECT count(*) FROM Senders WHERE SndAuthorized = ?{where}", (code, *params)
            )
            total = int((await cur.fetchone() or (0,))[0])
        else:
            total = len(raw)
    rows = [
        SenderRow(
            int(i),
            list_name,
            as_text(e),
            as_text(o),
            as_text(d),
            as_text(s),
            as_text(f),
            delphi.combine(on, at),
        )
        for i, e, o, d, s, f, on, at in raw
    ]
    return rows, total


def _num(value: object) -> object:
    """A stored number, or its text when it was stored as bytes (text_factory)."""
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def expired_clause(expiry: Expiry | None, now: datetime | None) -> tuple[str, tuple[float, float]]:
    """The SQL that is true for an expired greylist row, and its two parameters: a
    pending entry older than the pending expiry, an authorized one not seen for the
    authorized expiry."""
    exp = expiry or Expiry()
    now_d = delphi.from_datetime(now or datetime.now())
    sql = (
        "coalesce((coalesce(GLStatus, 0) != 1 AND GLCreated < ?) OR"
        " (GLStatus = 1 AND coalesce(GLUpdated, GLCreated) < ?), 0)"
    )
    return sql, (now_d - exp.pending_hours / 24, now_d - exp.authorized_days)


def expired_greylist_ids(path: Path, expiry: Expiry | None, now: datetime | None = None) -> list[int]:  # fmt: skip
    """The ids of every expired greylist entry (what Remove All Expired removes)."""
    sql, params = expired_clause(expiry, now)
    try:
        with closing(connect_ro(path)) as con:
            return [int(r[0]) for r in con.execute(
                f"SELECT rowid FROM Greylist WHERE {sql} ORDER BY rowid", params)]  # fmt: skip
    except sqlite3.Error as exc:
        raise SpamDbError(f"{path}: {explain(exc)}") from exc


async def list_greylist(
    path: Path,
    *,
    status: str = "",
    owner: str = "",
    value: str = "",
    max_items: int = 0,
    expiry: Expiry | None = None,
    now: datetime | None = None,
) -> tuple[list[GreyRow], int]:
    """Greylist rows, newest first. Status is computed: a pending entry older than the
    pending expiry, or an authorized one not seen for the authorized expiry, is expired."""
    if status and status not in GREY_STATUSES:
        raise SpamDbError(f"unknown status {status!r}: use pending, authorized or expired")
    expired_sql, (pend_limit, auth_limit) = expired_clause(expiry, now)
    where, params = _where([("GLOwner", owner), ("GLValue", value)])
    sel: list[object] = [pend_limit, auth_limit]
    if status == "expired":
        where += f" AND {expired_sql}"
        params += [pend_limit, auth_limit]
    elif status:
        where += f" AND coalesce(GLStatus = 1, 0) = ? AND NOT {expired_sql}"
        params += [int(status == "authorized"), pend_limit, auth_limit]
    limit = f" LIMIT {int(max_items)}" if max_items > 0 else ""
    async with _read(path) as con:
        cur = await con.execute(
            f"SELECT rowid, GLValue, GLOwner, GLStatus, GLCreated, GLUpdated, {expired_sql}"
            f" FROM Greylist WHERE 1{where} ORDER BY GLCreated DESC, rowid DESC{limit}",
            (*sel, *params),
        )
        raw = list(await cur.fetchall())
        if max_items > 0 and len(raw) == max_items:
            cur = await con.execute(f"SELECT count(*) FROM Greylist WHERE 1{where}", params)
            total = int((await cur.fetchone() or (0,))[0])
        else:
            total = len(raw)
    rows = []
    for i, v, o, st, created, updated, expired in raw:
        name = "expired" if expired else ("authorized" if _int(st) == 1 else "pending")
        rows.append(GreyRow(int(i), as_text(v), as_text(o), name,
                            delphi.to_datetime(_num(created)), delphi.to_datetime(_num(updated))))  # fmt: skip
    return rows, total


def _int(value: object) -> int | None:
    value = _num(value)
    if isinstance(value, int | float | str):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def held_files(mail_dir: Path, owner: str, folder: str, *, strict: bool = False) -> list[Path]:
    """The quarantined message file(s) of a row: the regular files of its folder.
    ``strict`` (actions): a folder reached through a link, an owner or folder that is
    not a plain name, or a held file that is a link raises :class:`files.Unsafe` with
    the reason; otherwise (display) such a row shows no file."""
    if not folder:
        return []
    try:
        where = held_dir(mail_dir, owner, folder)
    except files.Unsafe:
        if strict:
            raise
        return []
    out: list[Path] = []
    try:
        with os.scandir(where) as it:
            entries = sorted(it, key=lambda e: e.name)
    except FileNotFoundError:
        return []
    except OSError as exc:
        if strict:
            raise files.Unsafe(f"refused {where}: {exc.strerror or exc}") from exc
        return []
    for e in entries:
        if e.name.startswith("."):
            continue
        if e.is_symlink():
            if strict:
                raise files.Unsafe(f"refused held file {e.path}: it is a symbolic link")
            continue
        if e.is_file(follow_symlinks=False):
            out.append(Path(e.path))
    return out


def owners(mail_dir: Path, limit: int = 20000) -> list[str]:
    """What an Owner can be, from the mail store: ``*``, every domain, every user address
    (``<mail>/<domain>/<user>/``), at most ``limit`` (the seed's "Select Item" list)."""
    out = ["*"]
    try:
        domains = [d for d in os.scandir(mail_dir) if d.is_dir() and "." in d.name
                   and not d.name.startswith(("_", ".", "~"))]  # fmt: skip
    except OSError:
        return out
    for d in sorted(domains, key=lambda e: e.name):
        out.append(d.name)
        try:
            users = sorted(u.name for u in os.scandir(d.path) if u.is_dir() and not u.name.startswith(("_", ".", "~")))  # fmt: skip
        except OSError:
            continue
        out += [f"{u}@{d.name}" for u in users]
        if len(out) >= limit:
            return out[:limit]
    return out
