"""The log engine without a screen: parser, index, filter, time range."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from iwtui.errors import BadInput
from iwtui.icewarp.logs import search
from iwtui.icewarp.logs.catalog import scan
from iwtui.icewarp.logs.index import LineIndex
from iwtui.icewarp.logs.lines import interpret, parse_line, reply_table, safe_text
from iwtui.icewarp.logs.view import DaySource, FilterSource

DAY = date(2019, 9, 13)


# --- parser ------------------------------------------------------------------------------


def test_both_time_formats_padded_and_unpadded_who_and_both_thread_widths() -> None:
    a = parse_line("127.0.0.1       [00000A1C] Thu, 22 Apr 2004 22:01:42 +0200 Connected", DAY)
    assert (a.who, a.thread, a.kind) == ("127.0.0.1", "00000A1C", "connect")
    assert a.time == datetime(2004, 4, 22, 22, 1, 42, tzinfo=timezone(timedelta(hours=2)))
    b = parse_line("10.0.0.2 [07b0] 11:22:54 <<< HELO x", DAY)
    assert (b.who, b.thread, b.direction) == ("10.0.0.2", "07B0", "<<<")
    assert b.time == datetime(2019, 9, 13, 11, 22, 54)
    c = parse_line("SYSTEM [1A2B] 23:59:59.250 Disconnected", DAY)
    assert c.time == datetime(2019, 9, 13, 23, 59, 59, 250000) and c.kind == "disconnect"
    assert parse_line("10.0.0.2 [07B] 11:22:54 x", DAY).kind == "raw"  # 3 digits: not a thread id


def test_meaningful_lines_of_spec_5_3() -> None:
    s = parse_line(
        "1.2.3.4 [0001] 10:00:00 *** <a@x.com> <b@y.org> <c@z.net> 2 2804 00:00:01 OK YAR93710", DAY
    )
    assert s.kind == "summary"
    assert s.fields == {
        "sender": "a@x.com", "recipients": ["b@y.org", "c@z.net"], "count": 2, "size": 2804,
        "duration_s": 1, "result": "OK", "message_id": "YAR93710",
    }  # fmt: skip
    a = parse_line(
        "127.0.0.1 [07B0] 11:22:54 RSH57851 '<john@doe.com>' '<webmaster@icewarp.com.br>' 1 "
        "score 10.00 reason [SpamAssassin=10.00,Bayes=99.99,Body=PE] action SPAM",
        DAY,
    )
    assert a.kind == "antispam" and a.fields["score"] == 10.0 and a.fields["action"] == "SPAM"
    assert a.fields["reason"] == {"SpamAssassin": "10.00", "Bayes": "99.99", "Body": "PE"}
    r = parse_line("Challenge [0001] 11:24:42 0.648605 1 0 23 0", DAY)
    assert r.kind == "report" and r.fields["spam_items"] == 23
    t = parse_line(
        "9.9.9.9 [0002] 10:00:00 Intrusion prevention: IP blocked (P), expires 2019-09-13T11:00:00",
        DAY,
    )
    assert (
        t.kind == "tarpit"
        and t.fields["reason"] == "P"
        and "unknown user" in t.fields["reason_text"]
    )
    g = parse_line("9.9.9.9 [0002] 10:00:00 >>> 451 4.7.1 Greylisted, please try again later", DAY)
    assert g.kind == "greylist"
    assert (
        parse_line("1.1.1.1 [0003] 10:00:00 User bob@x.com logged in", DAY).fields["account"]
        == "bob@x.com"
    )
    assert (
        parse_line("1.1.1.1 [0003] 10:00:00 Authentication failed for bob@x.com", DAY).kind
        == "login_failed"
    )


def test_every_row_of_the_seed_5xx_table_is_found_from_a_reply_line() -> None:
    rows = reply_table()
    assert len(rows) >= 30
    for row in rows:
        if not row.code:
            continue
        line = parse_line(
            f"1.2.3.4 [0001] 10:00:00 >>> {row.code} {row.enhanced} {row.phrase}", DAY
        )
        it = line.fields.get("interpretation")
        assert it is not None, row
        assert (it.code, it.phrase) == (row.code, row.phrase)
    # a temporary 4xx twin is explained by its 5xx row
    twin = interpret("452", "4.2.2", "Mailbox has exceeded the limit")
    assert twin is not None and twin.code == "552"
    # in a client session the reply comes from the remote side (<<<)
    c = parse_line("1.2.3.4 [0001] 10:00:00 Client session <<< 550 5.7.1 Relay access denied", DAY)
    assert c.client and c.kind == "reply" and c.fields["code"] == 550


def test_data_file_is_valid_yaml_with_all_fields() -> None:
    from importlib import resources

    rows = yaml.safe_load(resources.files("iwtui.data").joinpath("smtp_replies.yaml").read_text())
    assert all({"code", "enhanced", "phrase", "cause", "remedy"} <= set(r) for r in rows)


def test_escape_sequences_are_made_visible_not_obeyed() -> None:
    raw = "1.2.3.4 [0001] 10:00:00 <<< MAIL From:<\x1b[2J\x1b]0;pwned\x07[bold]x[/bold]@y> \x9b31m"
    shown = safe_text(raw)
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "\\x1b[2J" in shown and "[bold]x[/bold]" in shown  # markup stays literal text


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parser_never_raises_and_keeps_the_line(raw: str) -> None:
    line = parse_line(raw, DAY)
    assert line.raw == raw
    assert not any(ord(ch) < 32 and ch not in "\t" for ch in safe_text(raw))


# --- index -------------------------------------------------------------------------------


def _write(path: Path, lines: list[bytes], tail: bytes = b"") -> None:
    path.write_bytes(b"".join(ln + b"\n" for ln in lines) + tail)


def test_index_serves_lines_while_scanning_backwards_and_after(tmp_path: Path) -> None:
    rng = random.Random(3)
    lines = [f"L{i} ".encode() + b"x" * rng.randrange(0, 300) for i in range(20000)]
    lines[500] = b"\x00\xff\xfe binary \x1b garbage"
    lines[700] = b"y" * (1024 * 1024)  # a 1 MB line
    p = tmp_path / "s20190913.log"
    _write(p, lines, tail=b"half-written")
    ix = LineIndex(p, block=4096, chunk=65536)
    assert ix.total == 0
    ix.scan_step()
    first = ix.total
    assert 0 < first < len(lines)
    assert ix.line(first - 1) == lines[-1].decode()  # newest lines come first
    seen_prepended = ix.prepended
    ix.scan()
    assert ix.total == len(lines) and ix.prepended > seen_prepended
    for i in [*rng.sample(range(len(lines)), 300), 500, 700]:
        assert ix.line(i) == lines[i].decode("utf-8", errors="replace")
    assert ix.line(700) == "y" * (1024 * 1024)
    # the half-written line arrives whole, then counts
    with p.open("ab") as fh:
        fh.write(b" end\nL-new\n")
    assert ix.grow() == 2
    assert ix.line(len(lines)) == "half-written end" and ix.line(len(lines) + 1) == "L-new"


def test_a_file_deleted_while_open_stays_readable(tmp_path: Path) -> None:
    p = tmp_path / "s20190913.log"
    _write(p, [f"line {i}".encode() for i in range(1000)])
    ix = LineIndex(p)
    p.unlink()
    ix.scan()
    assert ix.total == 1000 and ix.line(999) == "line 999"
    assert ix.grow() == 0


def test_truncation_is_detected(tmp_path: Path) -> None:
    p = tmp_path / "s20190913.log"
    _write(p, [b"a"] * 100)
    ix = LineIndex(p)
    ix.scan()
    p.write_bytes(b"new\n")
    assert ix.grow() == -1


# --- filter and time range ---------------------------------------------------------------


def _naive(lines: list[bytes], text: str) -> list[bytes]:
    out = []
    for ln in lines:
        ok = True
        for part in (p.strip() for p in text.split(";")):
            if not part:
                continue
            neg = part.startswith("!") and len(part) > 1
            term = part[1:] if neg else part
            if term.startswith("re:") and len(term) > 3:
                hit = re.search(term[3:].encode(), ln) is not None
            else:
                hit = term.encode() in ln
            ok = ok and (hit != neg)
        if ok:
            out.append(ln)
    return out


WORDS = ["smtp", "250", "ok", "QUIT", "a;b", "x"]


@given(
    st.lists(st.lists(st.sampled_from(WORDS), max_size=5).map(" ".join), max_size=200),
    st.lists(
        st.sampled_from(["250", "!ok", "QUIT", "re:^s", "!re:x$", "ok", ""]), min_size=1, max_size=3
    ),
)
@settings(max_examples=150, deadline=None)
def test_filter_equals_a_naive_reading(
    tmp_path_factory: pytest.TempPathFactory, body: list[str], terms: list[str]
) -> None:
    p = tmp_path_factory.mktemp("flt") / "s20190913.log"
    lines = [b.encode() for b in body]
    _write(p, lines)
    text = ";".join(terms)
    flt = search.parse_filter(text)
    want = _naive(lines, text)
    with search.Search(p, flt) as s:
        got = [m.line for chunk in s.chunks() for m in chunk]
    assert got == want
    assert search.count(p, flt) == len(want)


def test_filter_errors_and_case() -> None:
    with pytest.raises(BadInput, match="regular expression"):
        search.parse_filter("re:(")
    f = search.parse_filter("QUIT", ignore_case=True)
    assert f.matches(b"x quit y")
    assert not search.parse_filter("QUIT").matches(b"x quit y")
    with pytest.raises(BadInput):
        search.parse_clock("25h")


def test_count_matches_grep_on_a_simulated_log(sim_root: Path) -> None:
    if shutil.which("grep") is None:
        pytest.skip("no grep")
    cat = scan(sim_root / "logs")
    path = cat.get("smtp").current.path  # type: ignore[union-attr]
    for t1, t2 in (("Client session", "250"), ("<<<", "RCPT"), ("Connected", "1")):
        out = subprocess.run(
            f"grep -F -- '{t1}' '{path}' | grep -F -- '{t2}' | wc -l",
            shell=True,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert search.count(path, search.parse_filter(f"{t1};{t2}")) == int(out)


def test_time_range_equals_a_linear_scan(tmp_path: Path) -> None:
    rng = random.Random(5)
    lines = []
    t = 0
    while t < 86400:
        lines.append(
            f"1.2.3.4 [{rng.randrange(65536):04X}] {t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d} msg {t}".encode()
        )
        if rng.random() < 0.1:
            lines.append(b"   a continuation line without a time")
        t += rng.randrange(0, 7)
    p = tmp_path / "s20190913.log"
    _write(p, lines)
    for lo, hi in (
        (time(0, 0), time(0, 0, 30)),
        (time(13, 5), time(13, 6)),
        (time(23, 59, 50), None),
        (None, time(0, 1)),
    ):
        with search.Search(p, search.Filter(), start=lo, stop=hi) as s:
            got = [m.line for chunk in s.chunks() for m in chunk]
            read = s.hi - s.lo
        lo_s = None if lo is None else lo.hour * 3600 + lo.minute * 60 + lo.second
        hi_s = None if hi is None else hi.hour * 3600 + hi.minute * 60 + hi.second
        want = [ln for ln in lines if (secs := search.line_seconds(ln)) is not None
                and (lo_s is None or secs >= lo_s) and (hi_s is None or secs <= hi_s)]  # fmt: skip
        assert [g for g in got if search.line_seconds(g) is not None] == want
        if lo is not None and hi is not None:
            assert read < p.stat().st_size / 4, "the time range must be found, not scanned"


# --- day and filter views ----------------------------------------------------------------


def test_day_source_spans_rotated_parts_and_moves_on(tmp_path: Path) -> None:
    logs = tmp_path / "logs" / "smtp"
    logs.mkdir(parents=True)
    _write(logs / "s20190913.log", [f"1.1.1.1 [0001] 10:00:0{i} a{i}".encode() for i in range(5)])
    _write(
        logs / "s20190913-01.log", [f"1.1.1.1 [0001] 11:00:0{i} b{i}".encode() for i in range(5)]
    )
    cat = scan(tmp_path / "logs")
    d = cat.get("smtp", DAY)
    assert d is not None
    src = DaySource(tmp_path / "logs", [f.name for f in d.files], tmp_path / "cache")
    while not src.complete:
        src.scan_step()
    assert [src.line(i)[-2:] for i in range(src.total)] == [f"a{i}" for i in range(5)] + [
        f"b{i}" for i in range(5)
    ]
    _write(logs / "s20190913-02.log", [b"1.1.1.1 [0001] 12:00:00 c0"])
    res = src.poll()
    assert res.added == 1 and "s20190913-02.log" in res.notices[0]
    fs = FilterSource(src, search.parse_filter("re: [abc]1?0$"))
    import threading

    assert fs.run(threading.Event())
    assert [fs.line(i)[-2:] for i in range(fs.total)] == ["a0", "b0", "c0"]
    with (logs / "s20190913-02.log").open("ab") as fh:
        fh.write(b"1.1.1.1 [0001] 12:00:01 c10\n")
    src.poll()
    assert fs.poll() == 1 and fs.line(fs.total - 1).endswith("c10")
    src.close()
    fs.close()


def test_find_crosses_the_day_s_files_both_ways(tmp_path: Path) -> None:
    """Find (`/`, `n`, `N` in the Logs area): the next or previous line holding a term,
    any case, across a day's rotated parts, in the whole day or in what a filter kept."""
    import threading

    logs = tmp_path / "logs" / "smtp"
    logs.mkdir(parents=True)
    _write(logs / "s20190913.log", [f"1.1.1.1 [0001] 10:00:0{i} a{i}".encode() for i in range(5)])
    _write(logs / "s20190913-01.log",
           [f"1.1.1.1 [0001] 11:00:0{i} {'NEEDLE' if i == 3 else 'b'}{i}".encode()
            for i in range(5)])  # fmt: skip
    d = scan(tmp_path / "logs").get("smtp", DAY)
    assert d is not None
    src = DaySource(tmp_path / "logs", [f.name for f in d.files], tmp_path / "cache")
    src.scan(threading.Event())
    want = next(i for i in range(src.total) if "NEEDLE" in src.line(i))
    assert want == 8
    assert src.find("needle", 0, 1) == want  # forward from the first file into the second
    assert src.find("needle", src.total - 1, -1) == want  # and back
    assert src.find("needle", want, 1) is None and src.find("needle", want, -1) is None
    assert src.find("a2", 4, -1) == 2
    fs = FilterSource(src, search.parse_filter("1.1.1.1"))
    assert fs.run(threading.Event())
    assert fs.find("NEEDLE", 0, 1) == want and fs.find("needle", want, 1) is None
    src.close()
    fs.close()


