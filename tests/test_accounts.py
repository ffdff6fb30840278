"""Account Statistics: per-account counts against an independent count of the summary
lines (several local and remote recipients, local-to-local, unknown senders, failures),
the ';' filter, the period, Max Items and sort, the export's header, unknown and totals
lines, the mailbox columns, the quota reader, and the CLI contract."""

from __future__ import annotations

import json
import os
import re
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.errors import BadInput
from iwtui.icewarp.accounts import export, quota
from iwtui.icewarp.accounts.stats import collect, matches, parse_filter, sort_rows
from iwtui.icewarp.install import Install, discover

LOCAL = ["alice@a.test", "bob@a.test", "carol@b.test", "dave@b.test"]

DAY1 = [  # 2026-01-10
    "10.0.0.1        [0001] 09:00:00 Connected",
    "10.0.0.1        [0001] 09:00:05 *** <alice@a.test> <bob@a.test> <carol@b.test> "
    "<x@remote.org> <y@remote.org> 4 1000 00:00:01 OK MSG1",
    "SYSTEM          [0002] 09:00:07 Client session Connected",
    "SYSTEM          [0002] 09:00:09 Client session *** <alice@a.test> <x@remote.org> "
    "<y@remote.org> 2 1000 00:00:02 OK MSG1",
    "10.0.0.2        [0003] 10:00:00 Connected",
    "10.0.0.2        [0003] 10:00:01 *** <bob@a.test> <alice@a.test> 1 500 00:00:00 OK MSG2",
    "6.6.6.6         [0004] 11:00:00 Connected",
    "6.6.6.6         [0004] 11:00:02 *** <eve@evil.org> <bob@a.test> <Dave@B.test> 2 300 "
    "00:00:01 OK MSG3",
    "6.6.6.7         [0005] 11:30:00 Connected",
    "6.6.6.7         [0005] 11:30:02 *** <relay@other.org> <z@remote.org> 1 200 00:00:01 OK M4",
    "SYSTEM          [0006] 11:30:05 Client session *** <relay@other.org> <z@remote.org> 1 200 "
    "00:00:01 OK M4",
    "10.0.0.3        [0007] 12:00:00 *** <ghost@a.test> <carol@b.test> 1 700 00:00:00 OK M5",
    "10.0.0.4        [0008] 12:30:00 *** <alice@a.test> <bob@a.test> 1 999 00:00:00 UNK",
    "SYSTEM          [0009] 12:40:00 Client session *** <bob@a.test> <w@remote.org> 1 80 "
    "00:00:03 ERROR",
]
DAY2 = [  # 2026-01-11
    "10.0.0.9        [0010] 08:00:00 *** <carol@b.test> <alice@a.test> <q@remote.org> 2 4000 "
    "00:00:01 OK M6",
    "SYSTEM          [0011] 08:00:05 Client session *** <carol@b.test> <q@remote.org> 1 4000 "
    "00:00:01 OK M6",
]
LOGINS = {
    "p20260110.log": ["192.0.2.1       [0A01] 08:00:00 User alice@a.test logged in"],
    "m20260111.log": [
        "192.0.2.7       [0A02] 07:00:00 User alice@a.test logged in",
        "192.0.2.8       [0A03] 09:00:00 User Bob@A.test logged in",
    ],
}


@pytest.fixture
def install(tmp_path: Path) -> Install:
    root = tmp_path / "icewarp"
    for address in LOCAL:
        user, _, domain = address.partition("@")
        box = root / "mail" / domain / user / "inbox"
        box.mkdir(parents=True)
    (root / "mail" / "_outgoing").mkdir()
    # alice has 3 messages; the oldest dated 2025-12-01 (Created)
    box = root / "mail" / "a.test" / "alice" / "inbox"
    for i, when in enumerate(["2025-12-01 10:00:00", "2026-01-05 10:00:00", "2026-01-09 10:00"]):
        path = box / f"{i}.imap"
        path.write_bytes(b"m" * (100 + i))
        t = time.mktime(time.strptime(when[:16], "%Y-%m-%d %H:%M"))
        os.utime(path, (t, t))
    logs = root / "logs"
    (logs / "smtp").mkdir(parents=True)
    (logs / "pop3").mkdir()
    (logs / "imap").mkdir()
    (logs / "smtp" / "s20260110.log").write_text("\n".join(DAY1) + "\n")
    (logs / "smtp" / "s20260111.log").write_text("\n".join(DAY2) + "\n")
    (logs / "pop3" / "p20260110.log").write_text("\n".join(LOGINS["p20260110.log"]) + "\n")
    (logs / "imap" / "m20260111.log").write_text("\n".join(LOGINS["m20260111.log"]) + "\n")
    return discover(root, use_tool_sh=False)


