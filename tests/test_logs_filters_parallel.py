"""Filters of the Logs engine on both cores (issue 15): the helper process gives grep's
counts and the same lines as one core, whatever the chunk edges cut; cancel and early
ends leave no process behind; small files never start one; ``re:`` on whole blocks means
what it means line by line."""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from iwtui.icewarp.logs import scan, search
from iwtui.simulator.tree import SimOptions, build

NEVER = 1 << 62  # a threshold no test file reaches: one core
FORCE = 1  # every span shares its work with a helper


@pytest.fixture(scope="module")
def smtp_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sim") / "icewarp"
    build(root, SimOptions(seed=5, start="2026-01-15T14:30:00", log_mb=3, queue=0, quarantine=0, tarpit=0))  # fmt: skip
    return next((root / "logs" / "smtp").glob("s*.log"))


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> list[search._Helper]:
    """Every helper started, kept to look at afterwards. On these small files this
    process would be done before a helper is up (~0.1 s, seconds on a loaded machine):
    a helper is waited for once started, and every range it could take counts."""
    started: list[search._Helper] = []
    real_init, real_own = search._Helper.__init__, search.Search._own

    def init(self: search._Helper, first: tuple[object, ...]) -> None:
        real_init(self, first)
        started.append(self)
        if scan.read_frame(self.fd)[0] == "ready":
            self.ready = True
        else:
            self.close()  # it refused the file: this process does it all

    def own(self: search.Search, a: int, b: int, with_lines: bool) -> search.Result:
        time.sleep(0.002)  # a busy core: the helper gets its share
        return real_own(self, a, b, with_lines)

    monkeypatch.setattr(search._Helper, "__init__", init)
    monkeypatch.setattr(search.Search, "_own", own)
    monkeypatch.setattr(search, "HELPER_WORTH", 0)  # whatever the first range cost
    return started


def _grep(cmd: str, path: Path) -> int:
    out = subprocess.run(cmd.format(f=path), shell=True, capture_output=True, text=True)
    return int(out.stdout)


GREP = [  # a filter, the grep pipeline counting the same lines
    ("Client session;250", "grep -F 'Client session' {f} | grep -cF 250"),  # dense
    (">>> 5;Unknown user", "grep -F '>>> 5' {f} | grep -cF 'Unknown user'"),  # sparse
    ("Client session;!250", "grep -F 'Client session' {f} | grep -vcF 250"),
    ("SYSTEM", "grep -cF SYSTEM {f}"),
    ("!Client", "grep -vcF Client {f}"),
    (r"re:>>> 5[0-9]{2} 5\.[0-9]\.[0-9]", r"grep -cE '>>> 5[0-9]{{2}} 5\.[0-9]\.[0-9]' {f}"),
    (r"re:[0-9]+ 5\.7\.[0-9]", r"grep -cE '[0-9]+ 5\.7\.[0-9]' {f}"),
    (r"re:^SYSTEM.*Disconnected$", r"grep -cE '^SYSTEM.*Disconnected$' {f}"),
    (r"Client session;!re:<<< 2", r"grep -F 'Client session' {f} | grep -cvE '<<< 2'"),
    ("re:.", "grep -c . {f}"),
    ("!re:^SYSTEM|Client", "grep -cvE '^SYSTEM|Client' {f}"),
    ("!re:Connected;!re:[0-9]{3} 2", "grep -vE 'Connected' {f} | grep -cvE '[0-9]{{3}} 2'"),
]


@pytest.mark.parametrize(("text", "grep"), GREP)
def test_counts_equal_grep_on_one_core_and_on_two(
    smtp_log: Path, helpers: list[search._Helper], monkeypatch: pytest.MonkeyPatch, text: str, grep: str
) -> None:  # fmt: skip
    monkeypatch.setattr(search, "CHUNK", 64 * 1024)  # ~50 ranges: lines cut at every edge
    want = _grep(grep, smtp_log)
    assert want > 0
    flt = search.parse_filter(text)
    assert search.count(smtp_log, flt, parallel=NEVER) == want
    assert not helpers
    with search.Search(smtp_log, flt, parallel=FORCE) as s:
        assert sum(s.count_chunks()) == want
        assert s.helpers_used >= 1 and s.helper_ranges > 0  # the helper did its share
    with search.Search(smtp_log, flt, parallel=NEVER) as one, search.Search(smtp_log, flt, parallel=FORCE) as two:  # fmt: skip
        lines_one = [(m.offset, m.line) for c in one.chunks() for m in c]
        lines_two = [(m.offset, m.line) for c in two.chunks() for m in c]
        assert two.helper_ranges > 0
    assert lines_two == lines_one and len(lines_one) == want
    raw = smtp_log.read_bytes()
    assert all(raw[o : o + len(ln) + 1] == ln + b"\n" and (o == 0 or raw[o - 1] == 10) for o, ln in lines_two)  # fmt: skip
    assert all(h.proc.returncode is not None for h in helpers)  # reaped


