"""Writes to the anti-spam database (quarantine, whitelist, blacklist, greylisting), all
through the action gate (spec section 3).

IceWarp writes ``antispam.db`` too. Every write here is one short ``BEGIN IMMEDIATE``
transaction on a fresh connection with a busy timeout, retried while the database is
locked (up to ``LOCK_WAIT_S``); no transaction is ever open while a dialog waits for the
user: plans hold row ids, and each step reads its row again when it runs.

Semantics (spec, CONFIRMED from IceWarp's docs): Deliver releases a held message without
listing the sender; Whitelist lists the sender and releases the message; Blacklist lists
the sender and drops the message; Delete drops it. A released message is moved into the
outgoing queue (ASSUMED: IceWarp delivers it from there); a dropped one goes to iwtui's
trash. Every step records how to undo it: the row's old values, and the file moves.
"""

from __future__ import annotations

import re
import shlex
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from iwtui.errors import BadInput, IwtuiError
from iwtui.icewarp import delphi
from iwtui.icewarp.actions import (
    ActionGate,
    Gone,
    Plan,
    StepResult,
    UndoRecord,
    cli_line,
    move_file,
    register_undo,
    targets_of,
    trash_rel,
)
from iwtui.icewarp.install import Install
from iwtui.icewarp.spam import lists as spam

LOCK_WAIT_S = 30.0  # how long a write keeps retrying a locked database
T = TypeVar("T")

SENDER_ACTIONS = {
    "quarantine": ("deliver", "whitelist", "blacklist", "delete"),
    "whitelist": ("blacklist", "delete"),
    "blacklist": ("whitelist", "delete"),
}
GREY_ACTIONS = ("authorize", "delete")
_SENDER = re.compile(r"^(?:[^@\s]+@)?[^@\s]+\.[^@\s.]+$|^[^@\s]+@[^@\s]+$")


def validate_owner(owner: str) -> str:
    """``*``, a domain or a user address, lower-cased; anything else is bad input."""
    owner = owner.strip()
    if owner == "*":
        return owner
    if "@" in owner:
        user, _, domain = owner.partition("@")
        if user and "." in domain and " " not in owner and "@" not in domain:
            return owner.lower()
    elif "." in owner and " " not in owner and not owner.startswith(".") and "*" not in owner:
        return owner.lower()
    raise BadInput(
        f"bad owner {owner!r}: use *, a domain (example.com) or a user (user@example.com)"
    )


def validate_sender(sender: str) -> str:
    """A sender as the From header gives it (user@domain), or a whole domain."""
    sender = sender.strip().strip("<>").lower()
    if not sender or len(sender) > 320 or not _SENDER.match(sender) or sender.startswith("."):
        raise BadInput(f"bad sender {sender!r}: use an address (user@example.com) or a domain")
    return sender


# --- the database ----------------------------------------------------------------------


def connect_rw(db: Path) -> sqlite3.Connection:
    if not db.exists():
        raise spam.SpamDbError(f"{db}: the anti-spam database does not exist")
    con = sqlite3.connect(db, timeout=spam.BUSY_TIMEOUT_S, isolation_level=None)
    con.execute(f"PRAGMA busy_timeout = {int(spam.BUSY_TIMEOUT_S * 1000)}")
    return con


