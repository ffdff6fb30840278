"""The anti-spam database ``<spam>/antispam.db`` (spec section 3).

Table ``Senders`` holds quarantine, whitelist and blacklist; table ``Greylist`` (ASSUMED)
the greylisting entries. IceWarp writes this database while we read it: every connection
has a busy timeout and transactions stay short. This module holds what the header and
``doctor`` need (schema check, counts); listing and actions build on it.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from iwtui.errors import IwtuiError

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
        raise SpamDbError(f"{path}: {_explain(exc)}") from exc
    return con


def _explain(exc: sqlite3.Error) -> str:
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
            raise SpamDbError(f"{path}: {_explain(exc)}") from exc
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
            raise SpamDbError(f"{path}: {_explain(exc)}") from exc
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
            raise SpamDbError(f"{path}: {_explain(exc)}") from exc
    return [(str(o or ""), str(f)) for o, f in rows]


def quarantine_dir(mail_dir: Path, owner: str, folder: str) -> Path | None:
    """``<mail>/<domain>/<user>/~spam/~quarantine/<folder>/`` for a user owner, else None."""
    user, at, domain = owner.partition("@")
    if not at or not user or not domain or "/" in owner or "/" in folder or ".." in folder:
        return None
    return mail_dir / domain / user / "~spam" / "~quarantine" / folder


def greylist_count(path: Path) -> int:
    with closing(connect_ro(path)) as con:
        try:
            return int(con.execute("SELECT count(*) FROM Greylist").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise SpamDbError(f"{path}: {_explain(exc)}") from exc
