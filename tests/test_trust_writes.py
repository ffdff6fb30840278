"""Issue 9, sections 2 (write side) and 6: root never follows a link it did not expect,
paths from data stay inside their folder, and the real formats (rowid, the server's own
name in a DSN)."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import errno
import os
import sqlite3
from contextlib import closing
from email import policy
from pathlib import Path

import pytest

from iwtui.icewarp.actions import ActionGate
from iwtui.icewarp.files import Unsafe
from iwtui.icewarp.install import Install, discover
from iwtui.icewarp.queue import actions as queue_actions
from iwtui.icewarp.queue import scanning
from iwtui.icewarp.queue.messages import QueueItem
from iwtui.icewarp.spam import actions as spam_actions
from iwtui.icewarp.spam import lists as spam
from iwtui.simulator.tree import write_path_dat

SECRET = b"root:$6$very-secret-hash:19000:0:99999:7:::\n"


def _gate(install: Install, tmp_path: Path) -> ActionGate:
    return ActionGate(tmp_path / "state", read_only=False, roots=[install.root])


def _retry_item(install: Install) -> QueueItem:
    return next(i for i in scanning.scan(install, ("retry",)).values() if i.sender)


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def test_bounce_of_a_file_swapped_for_a_symlink_at_the_prompt_leaks_nothing(
    sim_install: Install, tmp_path: Path
) -> None:
    secret = tmp_path / "shadow"
    secret.write_bytes(SECRET)
    gate = _gate(sim_install, tmp_path)
    item = _retry_item(sim_install)
    plan = queue_actions.bounce_plan(gate, sim_install, [item], "mx.example.test")
    before = set(sim_install.outgoing_dir.iterdir())
    item.path.unlink()  # at the [y/N] prompt, the queue file becomes a link to a secret
    item.path.symlink_to(secret)
    out = gate.execute(plan)
    assert out.failed == 1 and "symbolic link" in out.results[0].detail
    assert set(sim_install.outgoing_dir.iterdir()) == before  # no DSN at all
    assert SECRET not in _all_bytes(sim_install.outgoing_dir)
    assert SECRET not in _all_bytes(tmp_path / "state")
    assert item.path.is_symlink()  # left as it was


def test_bounce_of_a_file_replaced_since_listed_does_nothing(
    sim_install: Install, tmp_path: Path
) -> None:
    gate = _gate(sim_install, tmp_path)
    item = _retry_item(sim_install)
    plan = queue_actions.bounce_plan(gate, sim_install, [item], "mx.example.test")
    keep = item.path.with_name("keep-the-inode")
    os.rename(item.path, keep)  # another file under the same name, another inode
    item.path.write_bytes(b"From: someone@else.test\r\n\r\nnot the listed message")
    before = set(sim_install.outgoing_dir.iterdir())
    out = gate.execute(plan)
    assert out.failed == 1 and "changed since listed" in out.results[0].detail
    assert set(sim_install.outgoing_dir.iterdir()) == before
    assert item.path.read_bytes().endswith(b"not the listed message")
    assert not list(item.path.parent.glob(".*iwtui-claim*"))  # the claim was given back


def _cross_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rename between two folders fails with EXDEV (the trash on another disk);
    a rename inside one folder (a claim) still works."""
    real = os.rename

    def rename(a: str | Path, b: str | Path) -> None:
        if os.path.dirname(os.path.abspath(a)) != os.path.dirname(os.path.abspath(b)):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(a, b)

    monkeypatch.setattr(os, "rename", rename)


