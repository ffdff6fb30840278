"""Message Queue core and CLI: scan, odd files, deferral reasons, actions through the gate."""

from __future__ import annotations

import email
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from email import policy
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.icewarp.actions import ActionGate
from iwtui.icewarp.install import Install, discover
from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.queue import actions as queue_actions
from iwtui.icewarp.queue import deferrals, messages, scanning
from iwtui.simulator.tree import write_path_dat


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_reads_envelope_and_headers_and_reuses_unchanged_items(sim_install: Install) -> None:
    items = scanning.scan(sim_install)
    assert len(items) == sum(1 for _ in items)  # keyed by path
    queues = {i.queue for i in items.values()}
    assert {"outgoing", "priority", "retry", "incoming"} <= queues
    one = next(i for i in items.values() if i.queue == "outgoing")
    assert one.sender and one.recipients and one.subject and one.size > 0 and one.problem is None
    again = scanning.scan(sim_install, previous=items)
    assert all(again[p] is items[p] for p in items)  # nothing re-read
    one.path.write_bytes(one.path.read_bytes() + b"x")
    third = scanning.scan(sim_install, previous=again)
    assert third[one.where] is not one and third[one.where].size == one.size + 1


def test_files_that_are_not_messages_are_listed_with_a_problem(sim_install: Install) -> None:
    out = sim_install.outgoing_dir
    (out / "BIN0000001.tmp").write_bytes(b"\x00\x01\x02garbage" * 100)
    (out / "EMP0000001.tmp").write_bytes(b"")
    (out / "NOH0000001.tmp").write_bytes(b"just some text\nwithout headers\n")
    (out / "BIG0000001.tmp").write_bytes(
        b"Subject: big\r\n" + b"X-Pad: " + b"a" * (10 * 1024 * 1024) + b"\r\n\r\nbody"
    )
    (out / "ENC0000001.tmp").write_bytes(
        b"From: =?UTF-8?B?xb1sdcWlb3XEjWvDvQ==?= <k@x.cz>\r\nTo: a@b.c\r\n"
        b"Subject: =?ISO-8859-2?Q?Faktura_=E8._1?= \x1b[31m[bold]x[/bold]\r\n\r\nbody"
    )
    items = {i.id: i for i in scanning.scan(sim_install, ("outgoing",)).values()}
    assert items["BIN0000001"].problem == "not a message: binary data"
    assert items["EMP0000001"].problem == "empty file"
    assert items["NOH0000001"].problem == "not a message: no headers"
    big = items["BIG0000001"]
    assert big.subject == "big" and big.size > 10 * 1024 * 1024 and "64 KiB" in (big.problem or "")
    enc = items["ENC0000001"]
    assert enc.from_.startswith("Žluťoučký") and enc.subject.startswith("Faktura č. 1")
    assert "\x1b" in enc.subject and "\x1b" not in safe_text(enc.subject)  # kept, shown inert


