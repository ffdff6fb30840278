"""The byte-range split gives the rows of one whole read: a mixed-format day log (hh:mm:ss,
hh:mm:ss.mmm, h:mm:ss and RFC 822 times in one file) imported as one piece and as 2 to 16
pieces, with and without the raw option, every table compared row for row (lg_Log too).

The log is the simulator's day with sessions laid across any cut: long sessions that span
several pieces (one never ends: midnight 1; one is ended by a new ``Connected`` on its
thread), client sessions whose every line is ``SYSTEM`` (a piece that starts inside one
must not drop its summary), one that began the day before (midnight 2)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from iwtui.analyzer import schema
from iwtui.analyzer.db import Database, connect
from iwtui.analyzer.importer import Options, import_day
from iwtui.simulator.tree import SimOptions, build
from tests.conftest import FIXED_START

DAY = date(2026, 1, 15)
_TIME = re.compile(r"(\] )(\d\d):(\d\d:\d\d)")
IP = "81.2.3.4        "
SYS = "SYSTEM          "


def _retime(i: int, line: str) -> str:
    """Line ``i`` in one of the four time shapes, by its number."""
    k = i % 4
    if k == 1:
        return _TIME.sub(lambda m: f"{m[1]}Thu, 15 Jan 2026 {m[2]}:{m[3]} +0100", line, 1)
    if k == 2:
        return _TIME.sub(lambda m: f"{m[1]}{m[2]}:{m[3]}.123", line, 1)
    if k == 3:
        return _TIME.sub(lambda m: f"{m[1]}{int(m[2])}:{m[3]}", line, 1)
    return line


def _hms(line: str) -> str:
    m = re.search(r"(\d\d:\d\d:\d\d)", line)
    return m[1] if m else "00:00:00"


def mixed_log(tmp_path: Path) -> Path:
    root = tmp_path / "ice"
    build(root, SimOptions(seed=5, start=FIXED_START, log_mb=0.2, queue=1, quarantine=1,
                           tarpit=1))  # fmt: skip
    log = root / "logs" / "smtp" / "s20260115.log"
    base = log.read_text().splitlines()
    assert not re.search(r"\[(?:6[0-9A-F]{3}|7F0[0-9])\]", "\n".join(base))
    n = len(base)
    out: list[str] = [
        f"{IP}[7F03] {_hms(base[0])} <<< RCPT To:<late@icewarpdemo.com>",  # began yesterday
        f"{IP}[7F01] {_hms(base[0])} Connected",  # never ends
        f"{IP}[7F01] {_hms(base[0])} <<< EHLO long.example.org",
        f"{IP}[7F02] {_hms(base[0])} Connected",  # ended by a new Connected on 7F02
        f"{IP}[7F02] {_hms(base[0])} <<< EHLO other.example.org",
    ]
    client = 0
    for i, line in enumerate(base):
        out.append(line)
        t = _hms(line)
        if i % 40 == 7:
            k = i // 40
            out.append(f"{IP}[7F01] {t} <<< MAIL From:<a{k}@long.example.org>")
            out.append(f"{IP}[7F01] {t} *** <a{k}@long.example.org> <u@icewarpdemo.com> 1 "
                       f"{100 + k} 00:00:01 OK LNG{k:05d}")  # fmt: skip
        if i == n // 2:
            out.append(f"{SYS}[7F03] {t} Disconnected")
        if i == 3 * n // 4:
            out.append(f"{IP}[7F02] {t} Connected")
            out.append(f"{IP}[7F02] {t} *** <b@x.org> <u@icewarpdemo.com> 1 77 00:00:00 OK "
                       "NEW00001")  # fmt: skip
            out.append(f"{SYS}[7F02] {t} Disconnected")
        # a client session every 12 lines, 4 SYSTEM lines spread over 9: cuts fall inside
        if i % 12 == 0:
            client += 1
        tid = f"6{client:03X}"
        if i % 12 == 0:
            out.append(f"{SYS}[{tid}] {t} Client session Connecting to 'mx{client}.example.net'")
        elif i % 12 == 3:
            out.append(f"{SYS}[{tid}] {t} Client session ... while issuing MX query for 'x.net'")
        elif i % 12 == 6:
            out.append(f"{SYS}[{tid}] {t} Client session *** <u@icewarpdemo.com> "
                       f"<r{client}@example.net> 1 {500 + client} 00:00:02 OK CL{client:06d}")  # fmt: skip
        elif i % 12 == 9:
            out.append(f"{SYS}[{tid}] {t} Client session Disconnected")
    log.write_text("".join(_retime(i, ln) + "\n" for i, ln in enumerate(out)))
    return root / "logs"


def tables(db: Database) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for t in (*schema.TABLES, *schema.ROLLUPS):
        _c, rows = db.query(f"SELECT * FROM {t}")
        out[t] = sorted(rows, key=repr)
    return out


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mixed_log(tmp_path_factory.mktemp("mixed"))


@pytest.mark.parametrize("raw", [False, True])
def test_pieces_give_the_rows_of_one_piece(logs: Path, tmp_path: Path, raw: bool) -> None:
    whole = connect(str(tmp_path / "whole.sqlite"))
    res = import_day(logs, DAY, whole, Options(raw=raw))
    want = tables(whole)
    size = res.bytes
    # the check has teeth: every time shape is there, the long session's summaries are
    # rows of a session that goes on after the day (midnight 1), the client sessions' too
    text = (logs / "smtp" / "s20260115.log").read_text()
    assert "+0100 " in text and ".123 " in text and re.search(r"\] \d:\d\d:\d\d ", text)
    smtp = want["smtp"]
    cols = schema.columns("smtp")
    mid, midnight = cols.index("lg_MessageID"), cols.index("lg_Midnight")
    longs = [r for r in smtp if str(r[mid]).startswith("LNG")]
    assert len(longs) == len(re.findall(r"OK LNG\d+", text)) > 10
    assert {r[midnight] for r in longs} == {1}
    assert len([r for r in smtp if str(r[mid]).startswith("CL")]) == text.count(" OK CL")
    assert [r[midnight] for r in smtp if r[cols.index("lg_ThreadID")] == "7F03"] == [2]
    if raw:
        assert all(r[cols.index("lg_Log")] for r in smtp)
    for parts in (2, 3, 5, 8, 16):
        db = connect(str(tmp_path / f"p{parts}.sqlite"))
        import_day(logs, DAY, db, Options(raw=raw, workers=8, split_bytes=size // parts))
        got = tables(db)
        for t in want:
            assert got[t] == want[t], (parts, t)
        db.close()


def test_helper_processes_give_the_rows_of_one_piece(logs: Path, tmp_path: Path) -> None:
    whole = connect(str(tmp_path / "whole.sqlite"))
    import_day(logs, DAY, whole, Options(raw=True))
    many = connect(str(tmp_path / "many.sqlite"))
    res = import_day(logs, DAY, many, Options(raw=True, workers=2, split_bytes=20_000,
                                              inprocess_bytes=0))  # fmt: skip
    assert res.helpers == 2
    assert tables(many) == tables(whole)


def test_raw_and_plain_imports_give_the_same_rows_but_the_log(logs: Path, tmp_path: Path) -> None:
    """``--raw`` only adds each session's lines (lg_Log, lg_LogRows): the rest is the same,
    whichever time shape a line has (RFC 822 with a one-digit hour included)."""
    log = logs / "smtp" / "s20260115.log"
    text = log.read_text()
    one_digit = f"{IP}[7F04] Thu, 15 Jan 2026 9:01:42 +0100 Connected\n" + \
        f"{IP}[7F04] Thu, 15 Jan 2026 9:01:43 +0100 *** <c@x.org> <u@icewarpdemo.com> " \
        "1 55 00:00:00 OK ONE00001\n" + f"{SYS}[7F04] Thu, 15 Jan 2026 9:01:44 +0100 Disconnected\n"  # fmt: skip
    rfc_log = tmp_path / "logs"
    (rfc_log / "smtp").mkdir(parents=True)
    (rfc_log / "smtp" / log.name).write_text(text + one_digit)
    got = {}
    for raw in (False, True):
        db = connect(str(tmp_path / f"raw{raw}.sqlite"))
        import_day(rfc_log, DAY, db, Options(raw=raw))
        got[raw] = tables(db)
        db.close()
    for t in got[False]:
        if t not in schema.TABLES:
            assert got[False][t] == got[True][t], t
            continue
        cols = schema.columns(t)
        keep = [k for k, c in enumerate(cols) if c not in ("lg_Log", "lg_LogRows")]
        plain = sorted((tuple(r[k] for k in keep) for r in got[False][t]), key=repr)
        raw_ = sorted((tuple(r[k] for k in keep) for r in got[True][t]), key=repr)
        assert plain == raw_, t
        if t == "smtp":
            one = [r for r in plain if "ONE00001" in r]
            assert one and "09:01:43" in one[0], one