def test_trash_on_another_filesystem_copies_through_the_descriptor_never_a_link(
    sim_install: Install, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "shadow"
    secret.write_bytes(SECRET)
    items = sorted(scanning.scan(sim_install, ("retry",)).values(), key=lambda i: i.id)[:2]
    plain, linked = items
    original = plain.path.read_bytes()
    gate = _gate(sim_install, tmp_path)
    plan = queue_actions.delete_plan(gate, items, None, sim_install)
    linked.path.unlink()
    linked.path.symlink_to(secret)
    _cross_device(monkeypatch)
    out = gate.execute(plan)
    assert [r.status for r in out.results] == ["done", "failed"]
    assert "symbolic link" in out.results[1].detail
    assert SECRET not in _all_bytes(tmp_path / "state")
    trashed = Path(out.results[0].detail)
    assert trashed.read_bytes() == original and not plain.path.exists()
    # a link planted in the trash is not copied back as a regular file either
    trashed.unlink()
    trashed.symlink_to(secret)
    undo = gate.undo()
    assert undo.failed == 1 and "symbolic link" in undo.results[0].detail
    assert not plain.path.exists()
    leftovers = [p for p in tmp_path.rglob("*") if "iwtui-tmp" in p.name or "claim" in p.name]
    assert leftovers == []


def test_cross_filesystem_delete_and_undo_restore_a_regular_file(
    sim_install: Install, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = _retry_item(sim_install)
    original, mode = item.path.read_bytes(), os.stat(item.path).st_mode
    gate = _gate(sim_install, tmp_path)
    _cross_device(monkeypatch)
    assert gate.execute(queue_actions.delete_plan(gate, [item], None, sim_install)).done == 1
    assert gate.undo().done == 1
    assert not item.path.is_symlink() and item.path.read_bytes() == original
    assert os.stat(item.path).st_mode == mode


def test_a_symlinked_priority_folder_is_never_followed(
    sim_install: Install, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "victim.tmp").write_bytes(b"From: a@b.test\r\n\r\nnot a queue file")
    pri = sim_install.priority_dir(4)
    if pri.exists():
        for p in pri.iterdir():
            p.unlink()
        pri.rmdir()
    pri.symlink_to(outside)
    item = QueueItem("victim", "outgoing", 4, pri / "victim.tmp", 10, 0.0)
    gate = _gate(sim_install, tmp_path)
    out = gate.execute(queue_actions.delete_plan(gate, [item], None, sim_install))
    assert out.failed == 1 and "symbolic link" in out.results[0].detail
    assert (outside / "victim.tmp").exists()


def test_a_local_server_id_that_leaves_the_queue_is_refused(sim_root: Path, tmp_path: Path) -> None:
    write_path_dat(sim_root, "../../../../tmp/x-")
    # discovery refuses it (Install.problems); the bounce checks it again itself
    install = dataclasses.replace(discover(sim_root, use_tool_sh=False), server_id="../../../../tmp/x-")  # fmt: skip
    gate = _gate(install, tmp_path)
    item = next(iter(scanning.scan(install, ("retry",)).values()))
    with pytest.raises(Unsafe, match="LocalServerID"):
        queue_actions.bounce_plan(gate, install, [item], "mx.example.test")


# --- quarantine: SndFolder and SndOwner come from the database ---------------------------


def _quarantine_row(install: Install) -> spam.SenderRow:
    rows, _ = asyncio.run(spam.list_senders(install.antispam_db, "quarantine"))
    return next(r for r in rows if spam.held_files(install.mail_dir, r.owner, r.folder))


def _set(install: Install, rowid: int, **values: str) -> None:
    with closing(sqlite3.connect(install.antispam_db)) as con, con:
        for col, v in values.items():
            con.execute(f"UPDATE Senders SET {col} = ? WHERE rowid = ?", (v, rowid))


@pytest.mark.parametrize("how", ["folder-link", "held-file-link", "owner-dots"])
def test_quarantine_paths_from_the_database_stay_in_the_mail_store(
    sim_install: Install, tmp_path: Path, how: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.tmp").write_bytes(b"not iwtui's")
    row = _quarantine_row(sim_install)
    qdir = spam.held_dir(sim_install.mail_dir, row.owner, row.folder)
    if how == "folder-link":
        for p in qdir.iterdir():
            p.unlink()
        qdir.rmdir()
        qdir.symlink_to(outside)
        reason = "symbolic link"
    elif how == "held-file-link":
        next(iter(qdir.iterdir())).unlink()
        (qdir / "held.tmp").symlink_to(outside / "precious.tmp")
        reason = "symbolic link"
    else:
        _set(sim_install, row.id, SndOwner="..@..", SndFolder="..")
        reason = "not a plain name"
    gate = _gate(sim_install, tmp_path)
    before_out = set(sim_install.outgoing_dir.iterdir())
    plan = spam_actions.sender_plan(gate, sim_install, "quarantine", "deliver", [row.id])
    out = gate.execute(plan)
    assert out.failed == 1 and reason in out.results[0].detail, out.results[0].detail
    assert (outside / "precious.tmp").read_bytes() == b"not iwtui's"
    assert set(sim_install.outgoing_dir.iterdir()) == before_out
    # refused before the row changed
    with closing(sqlite3.connect(sim_install.antispam_db)) as con:
        assert con.execute("SELECT count(*) FROM Senders WHERE rowid = ?", (row.id,)).fetchone() == (1,)  # fmt: skip


# --- section 6: the spec's columns only, rowid ------------------------------------------

SPEC_SCHEMA = """
CREATE TABLE Senders (SndOwner TEXT, SndEmail TEXT, SndAuthorized INTEGER, SndFolder TEXT,
    SndDomain TEXT, SndSubject TEXT, SndCreatedOn REAL, SndCreatedAt REAL);
CREATE TABLE Greylist (GLValue TEXT, GLOwner TEXT, GLStatus INTEGER, GLCreated REAL,
    GLUpdated REAL);
"""


def test_a_database_with_exactly_the_specs_columns_lists_acts_and_undoes(
    sim_install: Install, tmp_path: Path
) -> None:
    db = sim_install.antispam_db
    db.unlink()
    with closing(sqlite3.connect(db)) as con, con:
        con.executescript(SPEC_SCHEMA)
        for n in range(5):
            con.execute(spam.INSERT_GREYLIST, (f"192.0.2.{n}", "*", 0, 46000.0 + n, None))
            con.execute(spam.INSERT_SENDER, ("*", f"s{n}@x.test", 1, None, "x.test", None, 46000.0, 0))  # fmt: skip
    dump = _dump(db)
    grey, total = asyncio.run(spam.list_greylist(db))
    assert total == 5 and {r.value for r in grey} == {f"192.0.2.{n}" for n in range(5)}
    white, _ = asyncio.run(spam.list_senders(db, "whitelist"))
    assert len(white) == 5
    gate = _gate(sim_install, tmp_path)
    by_value = {r.value: r.id for r in grey}
    out = gate.execute(spam_actions.greylist_plan(sim_install, "authorize", [by_value["192.0.2.1"]]))  # fmt: skip
    assert out.done == 1
    out = gate.execute(spam_actions.greylist_plan(sim_install, "delete", [by_value["192.0.2.2"]]))
    assert out.done == 1
    out = gate.execute(spam_actions.sender_plan(gate, sim_install, "whitelist", "blacklist", [white[0].id]))  # fmt: skip
    assert out.done == 1
    status = {r.value: r.status for r in asyncio.run(spam.list_greylist(db))[0]}
    assert status["192.0.2.1"] == "authorized" and "192.0.2.2" not in status
    for _ in range(3):
        assert gate.undo().done == 1
    assert _dump(db) == dump


def _dump(db: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db)) as con:
        return (
            con.execute("SELECT 'G', rowid, * FROM Greylist").fetchall()
            + con.execute("SELECT 'S', rowid, * FROM Senders").fetchall()
        )


# --- section 6: the DSN names the server as IceWarp knows it -----------------------------


def _dsn(install: Install, tmp_path: Path, who: object) -> email.message.EmailMessage:
    gate = _gate(install, tmp_path)
    item = _retry_item(install)
    before = set(install.outgoing_dir.iterdir())
    out = gate.execute(queue_actions.bounce_plan(gate, install, [item], who))  # type: ignore[arg-type]
    assert out.done == 1
    (new,) = set(install.outgoing_dir.iterdir()) - before
    msg = email.message_from_bytes(new.read_bytes(), policy=policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def _identity(msg: email.message.EmailMessage) -> tuple[str, str]:
    status: list[email.message.Message] = list(msg.iter_parts())[1].get_payload()  # type: ignore[assignment]
    return str(msg["From"]), str(status[0]["Reporting-MTA"])


def test_the_dsn_comes_from_the_servers_primary_domain_not_the_machine(
    sim_install: Install, tmp_path: Path
) -> None:
    domains = queue_actions.mail_domains(sim_install.mail_dir)
    who = queue_actions.server_identity(sim_install, use_tool_sh=False)
    assert who == queue_actions.ServerIdentity(domains[0], domains[0])
    sender, mta = _identity(_dsn(sim_install, tmp_path, who))
    assert sender.endswith(f"<postmaster@{domains[0]}>")
    assert mta == f"dns; {domains[0]}" and os.uname().nodename not in mta


def test_the_dsn_uses_the_names_tool_sh_gives(sim_install: Install, tmp_path: Path) -> None:
    tool = sim_install.root / "tool.sh"
    tool.write_text(
        "#!/bin/sh\n"
        f'[ "$3" = "{queue_actions.DOMAIN_VARIABLE}" ] && echo "$3: primary.example.test"\n'
        f'[ "$3" = "{queue_actions.HOST_VARIABLE}" ] && echo "$3: mx1.primary.example.test"\n'
        "exit 0\n"
    )
    tool.chmod(0o755)
    who = queue_actions.server_identity(sim_install)
    assert who == queue_actions.ServerIdentity("mx1.primary.example.test", "primary.example.test")
    sender, mta = _identity(_dsn(sim_install, tmp_path, who))
    assert sender.endswith("<postmaster@primary.example.test>")
    assert mta == "dns; mx1.primary.example.test"
    # --hostname still names the Reporting-MTA; the From stays the primary domain's
    who = queue_actions.server_identity(sim_install, hostname="relay.example.test")
    assert who == queue_actions.ServerIdentity("relay.example.test", "primary.example.test")