def test_gz_archives_are_readable(tmp_path: Path) -> None:
    import gzip

    logs = tmp_path / "logs"
    logs.mkdir()
    with gzip.open(logs / "s20190912.log.gz", "wb") as fh:
        fh.write(b"1.1.1.1 [0001] 10:00:00 old\n")
    cat = scan(logs)
    d = cat.get("smtp", date(2019, 9, 12))
    assert d is not None and d.files[0].name.compressed
    src = DaySource(logs, [f.name for f in d.files], tmp_path / "cache")
    src.scan(__import__("threading").Event())
    assert src.line(0).endswith("old") and not src.live


def test_sparse_and_dense_paths_agree_with_a_naive_reading(tmp_path: Path) -> None:
    """Rare and common anchors, a change from sparse to dense within a chunk, exclusions,
    a regex and a time range: the same lines as a plain loop."""
    rng = random.Random(9)
    lines = []
    for i in range(60000):
        t = i // 2
        word = "common" if (i > 30000 or rng.random() < 0.01) else "other"
        extra = "RARE" if rng.random() < 0.002 else ""
        lines.append(
            f"1.2.3.4 [{i % 65536:04X}] {t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d} {word} {extra} n{i}".encode()
        )
    p = tmp_path / "s20190913.log"
    _write(p, lines)
    for text, lo, hi in (("common", None, None), ("common;!n1", None, None), ("RARE;common", None, None),
                         ("common;re:n\\d*7$", time(4, 0), time(6, 0)), ("RARE", time(1, 0), None)):  # fmt: skip
        flt = search.parse_filter(text)
        lo_s = None if lo is None else lo.hour * 3600 + lo.minute * 60
        hi_s = None if hi is None else hi.hour * 3600 + hi.minute * 60
        want = [ln for ln in _naive(lines, text) if (s := search.line_seconds(ln)) is not None
                and (lo_s is None or s >= lo_s) and (hi_s is None or s <= hi_s)]  # fmt: skip
        with search.Search(p, flt, start=lo, stop=hi) as s:
            got = [(m.offset, m.line) for chunk in s.chunks() for m in chunk]
        assert [g[1] for g in got] == want, text
        raw = p.read_bytes()
        assert all(raw[off : off + len(line) + 1] == line + b"\n" for off, line in got)
        assert search.count(p, flt, start=lo, stop=hi) == len(want)