def test_relocated_queues_from_a_crlf_path_dat(sim_root: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "queue"
    moved.mkdir(parents=True)
    (moved / "MOVED00001.tmp").write_bytes(b"From: a@b.c\r\nTo: d@e.f\r\nSubject: moved\r\n\r\nx")
    write_path_dat(sim_root)
    lines = (sim_root / "path.dat").read_bytes().split(b"\r\n")
    lines[7] = str(moved).encode()  # line 8: the outgoing queue
    (sim_root / "path.dat").write_bytes(b"\r\n".join(lines))
    inst = discover(sim_root, use_tool_sh=False)
    assert inst.outgoing_dir == moved
    ids = {i.id for i in scanning.scan(inst, ("outgoing",)).values()}
    assert ids == {"MOVED00001"}


def test_deferral_reasons_come_from_failed_client_sessions(sim_install: Install) -> None:
    retry = list(scanning.scan(sim_install, ("retry",)).values())
    found = deferrals.scan(sim_install.log_dir)
    deferrals.attach(retry, found)
    assert retry and all(i.last_error for i in retry)
    groups = deferrals.group(retry)
    assert sum(g.count for g in groups) == len(retry)
    assert all("@" not in g.reason for g in groups)  # addresses are blanked in the group text
    assert (
        deferrals.normalise("<<< 452 4.2.2 Mailbox has exceeded the limit for bob")
        == "452 4.2.2 Mailbox has exceeded the limit"
    )
    assert (
        deferrals.normalise("Could not connect to 'mx.a.com(0.0.0.0)'")
        == "Could not connect to '…'"
    )


def test_delete_undo_restores_byte_identical_files_and_gone_is_delivered(
    sim_install: Install, tmp_path: Path
) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    items = sorted(scanning.scan(sim_install, ("outgoing",)).values(), key=lambda i: i.id)[:3]
    before = {i.path: i.path.read_bytes() for i in items}
    items[2].path.unlink()  # delivered between listing and acting
    del before[items[2].path]
    outcome = gate.execute(queue_actions.delete_plan(gate, items))
    assert outcome.done == 2 and outcome.gone == 1 and outcome.complete
    assert "1 already delivered" in outcome.message(gone_word=queue_actions.GONE_WORD)
    assert not any(p.exists() for p in before)
    gate.undo()
    assert {p: p.read_bytes() for p in before} == before


def test_bounce_writes_a_valid_dsn_and_trashes_the_original(
    sim_install: Install, tmp_path: Path
) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    item = next(i for i in scanning.scan(sim_install, ("retry",)).values())
    original = item.path.read_bytes()
    deferrals.attach([item], deferrals.scan(sim_install.log_dir))
    before = set(sim_install.outgoing_dir.iterdir())
    outcome = gate.execute(
        queue_actions.bounce_plan(gate, sim_install, [item], "mail.example.test")
    )
    assert outcome.done == 1 and not item.path.exists()
    new = [p for p in set(sim_install.outgoing_dir.iterdir()) - before if p.is_file()]
    assert len(new) == 1
    msg = email.message_from_bytes(new[0].read_bytes(), policy=policy.default)
    assert (
        msg.get_content_type() == "multipart/report"
        and msg.get_param("report-type") == "delivery-status"
    )
    assert msg["To"] == item.sender and msg["X-Envelope-From"] == "<>"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    status = list(msg.iter_parts())[1]
    blocks = status.get_payload()
    assert blocks[0]["Reporting-MTA"] == "dns; mail.example.test"
    assert [b["Final-Recipient"] for b in blocks[1:]] == [f"rfc822; {r}" for r in item.recipients]
    assert all(b["Action"] == "failed" and b["Status"] == "5.0.0" for b in blocks[1:])
    assert item.last_error and item.last_error.split()[0] in blocks[1]["Diagnostic-Code"]
    gate.undo()
    assert item.path.read_bytes() == original and not new[0].exists()


def test_whitelist_adds_a_row_validates_owner_and_undoes(
    sim_install: Install, tmp_path: Path
) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    item = next(iter(scanning.scan(sim_install, ("outgoing",)).values()))
    with pytest.raises(Exception, match="bad owner"):
        queue_actions.sender_list_plan(sim_install, [item], "whitelist", "not an owner")
    plan = queue_actions.sender_list_plan(sim_install, [item], "whitelist", "Example.COM")
    gate.execute(plan)
    q = "SELECT SndOwner, SndAuthorized FROM Senders WHERE lower(SndEmail) = ?"
    with closing(sqlite3.connect(sim_install.antispam_db)) as con:
        assert con.execute(q, (item.sender.lower(),)).fetchall() == [("example.com", 1)]
    gate.execute(plan)  # twice: no duplicate row
    gate.undo()
    with closing(sqlite3.connect(sim_install.antispam_db)) as con:
        assert con.execute(q, (item.sender.lower(),)).fetchall() == []


def test_cli_list_json_fields_filter_and_read_only(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "queue", "list", "--root", str(sim_root), "--json")
    rows = json.loads(out)
    assert code == 0 and rows
    assert {
        "id",
        "queue",
        "priority",
        "path",
        "sender",
        "recipients",
        "subject",
        "size",
        "queued_at",
        "last_error",
    } <= set(rows[0])
    retry = [r for r in rows if r["queue"] == "retry"]
    assert retry and all(r["last_error"] for r in retry)
    target = rows[0]
    word = target["subject"].split()[0]
    code, out, _ = _run(
        capsys, "queue", "list", "--root", str(sim_root), "--filter", f"subject:{word}", "--json"
    )
    assert all(word.casefold() in r["subject"].casefold() for r in json.loads(out))
    for verb in ("delete", "send-now", "bounce", "whitelist", "blacklist"):
        code, _out, err = _run(
            capsys, "queue", verb, "--root", str(sim_root), "--read-only", target["id"], "--yes"
        )
        assert code == 1 and "read-only" in err, verb
    assert Path(target["path"]).exists()
    code, _out, err = _run(capsys, "queue", "delete", "--root", str(sim_root), target["id"])
    assert code == 1 and "--yes" in err  # no terminal: refused
    code, out, _ = _run(capsys, "queue", "delete", "--root", str(sim_root), target["id"], "--yes")
    assert code == 0 and not Path(target["path"]).exists()
    code, out, _ = _run(capsys, "journal", "--json")
    assert f"iwtui queue delete --root {sim_root} {target['id']} --yes" in out
    code, out, _ = _run(capsys, "queue", "undo", "--root", str(sim_root), "--yes")
    assert code == 0 and Path(target["path"]).exists()
    code, out, err = _run(capsys, "queue", "delete", "--root", str(sim_root), "NOSUCHID", "--yes")
    assert code == 2 and "already delivered" in err


def test_cli_reasons_and_mailbox(sim_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "queue", "reasons", "--root", str(sim_root), "--json")
    groups = json.loads(out)
    assert code == 0 and groups and {"reason", "count", "oldest_queued_at", "ids"} <= set(groups[0])
    box = next(p for p in (sim_root / "mail").glob("*/*/inbox") if any(p.glob("*.imap")))
    account = f"{box.parent.name}@{box.parent.parent.name}"
    code, out, _ = _run(
        capsys, "mailbox", "list", "--root", str(sim_root), "--account", account, "--json"
    )
    assert code == 0 and len(json.loads(out)) == len(list(box.glob("*.imap")))
    code, _out, err = _run(
        capsys, "mailbox", "list", "--root", str(sim_root), "--account", "../etc"
    )
    assert code == 2 and "bad account" in err


def test_scanner_skips_unchanged_folders_and_a_full_pass_sees_rewrites(
    sim_install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    scanner = scanning.Scanner(sim_install)
    first = scanner.scan()
    listed: list[Path] = []
    real = scanning.list_spot

    def counting(
        spot: messages.QueueSpot,
        prev: dict[str, messages.QueueItem],
        cancel: object = None,
        sink: Callable[[list[scanning.Job]], None] | None = None,
    ) -> tuple[dict[str, messages.QueueItem], list[scanning.Job]]:
        listed.append(spot.folder)
        return real(spot, prev, None, sink)

    monkeypatch.setattr(scanning, "list_spot", counting)
    again = scanner.scan()
    assert again == first and listed == []  # nothing changed: no folder listed, no file read
    new = sim_install.retry_dir / "NEWRETRY01.tmp"
    new.write_bytes(b"From: a@b.c\r\nTo: d@e.f\r\nSubject: late\r\n\r\nx")
    third = scanner.scan()
    assert listed == [sim_install.retry_dir] and str(new) in third
    # a file rewritten in place leaves its folder's mtime alone: only a full pass sees it
    victim_item = next(i for i in third.values() if i.path.parent == sim_install.outgoing_dir)
    victim, victim_file = victim_item.where, victim_item.path
    st = os.stat(sim_install.outgoing_dir)
    victim_file.write_bytes(b"From: x@y.z\r\nSubject: rewritten\r\n\r\n")
    os.utime(sim_install.outgoing_dir, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert scanner.scan()[victim].subject != "rewritten"
    assert scanner.scan(full=True)[victim].subject == "rewritten"


def _fields(items: dict[str, messages.QueueItem]) -> dict[str, tuple[object, ...]]:
    return {p: (i.id, i.queue, i.size, i.key, i.sender, i.subject, i.problem) for p, i in items.items()}  # fmt: skip


@pytest.mark.parametrize("helper", ["works", "missing", "fails"])
@pytest.mark.parametrize("lazy", [True, False])
def test_helper_processes_read_and_parse_a_large_scan_with_the_same_result(
    sim_install: Install, monkeypatch: pytest.MonkeyPatch, helper: str, lazy: bool
) -> None:
    from iwtui.icewarp.queue import heads
    from iwtui.icewarp.queue.folders import spots

    odd = sim_install.outgoing_dir / "EMPTY00001.tmp"
    odd.write_bytes(b"")
    (sim_install.outgoing_dir / "BIN0000002.tmp").write_bytes(b"\x00\x01" * 100)
    jobs = [j for s in spots(sim_install) for j in scanning.list_spot(s, {})[1]]
    jobs.append((spots(sim_install)[0], str(sim_install.outgoing_dir / "GONE000001.tmp"), "GONE000001.tmp"))  # fmt: skip
    alone = scanning.read_items(jobs, parallel=False)
    if helper == "missing":
        monkeypatch.setattr(heads.sys, "executable", "/nonexistent/python")
    elif helper == "fails":
        monkeypatch.setattr(heads.sys, "executable", "/bin/false")
    answered: list[bool] = []  # per helper that started: did it deliver everything?
    real = scanning.gather

    def spy(helpers: list[heads.Helper]) -> Iterator[tuple[int, list[object] | None]]:
        failed = set()
        for i, frame in real(helpers):
            if frame is None:
                failed.add(i)
            yield i, frame
        answered.extend(i not in failed for i, h in enumerate(helpers) if h.started)

    monkeypatch.setattr(scanning, "gather", spy)
    both = scanning.read_items(jobs, parallel=True, lazy=lazy)
    assert all(i.parsed for i in both.values()) != lazy or not both
    scanning.parse_all(both.values(), parallel=True)  # the lazy ones: parsed by helpers too
    assert _fields(both) == _fields(alone) and len(both) == len(jobs) - 1  # the gone file
    helpers_used = 1 + (2 if lazy else 0)  # one reads with this process; two parse
    expected = {"works": [True] * helpers_used, "fails": [False] * helpers_used, "missing": []}
    assert answered == expected[helper]
    assert both[str(odd)].problem == "empty file"
    item = next(i for i in both.values() if i.queue == "outgoing" and not i.problem)
    assert item.sender is sys_intern(item.sender)  # adopted strings are shared


def sys_intern(text: str) -> str:
    import sys

    return sys.intern(text)


def _reference_deferrals(log_dir: Path) -> dict[tuple[str, str], tuple[str, object]]:
    """The slow reading: every client-session line through parse_line."""
    from iwtui.icewarp.logs import catalog
    from iwtui.icewarp.logs.lines import parse_line

    out: dict[tuple[str, str], tuple[str, object]] = {}
    cat = catalog.scan(log_dir)
    for d in reversed(cat.days_of("smtp")[:2]):
        for f in d.files:
            last: dict[str, str] = {}
            data = f.path.read_bytes()
            for raw in data.split(b"\n")[:-1]:  # the last line, without newline, is pending
                line = parse_line(raw.decode("utf-8", "replace").rstrip("\r"), d.day)
                if not line.client or not line.thread:
                    continue
                k, fl = line.kind, line.fields
                if k == "connect":
                    last.pop(line.thread, None)
                elif (
                    k in ("reply", "greylist") and int(fl.get("code") or 0) >= 400
                ) or k == "failure":
                    last[line.thread] = line.message
                elif k == "summary":
                    reason = last.pop(line.thread, None)
                    for r in fl.get("recipients") or []:
                        key = (str(fl["sender"]).lower(), str(r).lower())
                        if fl.get("result") == "OK":
                            out.pop(key, None)
                        else:
                            out[key] = (reason or f"summary {fl.get('result')}", line.time)
    return out


def test_fast_deferral_scan_agrees_with_parsing_every_line(sim_install: Install) -> None:
    from iwtui.icewarp.logs import catalog

    smtp = catalog.scan(sim_install.log_dir).days_of("smtp")[0].files[-1].path
    with open(
        smtp, "a", encoding="utf-8"
    ) as fh:  # thread reuse, RFC 822 time, a failure, a pending line
        fh.write(
            "1.2.3.4 [0AAA] 23:59:01 Client session Connecting to mx.x.test\n"
            "1.2.3.4 [0AAA] 23:59:02 Client session Could not connect to mx.x.test\n"
            "1.2.3.4 [0AAA] 23:59:03 Client session *** <a@x.test> <b@y.test> <c@y.test> 1 10 00:00:01 ERROR M1\n"
            "1.2.3.4 [0aaa] Thu, 22 Apr 2004 22:01:42 +0200 Client session Connected\n"
            "1.2.3.4 [0AAA] 23:59:05 Client session <<< 552 5.2.2 Mailbox has exceeded the limit\n"
            "1.2.3.4 [0AAA] 23:59:06 Client session *** <a@x.test> <c@y.test> 1 10 00:00:01 ERROR M2\n"
            "1.2.3.4 [0BBB] 23:59:07 Client session *** <q@x.test> <r@y.test> 1 10 00:0"
        )
    fast = {k: (d.reason, d.at) for k, d in deferrals.scan(sim_install.log_dir).items()}
    assert fast == _reference_deferrals(sim_install.log_dir)
    assert fast[("a@x.test", "b@y.test")][0] == "Could not connect to mx.x.test"
    assert fast[("a@x.test", "c@y.test")][0] == "552 5.2.2 Mailbox has exceeded the limit"
    assert ("q@x.test", "r@y.test") not in fast and len(fast) > 5


@pytest.mark.parametrize("helper", ["works", "fails"])
def test_deferral_scan_in_a_helper_process_gives_the_same(
    sim_install: Install, monkeypatch: pytest.MonkeyPatch, helper: str, tmp_path: Path
) -> None:
    import threading
    import time

    here = deferrals.scan(sim_install.log_dir)
    if helper == "fails":
        monkeypatch.setattr(deferrals.sys, "executable", "/bin/false")
    apart = deferrals.scan_apart(sim_install.log_dir)
    assert apart == here and len(here) > 5
    stop = threading.Event()
    stop.set()
    slow = tmp_path / "slow-python"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setattr(deferrals.sys, "executable", str(slow))  # a helper that never ends
    real_scan = deferrals.scan
    monkeypatch.setattr(deferrals, "scan", lambda *a, **k: pytest.fail("not in-process"))
    t0 = time.monotonic()
    assert deferrals.scan_apart(sim_install.log_dir, cancel=stop) == {}
    assert time.monotonic() - t0 < 5 and real_scan


def test_which_names_a_queue_folder_lists(tmp_path: Path) -> None:
    """A dot name is never an item (our temp files, editors' swap files); incoming lists
    ``.dat`` files, MDA ``.tm$.tm$`` ones (they share a folder); the others any regular
    file; folders, links and FIFOs are not items."""
    from iwtui.icewarp.queue.folders import QueueSpot, iter_items

    folder = tmp_path / "q"
    folder.mkdir()
    for name in ("a.tmp", "b.dat", "c.tm$.tm$", ".hidden.dat", ".x.tm$.tm$", "d"):
        (folder / name).write_bytes(b"x")
    (folder / "sub.dat").mkdir()
    (folder / "link.dat").symlink_to(folder / "b.dat")
    os.mkfifo(folder / "fifo.dat")

    def names(queue: str) -> list[str]:
        return sorted(e.name for e in iter_items(QueueSpot(queue, folder)))

    assert names("outgoing") == ["a.tmp", "b.dat", "c.tm$.tm$", "d"]
    assert names("incoming") == ["b.dat"]
    assert names("mda") == ["c.tm$.tm$"]