def _naive(lines: list[bytes], text: str) -> list[bytes]:
    flt = search.parse_filter(text)
    return [ln for ln in lines if flt.matches(ln)]


def test_any_chunk_edge_gives_each_line_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helpers: list[search._Helper]) -> None:  # fmt: skip
    """Lines of every length, some longer than several chunks, an empty line, and a last
    line still being written: each chunk size gives the lines of a plain loop."""
    rng = random.Random(4)
    lines = []
    for i in range(400):
        n = rng.choice([0, 1, 5, 40, 90, 300, 1000])
        lines.append(f"{i} {'ab' if i % 3 else 'cd'} ".encode() + b"x" * n)
    lines[17] = b""
    p = tmp_path / "s20260115.log"
    p.write_bytes(b"".join(ln + b"\n" for ln in lines) + b"ab half-written")
    for size in (1, 2, 3, 7, 64, 100, 333, 1000, 4096, 1 << 20):
        monkeypatch.setattr(search, "CHUNK", size)
        for text in ("ab", "ab;!x", "cd;re:x{200}", "re:^[0-9]+ ab", "!ab", "ab;x", "x;ab\n1"):
            with search.Search(p, search.parse_filter(text), parallel=NEVER) as s:
                got = [m.line for c in s.chunks() for m in c]
            assert got == _naive(lines, text), (size, text)
    # the same cut across a helper: odd edges, long lines owned by the range they start in
    monkeypatch.setattr(search, "CHUNK", 333)
    for text in ("ab", "!ab", "cd;re:x{200}"):
        with search.Search(p, search.parse_filter(text), parallel=FORCE) as s:
            got = [m.line for c in s.chunks() for m in c]
            assert s.helper_ranges > 0
        assert got == _naive(lines, text), text


def test_a_range_owns_the_lines_that_start_in_it(tmp_path: Path) -> None:
    p = tmp_path / "x.log"
    raw = b"aaaa\nbb\n" + b"c" * 50 + b"\nd\nhalf"
    p.write_bytes(raw)
    fd = os.open(p, os.O_RDONLY)
    try:
        seen = []
        for size in (1, 3, 8, 20):
            got = []
            for a, b in scan.ranges(0, len(raw), size):
                data, base, end = scan.read_block(fd, a, b, 0, len(raw))
                got += [(base, data[:end])] if end else []
            seen.append(b"".join(d for _, d in got))
            assert [g[0] for g in got] == sorted({g[0] for g in got})
        assert set(seen) == {b"aaaa\nbb\n" + b"c" * 50 + b"\nd\n"}
    finally:
        os.close(fd)


PIECES = ["a", "b", "ab", " ", "^", "$", r"\b", r"\B", "[^a]", r"\s", r"\S", ".", "x*", "(a|b)",
          "[ab]+", "a?", r"\d", "(?i)A", "", r"\A", r"\z", "(?s).", "(?-m)^a", "(?m)$", r"\n"]  # fmt: skip


def test_re_on_whole_blocks_means_what_it_means_line_by_line(tmp_path: Path) -> None:
    """Random patterns (anchors, negated classes, empty matches, flags) over lines with
    empty ones: RE2 on the block finds exactly the lines RE2 finds one line at a time."""
    rng = random.Random(11)
    lines = [
        "".join(rng.choice(["a", "b", " ", "1", "x", "\t", "é", "ab "]) for _ in range(rng.randrange(0, 9))).encode()
        for _ in range(300)
    ]  # fmt: skip
    p = tmp_path / "s20260115.log"
    p.write_bytes(b"".join(ln + b"\n" for ln in lines))
    for _ in range(400):
        pat = "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 4)))
        text = ("!" if rng.random() < 0.2 else "") + "re:" + pat
        try:
            flt = search.parse_filter(text, ignore_case=rng.random() < 0.2)
        except Exception:
            continue
        if not pat:
            continue
        want = [ln for ln in lines if flt.matches(ln)]
        with search.Search(p, flt, parallel=NEVER) as s:
            got = [m.line for c in s.chunks() for m in c]
        assert got == want, pat
    # the block form is used where it can be, and only there
    assert scan.block_regex(rb"a.*b", ignore_case=False) is not None
    assert scan.block_regex(rb"\Aa", ignore_case=False) is None
    assert scan.block_regex(rb"(?s)a.b", ignore_case=False) is None