def test_filter_source_keeps_its_time_range_for_new_lines(tmp_path: Path) -> None:
    import threading

    logs = tmp_path / "logs" / "smtp"
    logs.mkdir(parents=True)
    path = logs / "s20190913.log"
    _write(path, [f"1.1.1.1 [0001] {h:02d}:00:00 x{h}".encode() for h in range(12)])
    cat = scan(tmp_path / "logs")
    d = cat.get("smtp", DAY)
    assert d is not None
    src = DaySource(tmp_path / "logs", [f.name for f in d.files], tmp_path / "cache")
    src.scan(threading.Event())
    fs = FilterSource(src, search.parse_filter("x"), time(10, 0), time(12, 30))
    assert fs.run(threading.Event())
    assert [fs.line(i).split()[-1] for i in range(fs.total)] == ["x10", "x11"]
    with path.open("ab") as fh:
        fh.write(b"1.1.1.1 [0001] 12:10:00 x12\n1.1.1.1 [0001] 13:00:00 x13\n")
    src.poll()
    assert fs.poll() == 1 and fs.line(fs.total - 1).endswith("x12")


def test_filter_keeps_lines_appended_while_it_runs(tmp_path: Path) -> None:
    """Issue 14.4: lines appended while the filter was searching were marked searched
    without being searched (the end was read again after the search), so a following
    filter missed them for good."""
    import threading

    logs = tmp_path / "logs" / "smtp"
    logs.mkdir(parents=True)
    path = logs / "s20190913.log"
    _write(path, [f"1.1.1.1 [0001] 10:00:00 hit {i}".encode() for i in range(3)])
    d = scan(tmp_path / "logs").get("smtp", DAY)
    assert d is not None
    src = DaySource(tmp_path / "logs", [f.name for f in d.files], tmp_path / "cache")
    src.scan(threading.Event())
    fs = FilterSource(src, search.parse_filter("hit"))
    appended = [False]

    def tick() -> None:  # the UI thread polls while the search runs
        if not appended[0]:
            appended[0] = True
            with path.open("ab") as fh:
                fh.write(b"1.1.1.1 [0001] 10:00:01 hit late\n")
            assert src.poll().added == 1

    assert fs.run(threading.Event(), tick)
    fs.poll()
    assert fs.total == 4 and fs.line(3).endswith("hit late")
    src.close()
    fs.close()