def independent(lines: list[str]) -> dict[str, dict[str, int]]:
    """The seed's definitions, counted straight from the summary lines."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in lines:
        m = re.search(r"(Client session )?\*\*\* (<[^>]*>)((?: <[^>]*>)+) (\d+) (\d+) "
                      r"\d+:\d\d:\d\d (\S+)", line)  # fmt: skip
        if not m or m.group(6) != "OK":
            continue
        sender = m.group(2).strip("<>").lower()
        rcpts = [r.strip("<>").lower() for r in m.group(3).split()]
        size = int(m.group(5))
        if m.group(1):
            out[sender]["sent_out_count"] += len(rcpts)
            out[sender]["sent_out_bytes"] += len(rcpts) * size
            continue
        out[sender]["sent_count"] += len(rcpts)
        out[sender]["sent_bytes"] += len(rcpts) * size
        for r in rcpts:
            out[r]["received_count"] += 1
            out[r]["received_bytes"] += size
    return out


COUNTS = ("received_count", "received_bytes", "sent_count", "sent_bytes", "sent_out_count",
          "sent_out_bytes")  # fmt: skip


def test_counts_equal_an_independent_count(install: Install, tmp_path: Path) -> None:
    ref = independent(DAY1 + DAY2)
    report = collect(install, tmp_path / "state")
    assert (report.start, report.end) == ("2026-01-10", "2026-01-11")
    got = {r.account: r for r in report.rows}
    assert sorted(got) == sorted(LOCAL)  # only local accounts; ghost@a.test is not one
    for account in LOCAL:
        for f in COUNTS:
            assert getattr(got[account], f) == ref[account][f], (account, f)
    # spot checks of the seed's rules
    assert got["alice@a.test"].sent_count == 4 and got["alice@a.test"].sent_bytes == 4000
    assert got["alice@a.test"].sent_out_count == 2  # the remote copies only
    assert got["bob@a.test"].received_count == 2 and got["bob@a.test"].sent_out_count == 0
    assert got["dave@b.test"].received_count == 1  # "Dave@B.test" matched any case


def test_last_fields_created_and_mailbox(install: Install, tmp_path: Path) -> None:
    got = {r.account: r for r in collect(install, tmp_path / "state").rows}
    alice = got["alice@a.test"]
    assert alice.last_sent == "2026-01-10T09:00:05"
    assert alice.last_received == "2026-01-11T08:00:00"
    assert alice.last_login == "2026-01-11T07:00:00" and alice.last_ip == "192.0.2.7"
    assert got["bob@a.test"].last_login == "2026-01-11T09:00:00"
    assert (alice.messages_count, alice.messages_bytes) == (3, 303)
    assert alice.created is not None and alice.created.startswith("2025-12-01T10:00")
    assert got["carol@b.test"].created is None and got["carol@b.test"].messages_count == 0
    assert alice.quota_percent is None


def test_period_filter_max_and_sort(install: Install, tmp_path: Path) -> None:
    state = tmp_path / "state"
    day1 = collect(install, state, start=_d("2026-01-10"), end=_d("2026-01-10"))
    ref = independent(DAY1)
    for r in day1.rows:
        assert [getattr(r, f) for f in COUNTS] == [ref[r.account][f] for f in COUNTS]
    two = collect(install, state, filter_text="B.TEST; alice@", ingest=False)
    assert sorted(r.account for r in two.rows) == ["alice@a.test", "carol@b.test", "dave@b.test"]
    assert two.unknown is None  # a filter: no unknown senders line
    top = collect(install, state, sort="received_bytes", max_items=2, ingest=False)
    assert [r.account for r in top.rows] == ["alice@a.test", "carol@b.test"]  # 4500, 1700
    assert top.matched == 4 and len(top.rows) == 2
    asc = collect(install, state, sort="-received_count", ingest=False)
    assert asc.rows[0].received_count <= asc.rows[-1].received_count
    with pytest.raises(BadInput):
        collect(install, state, sort="nonsense", ingest=False)
    with pytest.raises(BadInput):
        collect(install, state, start=_d("2026-01-12"), end=_d("2026-01-10"), ingest=False)


def _d(text: str) -> date:
    return date.fromisoformat(text)


def test_unknown_senders_and_totals(install: Install, tmp_path: Path) -> None:
    report = collect(install, tmp_path / "state")
    ref = independent(DAY1 + DAY2)
    unknown = [a for a in ref if a not in LOCAL]
    assert report.unknown is not None
    for f in ("sent_count", "sent_bytes", "sent_out_count", "sent_out_bytes"):
        assert getattr(report.unknown, f) == sum(ref[a][f] for a in unknown), f
    assert report.unknown.sent_count == 2 + 1 + 1  # eve (2 rcpts), relay, ghost@a.test
    for f in COUNTS:
        assert getattr(report.total, f) == sum(ref[a][f] for a in LOCAL), f


def test_totals_line_equals_the_sum_of_the_rows(install: Install, tmp_path: Path) -> None:
    from iwtui.icewarp.accounts.stats import AccountRow, _sum

    state = tmp_path / "state"
    whole = collect(install, state)
    assert whole.total == _sum(whole.rows, "Total")  # made from the rows' field tuples
    assert whole.total.received_count and whole.total.last_login and whole.total.created
    top = collect(install, state, sort="received_bytes", max_items=2, ingest=False)
    assert top.total == _sum(top.rows, "Total") != whole.total  # Max Items: its rows only
    assert collect(install, state, filter_text="nobody", ingest=False).total == AccountRow("Total")


def test_export_lines(install: Install, tmp_path: Path) -> None:
    out = tmp_path / "stats.txt"
    report = collect(install, tmp_path / "state")
    assert export.write(report, out) == 4
    lines = out.read_text().splitlines()
    head = lines[0].split("\t")
    assert all(h.startswith("[") and h.endswith("]") for h in head)
    assert head[:3] == ["[Account]", "[Received Messages]", "[Received Amount]"]
    assert len(lines) == 1 + 4 + 2
    assert [ln.split("\t")[0] for ln in lines[1:5]] == sorted(LOCAL)
    unknown, total = lines[-2].split("\t"), lines[-1].split("\t")
    assert unknown[0] == "Unknown senders" and total[0] == "Total"
    col = {h.strip("[]"): i for i, h in enumerate(head)}
    rows = [ln.split("\t") for ln in lines[1:5]]
    for name in ("Received Messages", "Sent Amount", "Sent Out Messages", "Messages Amount"):
        assert int(total[col[name]]) == sum(int(r[col[name]]) for r in rows)  # accounts only
    assert int(unknown[col["Sent Messages"]]) == 4
    filtered = collect(install, tmp_path / "state", filter_text="a.test", ingest=False)
    export.write(filtered, out)
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 2 + 1 and lines[-1].startswith("Total\t")


def test_filter_terms() -> None:
    terms = parse_filter(" Acme.TEST ;;john@x.org ")
    assert terms == ["acme.test", "john@x.org"]
    assert matches("ann@acme.test", terms) and matches("JOHN@x.org", terms)
    assert not matches("ann@x.org", terms) and matches("anyone@any", [])


def test_sort_puts_missing_values_last() -> None:
    from iwtui.icewarp.accounts.stats import AccountRow

    rows = [AccountRow("b@x", last_login=None), AccountRow("a@x", last_login="2026-01-01"),
            AccountRow("c@x", last_login="2026-02-01")]  # fmt: skip
    assert [r.account for r in sort_rows(rows, "last_login")] == ["c@x", "a@x", "b@x"]
    assert [r.account for r in sort_rows(rows, "-last_login")] == ["a@x", "c@x", "b@x"]
    assert [r.account for r in sort_rows(rows, "account")] == ["a@x", "b@x", "c@x"]


def test_quota_reader_assumed_tool_output(install: Install, tmp_path: Path) -> None:
    assert quota.parse("alice@a.test,100,\nbob@a.test,0,\njunk\n") == {"alice@a.test": 102400}
    tool = install.root / "tool.sh"
    tool.write_text("#!/bin/sh\n[ \"$1\" = export ] && echo 'Alice@a.test,1,'\n")
    tool.chmod(0o755)
    limits = quota.limits(install.root, enabled=True)
    assert limits == {"alice@a.test": 1024}
    assert quota.limits(install.root, enabled=False) == {}
    got = {r.account: r for r in collect(install, tmp_path / "state", quotas=limits).rows}
    assert got["alice@a.test"].quota_percent == round(100 * 303 / 1024, 1)
    assert got["bob@a.test"].quota_percent is None


def test_cli_list_json_contract(install: Install, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(install.root)
    assert main(["accounts", "list", "--root", root, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    keys = ["account", "received_count", "received_bytes", "sent_count", "sent_bytes",
            "sent_out_count", "sent_out_bytes", "last_sent", "last_received", "last_login",
            "last_ip", "created", "messages_count", "messages_bytes"]  # fmt: skip
    assert all(list(r)[: len(keys)] == keys for r in rows)
    assert [r["account"] for r in rows] == sorted(LOCAL)
    args = ["accounts", "list", "--root", root, "--json", "--filter", "b.test;BOB@",
            "--from", "2026-01-11", "--to", "2026-01-11", "--sort", "sent_count", "--max", "2"]  # fmt: skip
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["account"] for r in rows] == ["carol@b.test", "bob@a.test"]  # 2, then 0 (A-Z)
    assert rows[0]["sent_count"] == 2
    assert main(["accounts", "list", "--root", root, "--from", "nope"]) == 2
    assert main(["accounts", "list", "--root", root, "--sort", "nope"]) == 2
    assert main(["accounts", "list", "--root", root]) == 0
    assert "alice@a.test" in capsys.readouterr().out


def test_cli_export(install: Install, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export.txt"
    assert main(["accounts", "export", str(out), "--root", str(install.root)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("[Account]\t") and lines[-2].startswith("Unknown senders\t")
    assert "4 accounts" in capsys.readouterr().out


def test_json_texts_equal_json_dumps_of_each_row(install: Install, tmp_path: Path) -> None:
    """The CLI's --json objects are made without dicts; their text is json.dumps of each
    row's to_json, also for hostile strings, missing values and quotas."""
    from iwtui.cli.accounts import json_rows
    from iwtui.icewarp.accounts.stats import AccountRow, json_texts

    rows = collect(install, tmp_path / "state", quotas={"alice@a.test": 1000}).rows
    rows.append(AccountRow('a"}, {"b\\\x1b[31m\x00é\u2028', 1, 2, last_ip="::1\n", created="é"))
    rows.append(AccountRow("x@y", quota_percent=12.5, quota_bytes=2**40, last_login="\t"))
    assert any(r.quota_percent is not None for r in rows) and any(r.last_login for r in rows)
    assert json_texts(rows) == [json.dumps(r.to_json(), ensure_ascii=False) for r in rows]
    assert json.loads(json_rows(json_texts(rows))) == [r.to_json() for r in rows]
    assert json_rows([]) == "[]\n"
    assert json_rows(["{}", "{}"]) == "[\n  {},\n  {}\n]\n"


