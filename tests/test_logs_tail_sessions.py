"""Following a log while it is written, rotated, rolled over at midnight and truncated;
and sessions cut out of the lines."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from pathlib import Path

from iwtui.icewarp.logs.catalog import scan
from iwtui.icewarp.logs.sessions import (
    find_session,
    related_lines,
    service_sessions,
    sessions_of_file,
)
from iwtui.icewarp.logs.tail import Follower

N = 100_000


def test_tail_across_rotation_midnight_and_truncation_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "logs" / "smtp"
    folder.mkdir(parents=True)
    (folder / "s20190913.log").write_bytes(b"")  # the file that exists when tailing starts
    follower = Follower(tmp_path / "logs", "smtp")
    got: list[str] = []
    notices: list[str] = []
    stop = threading.Event()
    caught_up = threading.Event()
    want_sync = threading.Event()

    def poll_loop() -> None:
        while not stop.is_set():
            for ev in follower.poll():
                (got if ev.kind == "line" else notices).append(
                    ev.text if ev.kind == "line" else ev.kind
                )
            if want_sync.is_set() and len(got) == 80_000:
                caught_up.set()
            time.sleep(0.001)
        for ev in follower.poll():
            (got if ev.kind == "line" else notices).append(
                ev.text if ev.kind == "line" else ev.kind
            )

    reader = threading.Thread(target=poll_loop)
    reader.start()
    path = folder / "s20190913.log"
    fh = path.open("ab", buffering=0)
    try:
        for i in range(N):
            if i == 30_000:
                fh.close()
                path = folder / "s20190913-01.log"  # size rotation
                fh = path.open("ab", buffering=0)
            elif i == 60_000:
                fh.close()
                path = folder / "s20190914.log"  # midnight
                fh = path.open("ab", buffering=0)
            elif i == 80_000:
                want_sync.set()
                assert caught_up.wait(30), f"reader stuck at {len(got)}"
                fh.truncate(0)  # the file is cut under the follower
                fh.close()
                fh = path.open("ab", buffering=0)
            line = f"1.2.3.4 [0001] 10:00:00 n={i}\n".encode()
            if i % 997 == 0:
                fh.write(line[:9])  # half a line: must wait for its newline
                time.sleep(0.0005)
                fh.write(line[9:])
            else:
                fh.write(line)
    finally:
        fh.close()
        deadline = time.monotonic() + 30
        while len(got) < N and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        reader.join()
        follower.close()
    numbers = [int(x.rsplit("n=", 1)[1]) for x in got]
    assert numbers == list(range(N)), "every line once, in order"
    assert notices.count("truncated") == 1 and notices.count("rotated") == 2


def _log(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(x + "\n" for x in lines))


def test_a_session_across_midnight_is_two_sessions(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    _log(logs / "smtp" / "s20190913.log", [
        "1.2.3.4         [00000A1C] 23:59:58 Connected",
        "1.2.3.4         [00000A1C] 23:59:58 >>> 220 ready",
        "1.2.3.4         [00000A1C] 23:59:59 <<< EHLO x",
    ])  # fmt: skip
    _log(logs / "smtp" / "s20190914.log", [
        "1.2.3.4         [00000A1C] 00:00:00 <<< MAIL From:<a@x.com>",
        "1.2.3.4         [00000A1C] 00:00:01 >>> 550 5.7.1 Relay access denied",
        "SYSTEM          [00000A1C] 00:00:01 Disconnected",
    ])  # fmt: skip
    cat = scan(logs)
    first = sessions_of_file("smtp", date(2019, 9, 13), logs / "smtp" / "s20190913.log")
    second = sessions_of_file("smtp", date(2019, 9, 14), logs / "smtp" / "s20190914.log")
    assert len(first) == 1 and len(second) == 1
    a, b = first[0], second[0]
    assert a.connected and not a.disconnected and a.state == "disconnected"
    assert not b.connected and b.disconnected and b.state == "failed" and "550" in b.reason
    assert a.start == datetime(2019, 9, 13, 23, 59, 58) and b.end == datetime(2019, 9, 14, 0, 0, 1)
    got = service_sessions(cat, "smtp", today=date(2019, 9, 14))
    assert [s.day for s in got.history] == [date(2019, 9, 14), date(2019, 9, 13)]


def test_states_kinds_thread_reuse_and_related_lines(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    _log(logs / "smtp" / "s20190913.log", [
        "10.0.0.1 [0001] 10:00:00 Connected",
        "10.0.0.1 [0001] 10:00:01 *** <a@x.com> <b@y.org> 1 100 00:00:01 OK MID1",
        "10.0.0.2 [0002] 10:00:01 Client session Connected",
        "10.0.0.2 [0002] 10:00:02 Client session Could not connect to 'mx.y.org(0.0.0.0)'",
        "SYSTEM   [0002] 10:00:02 Client session Disconnected",
        "SYSTEM   [0001] 10:00:02 Disconnected",
        "10.0.0.3 [0001] 10:05:00 Connected",
        "10.0.0.3 [0001] 10:05:01 <<< QUIT",
        "SYSTEM   [0001] 10:05:01 Disconnected",
        "10.0.0.4 [0003] 10:06:00 Connected",
        "10.0.0.4 [0003] 10:06:00 <<< EHLO still-here",
    ])  # fmt: skip
    _log(
        logs / "flow" / "q20190913.log",
        [
            "SYSTEM [0001] 10:00:01 HandleLocalMail Begin",
            "SYSTEM [0001] 11:00:00 later, not related",
        ],
    )
    cat = scan(logs)
    got = service_sessions(cat, "smtp", today=date(2019, 9, 13))
    states = {(s.thread, s.kind, s.state) for s in got.history}
    assert states == {
        ("0001", "S", "success"),
        ("0002", "C", "failed"),
        ("0001", "S", "disconnected"),
    }
    assert [(s.thread, s.state) for s in got.active] == [("0003", "active")]
    s = find_session(cat, "smtp", date(2019, 9, 13), "0001", datetime(2019, 9, 13, 10, 0, 1).time())
    assert s is not None and s.result == "OK" and s.peer == "10.0.0.1"
    assert related_lines(cat, s) == {"flow": ["SYSTEM [0001] 10:00:01 HandleLocalMail Begin"]}
    later = find_session(
        cat, "smtp", date(2019, 9, 13), "0001", datetime(2019, 9, 13, 10, 5, 0).time()
    )
    assert later is not None and later.peer == "10.0.0.3" and later.state == "disconnected"


def test_tracker_reads_increments_and_agrees_with_a_full_read(tmp_path: Path) -> None:
    from iwtui.icewarp.logs.sessions import SessionTracker

    logs = tmp_path / "logs"
    path = logs / "smtp" / "s20190913.log"
    lines = []
    for i in range(300):
        tid = f"{i % 50:04X}"
        lines += [f"10.0.0.{i % 200} [{tid}] 10:{i // 60:02d}:{i % 60:02d} Connected",
                  f"10.0.0.{i % 200} [{tid}] 10:{i // 60:02d}:{i % 60:02d} <<< EHLO x"]  # fmt: skip
        if i % 3:
            lines.append(f"SYSTEM [{tid}] 10:{i // 60:02d}:{i % 60:02d} Disconnected")
    _log(path, lines[:200])
    tracker = SessionTracker(logs, "smtp", history=40)
    tracker.update(today=date(2019, 9, 13))
    with path.open("a") as fh:
        for ln in lines[200:]:
            fh.write(ln + "\n")
        fh.write("10.9.9.9 [FFFF] 11:00:00 Conn")  # half a line: not yet
    got = tracker.update(today=date(2019, 9, 13))
    full = sessions_of_file("smtp", date(2019, 9, 13), path, still_open=True)
    assert [s.key for s in got.active] == [s.key for s in full if s.state == "active"]
    finished = sorted((s for s in full if s.state != "active"), key=lambda s: s.last_offset)
    assert [s.key for s in got.history] == [s.key for s in reversed(finished)][:40]
    assert len(tracker.history) == 40  # bounded
    # rotation: the new file is read, the old one's open sessions are cut, not lost
    _log(logs / "smtp" / "s20190913-01.log", ["10.1.1.1 [AAAA] 12:00:00 Connected"])
    after = tracker.update(today=date(2019, 9, 13))
    assert [s.thread for s in after.active] == ["AAAA"]
    assert {s.thread for s in after.history[:5]} <= {s.thread for s in got.active}
