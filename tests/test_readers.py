from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from iwtui.icewarp import delphi
from iwtui.icewarp.logs.names import file_name, parse_name
from iwtui.icewarp.spam import tarpit


def test_delphi_round_trip_and_odd_values() -> None:
    when = datetime(2026, 11, 24, 13, 45, 30)
    assert abs(delphi.to_datetime(delphi.from_datetime(when)) - when) < timedelta(milliseconds=5)  # type: ignore[operator]
    assert delphi.to_datetime(0) == datetime(1899, 12, 30)
    assert delphi.to_datetime(46000) == datetime(2025, 12, 9)
    for bad in (None, "", "abc", float("nan"), float("inf"), 10**12, True, b"\x00"):
        assert delphi.to_datetime(bad) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, timedelta(hours=12)),
        (3600, timedelta(hours=1)),
        ("07:05:09", timedelta(hours=7, minutes=5, seconds=9)),
        ("7:05", timedelta(hours=7, minutes=5)),
        ("25:00:00", None),
        (-1, None),
        (90000, None),
        (None, None),
        ("x", None),
    ],
)
def test_created_at_encodings(value: object, expected: timedelta | None) -> None:
    assert delphi.time_of_day(value) == expected


def test_combine_date_and_time() -> None:
    day = delphi.from_datetime(datetime(2026, 1, 2))
    assert delphi.combine(day, "10:00:00") == datetime(2026, 1, 2, 10)
    assert delphi.combine(day, None) == datetime(2026, 1, 2)
    assert delphi.combine(None, "10:00:00") is None


def test_tarpit_readable_form(tmp_path: Path) -> None:
    p = tmp_path / "tarpit.dat"
    p.write_text(
        "10.0.0.1\t2026-11-24T10:00:00\tD\n\n2001:DB8::1\t46000.5\tU\n192.168.0.0/24\t\tL\n"
    )
    t = tarpit.read(p)
    assert t.layout == tarpit.READABLE and t.writable
    assert [e.ip for e in t.entries] == ["10.0.0.1", "2001:db8::1", "192.168.0.0/24"]
    assert t.entries[0].reason_text == "IP blocked for being listed on DNSBL"
    assert t.entries[1].expires == datetime(2025, 12, 9, 12)
    assert t.entries[2].expires is None and not t.entries[2].expired(datetime.now())
    assert len(t.active(datetime(2026, 11, 24, 9))) == 2
    assert len(t.active(datetime(2026, 11, 24, 11))) == 1


def test_tarpit_unknown_layout_is_extracted_read_only(tmp_path: Path) -> None:
    p = tmp_path / "tarpit.dat"
    p.write_bytes(
        b"\x00\x01hdr 10.1.1.1 \x00999.1.1.1 x 10.1.1.1 fe80::1\x00\x07 1.2.3.0/24 v1.2.3.4.5"
    )
    t = tarpit.read(p)
    assert t.layout == tarpit.EXTRACTED and not t.writable
    assert [e.ip for e in t.entries] == ["10.1.1.1", "fe80::1", "1.2.3.0/24"]
    assert all(e.reason is None and e.reason_text == "unknown" for e in t.entries)
    p.write_text("10.0.0.1 expires tomorrow\n")
    assert tarpit.read(p).layout == tarpit.EXTRACTED
    assert tarpit.read(tmp_path / "none").layout == tarpit.MISSING


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("10.0.0.5/8", "10.0.0.0/8"),
        ("::1", "::1"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("256.1.1.1", None),
        ("10.0.0.1/33", None),
        ("host.example", None),
        ("", None),
    ],
)
def test_ip_validation(text: str, ok: str | None) -> None:
    assert tarpit.normalise_ip(text) == ok


def test_log_names() -> None:
    n = parse_name(Path("/logs/imap/m120190913-01.log"), Path("/logs"))
    assert n is not None and (n.service, n.server_id, n.day.isoformat(), n.part) == (
        "imap",
        "1",
        "2019-09-13",
        1,
    )
    n = parse_name(Path("/logs/s20261124.log.gz"), Path("/logs"))
    assert n is not None and n.service == "smtp" and n.compressed and n.part is None
    assert parse_name(Path("/logs/phperror.log")) is None
    assert parse_name(Path("/logs/s20261340.log")) is None
    assert file_name("smtp", n.day, 2) == "s20261124-02.log"