def test_mailboxes_again_from_the_cache_and_changes_walked(
    install: Install, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iwtui.icewarp.accounts.stats import local_accounts
    from iwtui.icewarp.volume import walk
    from iwtui.icewarp.volume.mailboxes import Mailbox, mailboxes

    state = tmp_path / "state"
    accounts = local_accounts(install)
    first = mailboxes(install, state, accounts)  # walked; the cache written
    assert first["alice@a.test"] == Mailbox(3, 303, first["alice@a.test"].oldest)
    walked: list[int] = []
    real = walk.Walker.run

    def run(self: walk.Walker, units: list[walk.Unit]) -> walk.WalkStats:
        walked.append(len(units))
        return real(self, units)

    monkeypatch.setattr(walk.Walker, "run", run)
    # nothing changed: every mailbox from the cache, no walk
    assert mailboxes(install, state, accounts) == first and not walked
    # a new message (dated days ago, so its folder is not "hot"): walked and counted
    new = Path(accounts["bob@a.test"]) / "inbox" / "9.imap"
    new.write_bytes(b"n" * 50)
    old = time.time() - 3 * 86400
    os.utime(new, (old, old))
    again = mailboxes(install, state, accounts)
    assert walked and again["bob@a.test"] == Mailbox(1, 50, int(old))
    assert {a: m for a, m in again.items() if a != "bob@a.test"} == {
        a: m for a, m in first.items() if a != "bob@a.test"
    }
    # unchanged again: from the (rewritten) cache
    walked.clear()
    assert mailboxes(install, state, accounts) == again and not walked
    # a hard-linked message: left to the walker (once per walk)
    os.link(new, Path(accounts["alice@a.test"]) / "inbox" / "9.imap")
    linked = mailboxes(install, state, accounts)
    assert walked and linked["alice@a.test"].files == 4
    walked.clear()
    assert mailboxes(install, state, accounts) == linked and walked  # links: walker again