def _locked(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def write(db: Path, fn: Callable[[sqlite3.Connection], T], *, wait_s: float = LOCK_WAIT_S) -> T:
    """Run ``fn`` in one short write transaction; retry while another process holds the
    lock (IceWarp, or a second iwtui); a corrupt database is a clear SpamDbError."""
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            with closing(connect_rw(db)) as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(con)
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
                return result
        except sqlite3.OperationalError as exc:
            if _locked(exc) and time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            raise spam.SpamDbError(f"{db}: {spam.explain(exc)}") from exc
        except sqlite3.DatabaseError as exc:
            raise spam.SpamDbError(f"{db}: {spam.explain(exc)}") from exc


TABLES = ("Senders", "Greylist")


def table_columns(con: sqlite3.Connection, table: str) -> list[str]:
    """The columns the table has (whatever IceWarp's version made), not a fixed list."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    cols = [str(r[1]) for r in con.execute(f"PRAGMA table_info({table})").fetchall()]
    if not cols:
        raise spam.SpamDbError(f"the anti-spam database has no {table} table")
    return cols


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_row(con: sqlite3.Connection, table: str, rowid: int, where: str = "",
             params: Sequence[Any] = ()) -> dict[str, Any] | None:  # fmt: skip
    """One row by ``rowid`` as {column: value}, every column it has, or None."""
    cols = table_columns(con, table)
    row = con.execute(
        f"SELECT rowid, {', '.join(_q(c) for c in cols)} FROM {table} WHERE rowid = ?{where}",
        (rowid, *params),
    ).fetchone()
    if row is None:
        return None
    return dict(zip(["rowid", *cols], row, strict=True))


def _restore(table: str, db: str, row: dict[str, Any]) -> UndoRecord:
    return {"op": "row-restore", "db": db, "table": table, "columns": list(row),
            "values": list(row.values())}  # fmt: skip


@register_undo("row-restore")
def _undo_restore(record: UndoRecord) -> None:
    table, columns = record["table"], record["columns"]
    if isinstance(columns, str):  # records of older iwtui: "SndID, SndOwner, ..."
        columns = [c.strip() for c in columns.split(",")]
    values = record["values"]
    if table not in TABLES or not isinstance(columns, list) or len(columns) != len(values):
        raise ValueError(f"bad undo record for {table}")

    def put(con: sqlite3.Connection) -> None:
        have = {c.lower() for c in table_columns(con, table)} | {"rowid"}
        cols = [str(c) for c in columns]
        if any(c.lower() not in have for c in cols):
            raise ValueError(f"bad undo record for {table}: unknown column")
        marks = ",".join("?" * len(values))
        con.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(_q(c) for c in cols)}) VALUES ({marks})", values)  # fmt: skip

    write(Path(record["db"]), put)


@register_undo("senders-delete")
def _undo_sender_row(record: UndoRecord) -> None:
    write(
        Path(record["db"]),
        lambda con: con.execute("DELETE FROM Senders WHERE rowid = ?", (int(record["rowid"]),)),
    )


def _rows_now(db: Path, table: str, ids: Sequence[str]) -> dict[str, list[UndoRecord]]:
    """The rows as they are now, as restore records: the plan's written-ahead intent
    (after a kill between a row's change and its journal line, undo puts it back)."""
    out: dict[str, list[UndoRecord]] = {}
    try:
        with closing(spam.connect_ro(db)) as con:
            for t in ids:
                row = read_row(con, table, int(t))
                if row is not None:
                    out[t] = [_restore(table, str(db), row)]
    except (sqlite3.Error, spam.SpamDbError, ValueError):
        return {}
    return out


def describe_rows(intent: Mapping[str, Sequence[UndoRecord]], table: str,
                  show_subject: bool = False) -> Callable[[str], str]:  # fmt: skip
    """A row as the lists show it, from the rows read for the plan's intent: the sender
    and owner (with the subject of a held message), the greylisted value."""

    def describe(target: str) -> str:
        rec = next(iter(intent.get(target, ())), None)
        if rec is None:
            return f"{target} (not found now)"
        row = dict(zip(rec["columns"], rec["values"], strict=False))
        if table == "Greylist":
            owner = spam.as_text(row.get("GLOwner"))
            return f"{target}: {spam.as_text(row.get('GLValue'))}" + (f"  ({owner})" if owner else "")  # fmt: skip
        text = f"{target}: {spam.as_text(row.get('SndEmail'))}  owner {spam.as_text(row.get('SndOwner'))}"  # fmt: skip
        subject = spam.as_text(row.get("SndSubject"))
        return text + (f"  {subject}" if show_subject and subject else "")

    return describe


def missing_rows(db: Path, table: str, ids: Sequence[int], list_name: str | None = None) -> list[int]:  # fmt: skip
    """The ``ids`` that are not rows of ``table`` now (of list ``list_name`` for Senders):
    a plan built on them would only say "gone" for ids nobody ever listed (issue 14)."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    where, params = ("", ()) if list_name is None else (" AND SndAuthorized = ?", (spam.LIST_CODES[list_name],))  # fmt: skip
    try:
        with closing(spam.connect_ro(db)) as con:
            return [i for i in ids if con.execute(
                f"SELECT 1 FROM {table} WHERE rowid = ?{where}", (i, *params)).fetchone() is None]  # fmt: skip
    except sqlite3.Error as exc:
        raise spam.SpamDbError(f"{db}: {spam.explain(exc)}") from exc


def listed_senders(db: Path, which: str, owner: str, senders: Sequence[str]) -> dict[str, int]:
    """{sender: row id} of the ``senders`` already on list ``which`` of ``owner``: adding
    them changes nothing (said as "already whitelisted", nothing written)."""
    code = spam.LIST_CODES[which]
    out: dict[str, int] = {}
    try:
        with closing(spam.connect_ro(db)) as con:
            for s in senders:
                row = con.execute(
                    "SELECT rowid FROM Senders WHERE lower(SndEmail) = ? AND lower(SndOwner) = ?"
                    " AND SndAuthorized = ?", (s.lower(), owner.lower(), code)).fetchone()  # fmt: skip
                if row is not None:
                    out[s] = int(row[0])
    except sqlite3.Error as exc:
        raise spam.SpamDbError(f"{db}: {spam.explain(exc)}") from exc
    return out


def _now_parts() -> tuple[float, int]:
    """Now as IceWarp stores it (and the simulator): the whole Delphi day; the time of
    day apart, in seconds."""
    now = datetime.now()
    return float(int(delphi.from_datetime(now))), now.hour * 3600 + now.minute * 60 + now.second


def add_sender(con: sqlite3.Connection, owner: str, sender: str, code: int) -> tuple[int, bool]:
    """(row id, added) for ``sender`` on list ``code`` of ``owner``; an existing row is kept."""
    cur = con.execute(
        "SELECT rowid FROM Senders WHERE lower(SndEmail) = ? AND lower(SndOwner) = ?"
        " AND SndAuthorized = ?",
        (sender, owner, code),
    )
    row = cur.fetchone()
    if row is not None:
        return int(row[0]), False
    on, at = _now_parts()
    domain = owner.split("@")[-1] if owner != "*" else ""
    cur = con.execute(spam.INSERT_SENDER, (owner, sender, code, None, domain, None, on, at))
    return int(cur.lastrowid or 0), True


# --- plans -----------------------------------------------------------------------------


def _cli(words: str, ids: Sequence[object], root: Path | None) -> str:
    return cli_line(f"{words} {' '.join(shlex.quote(str(i)) for i in ids)}", root)


def add_plan(
    install: Install, which: str, sender: str, owner: str, root: Path | None = None
) -> Plan:
    """Add a sender to the whitelist or blacklist of an owner (the seed's Add dialog)."""
    if which not in ("whitelist", "blacklist"):
        raise BadInput(f"Add works on the whitelist or the blacklist, not {which!r}")
    sender, owner = validate_sender(sender), validate_owner(owner)
    db = install.antispam_db
    code = spam.LIST_CODES[which]

    def step(target: str) -> StepResult:
        rowid, added = write(db, lambda con: add_sender(con, owner, sender, code))
        if not added:
            return StepResult(target, "done", f"already on the {which} of {owner} (row {rowid})")
        undo = [{"op": "senders-delete", "db": str(db), "rowid": rowid}]
        return StepResult(target, "done", f"{which} row {rowid}", undo)

    return Plan(
        action=f"spam add {which}",
        targets=(sender,),
        summary=f"Add {sender} to the {which} of {owner}",
        cli=cli_line(
            f"spam add --list {which} --sender {shlex.quote(sender)} --owner {shlex.quote(owner)}",
            root,
        ),
        step=step,
        undoable=True,
    )


def sender_plan(
    gate: ActionGate,
    install: Install,
    list_name: str,
    action: str,
    ids: Sequence[int],
    root: Path | None = None,
) -> Plan:
    """Deliver, whitelist, blacklist or delete rows of one list, by row id."""
    allowed = SENDER_ACTIONS.get(list_name, ())
    if action not in allowed:
        raise BadInput(
            f"{action} does not apply to the {list_name}; it offers: {', '.join(allowed)}"
        )
    db = install.antispam_db
    code = spam.LIST_CODES[list_name]
    outgoing = install.outgoing_dir

    def step(target: str) -> StepResult:
        rowid = int(target)
        undo: list[UndoRecord] = []
        held: list[Path] = []

        def change(con: sqlite3.Connection) -> dict[str, Any]:
            row = read_row(con, "Senders", rowid, " AND SndAuthorized = ?", (code,))
            if row is None:
                raise Gone(f"row {rowid} is no longer on the {list_name}")
            if list_name == "quarantine":  # refused (rolled back) before anything changes
                owner, folder = spam.as_text(row.get("SndOwner")), spam.as_text(row.get("SndFolder"))  # fmt: skip
                held.extend(spam.held_files(install.mail_dir, owner, folder, strict=True))
            if action == "delete" or (action == "deliver"):
                con.execute("DELETE FROM Senders WHERE rowid = ?", (rowid,))
            else:
                new = spam.WHITELIST if action == "whitelist" else spam.BLACKLIST
                con.execute(
                    "UPDATE Senders SET SndAuthorized = ?, SndFolder = NULL WHERE rowid = ?",
                    (new, rowid),
                )
            return row

        old = write(db, change)
        undo.append(_restore("Senders", str(db), old))
        detail = f"row {rowid} {action}"
        if list_name == "quarantine":
            release = action in ("deliver", "whitelist")
            for src in held:
                dst = (
                    _free(outgoing / src.name)
                    if release
                    else _free(gate.trash_dir("spam") / trash_rel(src, install.root) / src.name)
                )
                try:
                    move_file(src, dst)
                except (OSError, Gone, IwtuiError) as exc:  # the row changed already: keep its undo
                    return StepResult(target, "failed", f"{detail}; {src}: {exc}", undo)
                undo.append({"op": "move", "from": str(dst), "to": str(src)})
            where = "released to the outgoing queue" if release else "moved to the trash"
            detail += f"; {len(held)} held file(s) {where}" if held else "; no held file found"
        return StepResult(target, "done", detail, undo)

    verb = {"deliver": "Deliver", "whitelist": "Whitelist", "blacklist": "Blacklist",
            "delete": "Delete"}[action]  # fmt: skip
    what = {
        ("quarantine", "deliver"): "held message(s) (senders not listed)",
        ("quarantine", "whitelist"): "held message(s) and whitelist their senders",
        ("quarantine", "blacklist"): "held message(s): blacklist their senders, drop the messages",
        ("quarantine", "delete"): "held message(s) (to iwtui's trash)",
    }.get((list_name, action), f"{list_name} row(s)")
    targets = targets_of(str(i) for i in ids)
    intent = _rows_now(db, "Senders", targets)
    return Plan(
        action=f"spam {action}",
        targets=targets,
        summary=f"{verb} {len(targets)} {what}",
        cli=_cli(f"spam {action} --list {list_name}", targets, root),
        step=step,
        undoable=True,
        intent=intent,
        batch=1,
        describe=describe_rows(intent, "Senders", show_subject=list_name == "quarantine"),
    )


def _free(path: Path) -> Path:
    """``path``, or the first ``name.N`` beside it that does not exist."""
    out, n = path, 1
    while out.exists():
        out = path.with_name(f"{path.name}.{n}")
        n += 1
    return out


def greylist_plan(
    install: Install, action: str, ids: Sequence[int], root: Path | None = None
) -> Plan:
    """Authorize or delete greylist entries by id."""
    if action not in GREY_ACTIONS:
        raise BadInput(f"unknown greylist action {action!r}: use authorize or delete")
    db = install.antispam_db

    def step(target: str) -> StepResult:
        rowid = int(target)

        def change(con: sqlite3.Connection) -> dict[str, Any]:
            row = read_row(con, "Greylist", rowid)
            if row is None:
                raise Gone(f"greylist entry {rowid} is gone")
            if action == "delete":
                con.execute("DELETE FROM Greylist WHERE rowid = ?", (rowid,))
            else:
                now = delphi.from_datetime(datetime.now())
                con.execute(
                    "UPDATE Greylist SET GLStatus = 1, GLUpdated = ? WHERE rowid = ?", (now, rowid)
                )
            return row

        old = write(db, change)
        return StepResult(
            target, "done", f"entry {rowid} {action}d", [_restore("Greylist", str(db), old)]
        )

    targets = targets_of(str(i) for i in ids)
    intent = _rows_now(db, "Greylist", targets)
    verb = "Authorize" if action == "authorize" else "Delete"
    note = " (accepted when the sender retries)" if action == "authorize" else ""
    return Plan(
        action=f"greylist {action}",
        targets=targets,
        summary=f"{verb} {len(targets)} greylist entr{'y' if len(targets) == 1 else 'ies'}{note}",
        cli=_cli(f"greylist {action}", targets, root),
        step=step,
        undoable=True,
        intent=intent,
        batch=1,
        describe=describe_rows(intent, "Greylist"),
    )


def greylist_expired_plan(
    install: Install, expiry: spam.Expiry | None, root: Path | None = None,
    now: datetime | None = None,
) -> Plan:  # fmt: skip
    """Remove every expired greylist entry (the seed's Remove All Expired): the ids are
    frozen now; each row is checked again when it is deleted."""
    ids = spam.expired_greylist_ids(install.antispam_db, expiry, now)
    plan = greylist_plan(install, "delete", ids, root)
    n = len(plan.targets)
    return replace(
        plan,
        action="greylist remove-expired",
        summary=f"Remove {n} expired greylist entr{'y' if n == 1 else 'ies'} (undoable)",
        cli=cli_line("greylist remove-expired", root),
    )