def test_cancel_and_an_early_end_leave_no_process(smtp_log: Path, helpers: list[search._Helper], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(search, "CHUNK", 16 * 1024)
    cancel = threading.Event()
    with search.Search(smtp_log, search.parse_filter("Client session"), parallel=FORCE) as s:
        seen = 0
        for _chunk in s.chunks(cancel):
            seen += 1
            if seen == 40:
                cancel.set()
        assert seen == 40  # nothing after the cancel
        assert s.progress < 1
    assert helpers and all(h.proc.returncode is not None for h in helpers)
    helpers.clear()
    with search.Search(smtp_log, search.parse_filter("250"), parallel=FORCE) as s:
        for _chunk in s.chunks():
            break  # the caller stops reading: the generator is closed
        assert helpers and all(h.proc.returncode is not None for h in helpers)


def test_small_spans_start_no_process(smtp_log: Path, helpers: list[search._Helper]) -> None:
    assert smtp_log.stat().st_size < search.PARALLEL_MIN
    flt = search.parse_filter("Client session;250")
    with search.Search(smtp_log, flt) as s:
        assert sum(s.count_chunks()) > 0 and s.helpers_used == 0
    assert not helpers


def test_a_swapped_file_is_not_read_by_the_helper_and_nothing_hangs(
    smtp_log: Path, tmp_path: Path, helpers: list[search._Helper]
) -> None:
    """The helper opens the path again (no link, FIFO or device; the same inode): a file
    replaced by a FIFO after the search opened it is refused at once, and this process
    does all the work on the file it opened."""
    p = tmp_path / "s20260115.log"
    p.write_bytes(smtp_log.read_bytes())
    flt = search.parse_filter("Client session;250")
    want = search.count(p, flt, parallel=NEVER)
    for swap in ("fifo", "link", "other"):
        with search.Search(p, flt, parallel=FORCE) as s:
            p.rename(tmp_path / "old.log")
            if swap == "fifo":
                os.mkfifo(p)
            elif swap == "link":
                p.symlink_to(tmp_path / "old.log")
            else:
                p.write_bytes(b"SYSTEM Client session 250\n" * 10)
            assert sum(s.count_chunks()) == want
            assert s.helpers_used >= 1 and s.helper_ranges == 0
        p.unlink()
        (tmp_path / "old.log").rename(p)
    assert all(h.proc.returncode is not None for h in helpers)


def test_a_time_range_is_kept_by_the_helper(smtp_log: Path, helpers: list[search._Helper], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from datetime import time as clock

    monkeypatch.setattr(search, "CHUNK", 16 * 1024)
    for text in ("Client session;250", "re:Unknown user"):
        flt = search.parse_filter(text)
        lo, hi = clock(3, 0), clock(9, 30)
        with search.Search(smtp_log, flt, start=lo, stop=hi, parallel=NEVER) as one:
            want = [(m.offset, m.line) for c in one.chunks() for m in c]
        with search.Search(smtp_log, flt, start=lo, stop=hi, parallel=FORCE) as two:
            got = [(m.offset, m.line) for c in two.chunks() for m in c]
            assert two.helper_ranges > 0
        assert got == want and want
        times = [search.line_seconds(ln) for _, ln in got]
        assert all(t is None or 3 * 3600 <= t <= 9 * 3600 + 1800 for t in times)


def test_a_block_turning_dense_gives_the_right_lines_and_offsets(tmp_path: Path) -> None:
    """Sparse hits, then most lines holding the term (the kernel splits the rest of the
    block): every offset is where its line starts, and the regex sees the right line."""
    lines = [f"{i} {'hit' if i % 97 == 0 or i > 3000 else 'miss'} {i % 10}".encode() for i in range(9000)]  # fmt: skip
    p = tmp_path / "s20260115.log"
    p.write_bytes(b"".join(ln + b"\n" for ln in lines))
    raw = p.read_bytes()
    for text in ("hit", "hit;re:7$", "hit;!3"):
        with search.Search(p, search.parse_filter(text), parallel=NEVER) as s:
            got = [(m.offset, m.line) for c in s.chunks() for m in c]
        assert [ln for _, ln in got] == _naive(lines, text), text
        assert all(raw[o : o + len(ln) + 1] == ln + b"\n" and (o == 0 or raw[o - 1] == 10) for o, ln in got)  # fmt: skip


def test_a_stopped_helper_does_not_hold_the_search(smtp_log: Path, helpers: list[search._Helper], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A helper that stops answering (SIGSTOP, a starved process): this process does its
    ranges too, the count is right, and the helper is killed and reaped at the end."""
    import signal

    monkeypatch.setattr(search, "CHUNK", 64 * 1024)
    flt = search.parse_filter("Client session;250")
    want = search.count(smtp_log, flt, parallel=NEVER)
    real_send = search._Helper.send

    def send(self: search._Helper, frame: tuple[object, ...]) -> None:
        if len(frame) == 4:  # its first range: it is stopped before the range reaches it
            os.kill(self.proc.pid, signal.SIGSTOP)  # (after the send, it could answer first)
        real_send(self, frame)

    monkeypatch.setattr(search._Helper, "send", send)
    t0 = time.monotonic()
    with search.Search(smtp_log, flt, parallel=FORCE) as s:
        assert sum(s.count_chunks()) == want
        assert s.helpers_used == 1 and s.helper_ranges == 0
    assert time.monotonic() - t0 < 30  # never waits for it (a hang would be forever)
    assert helpers and all(h.proc.returncode is not None for h in helpers)
