"""An independent count of the traffic counters, line by line with the logs engine's own
parser (``parse_line``), for the traffic tests to compare the fast engine against."""

from __future__ import annotations

import gzip
import os
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from iwtui.icewarp.logs.lines import parse_line
from iwtui.icewarp.logs.names import parse_name

SKIP = {"flow", "performance", "error", "spamreports", "maintenance"}
FILTERS = {"AV": "msgvirusrejected", "DBF": "msgcontentfilter", "DNSBL": "msgdns",
           "TARP": "msgintrusionprevention", "GRLST": "greylisting", "AS": "refused"}  # fmt: skip
ACTIONS = {"QUARANTINE": "quarantine", "SPAM": "spammarked", "MARK": "spammarked",
           "REJECT": "refused", "REFUSE": "refused", "REFUSED": "refused",
           "DELETE": "refused"}  # fmt: skip


def _files(log_dir: Path) -> list[tuple[Any, Path]]:
    out = []
    for dirpath, _d, names in os.walk(log_dir):
        for n in sorted(names):
            p = Path(dirpath) / n
            parsed = parse_name(p, log_dir)
            if parsed is None or parsed.service in SKIP or p.is_symlink() or not p.is_file():
                continue
            out.append((parsed, p))
    return out


def _lines(name: Any, path: Path) -> list[str]:
    raw = gzip.decompress(path.read_bytes()) if name.compressed else path.read_bytes()
    text = raw.decode("utf-8", "replace").split("\n")
    return text[:-1]  # the last piece has no newline yet: not a line


def count(log_dir: Path, skip_gz_of_plain: bool = True) -> tuple[Counter[tuple[str, str, str]],
                                                                  dict[tuple[str, str], list[Any]]]:  # fmt: skip
    """(service, counter, 'YYYY-MM-DDTHH:MM') -> value, and (day, account) -> row of
    received #/bytes, sent #/bytes, sent out #/bytes, last sent/received/login, last ip."""
    counts: Counter[tuple[str, str, str]] = Counter()
    accounts: dict[tuple[str, str], list[Any]] = {}
    files = _files(log_dir)
    plain = {(n.service, n.server_id, n.day, n.part) for n, _p in files if not n.compressed}
    for name, path in files:
        if name.compressed and (name.service, name.server_id, name.day, name.part) in plain:
            continue
        service = "smtp" if name.service in ("antispam", "antivirus") else name.service
        day = name.day
        last: datetime | None = None
        wrap = 0
        seen: dict[str, set[str]] = {}
        for raw in _lines(name, path):
            line = parse_line(raw.removesuffix("\r"), day + timedelta(days=wrap))
            if line.time is None or line.kind == "raw":
                continue
            t = line.time.replace(tzinfo=None)
            if raw.split("] ", 1)[-1][:2].isdigit():  # hh:mm:ss clock: midnight wrap
                if last is not None and t < last - timedelta(hours=12):
                    wrap += 1
                    t += timedelta(days=1)
                last = t
            minute = t.strftime("%Y-%m-%dT%H:%M")
            msg = line.message

            def once(key: str, name: str, seen: dict[str, set[str]] = seen,
                     minute: str = minute, service: str = service) -> None:  # fmt: skip
                got = seen.setdefault(key, set())
                if name not in got:
                    got.add(name)
                    counts[(service, name, minute)] += 1

            if name.service == "antivirus":  # any line with a head: once per thread a minute
                if line.who != "SYSTEM" and (msg or line.direction or line.client):
                    once(f"{line.thread} {minute}", "msgvirus")
                continue
            if name.service == "antispam":
                if line.kind == "antispam":
                    key = f"{line.thread}/{line.fields['message_id']}"
                    sa = line.fields["reason"].get("SpamAssassin")
                    try:
                        if sa is not None and float(sa) != 0:
                            once(key, "spamassasin")
                    except ValueError:
                        pass
                    act = ACTIONS.get(line.fields["action"].upper())
                    if act:
                        once(key, act)
                continue
            if not line.direction and (msg == "Connected" or msg.startswith("Connected,")):
                counts[(service, "clientconn" if line.client else "serverconn", minute)] += 1
                seen.pop(line.thread, None)
            elif line.kind == "summary":
                f = line.fields
                ok = f["result"] == "OK"
                size = f["size"]
                n = len(f["recipients"]) or f["count"]
                stamp = t.strftime("%Y-%m-%dT%H:%M:%S")
                dk = t.date().isoformat()
                if line.client:
                    if ok:
                        counts[(service, "msgsent", minute)] += 1
                        counts[(service, "clientdataout", minute)] += size
                        row = _row(accounts, dk, f["sender"])
                        row[4] += n
                        row[5] += n * size
                    else:
                        counts[(service, "msgfailed", minute)] += 1
                elif ok:
                    counts[(service, "msgreceived", minute)] += 1
                    counts[(service, "serverdatain", minute)] += size
                    row = _row(accounts, dk, f["sender"])
                    row[2] += n
                    row[3] += n * size
                    row[6] = max(row[6] or "", stamp)
                    for r in f["recipients"]:
                        row = _row(accounts, dk, r)
                        row[0] += 1
                        row[1] += size
                        row[7] = max(row[7] or "", stamp)
                else:
                    counts[(service, "msgrejected", minute)] += 1
                    if f["result"] in FILTERS:
                        once(line.thread, FILTERS[f["result"]])
            elif line.kind == "login":
                counts[(service, "logins", minute)] += 1
                row = _row(accounts, t.date().isoformat(), line.fields["account"])
                stamp = t.strftime("%Y-%m-%dT%H:%M:%S")
                if row[8] is None or stamp >= row[8]:
                    row[8], row[9] = stamp, line.who
            elif line.kind == "login_failed":
                counts[(service, "loginsfailed", minute)] += 1
            elif line.kind == "tarpit":
                once(line.thread, "msgintrusionprevention")
            elif (
                line.kind == "greylist"
                and not line.client
                and str(line.fields.get("code", "")).startswith("4")
            ):
                once(line.thread, "greylisting")
    return +counts, accounts


def _row(acc: dict[tuple[str, str], list[Any]], day: str, address: str) -> list[Any]:
    key = (day, address.lower())
    if key not in acc:
        acc[key] = [0, 0, 0, 0, 0, 0, None, None, None, None]
    return acc[key]


def store_counts(db: Any, server: str = "") -> Counter[tuple[str, str, str]]:
    from iwtui.icewarp.traffic.scan import minute_time

    out: Counter[tuple[str, str, str]] = Counter()
    for service, counter, minute, value in db.execute(
        "SELECT service, counter, minute, value FROM minute WHERE server=?", (server,)
    ):
        if value:
            out[(service, counter, minute_time(minute)[:16])] = value
    return out


def hours(counts: Counter[tuple[str, str, str]]) -> Counter[tuple[str, str, str]]:
    out: Counter[tuple[str, str, str]] = Counter()
    for (s, c, m), v in counts.items():
        out[(s, c, m[:13])] += v
    return +out


def store_hours(db: Any, server: str = "") -> Counter[tuple[str, str, str]]:
    from iwtui.icewarp.traffic.scan import minute_time

    out: Counter[tuple[str, str, str]] = Counter()
    for service, counter, t, total in db.execute(
        "SELECT service, counter, t, total FROM rollup WHERE step_s=3600 AND server=?", (server,)
    ):
        if total:
            out[(service, counter, minute_time(t)[:13])] = total
    return out


def day_of(iso: str) -> date:
    return date.fromisoformat(iso[:10])


def test_the_reference_itself(tmp_path: Path) -> None:
    """The independent count on a hand-counted log: the yardstick is right."""
    log = tmp_path / "logs" / "smtp" / "s20261124.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "1.2.3.4         [0001] 09:00:01 Connected\n"
        "1.2.3.4         [0001] 09:00:02 *** <A@x.org> <b@y.org> <c@y.org> 2 10 00:00:01 OK M1\n"
        "1.2.3.4         [0001] 09:00:03 *** <a@x.org> <d@y.org> 1 0 00:00:01 DNSBL\n"
        "1.2.3.4         [0001] 09:00:03 *** <a@x.org> <e@y.org> 1 0 00:00:01 DNSBL\n"
        "5.6.7.8         [0002] 09:01:00 Client session Connected\n"
        "5.6.7.8         [0002] 09:01:01 Client session *** <a@x.org> <z@q.org> 1 7 00:00:01 OK\n"
        "5.6.7.8         [0003] 09:01:02 Client session *** <a@x.org> <z@q.org> 1 7 00:00:01 CNC\n"
        "9.9.9.9         [0004] 09:02:00 User b@y.org logged in\n"
        "1.2.3.4         [0001] 09:02:01 Connected"  # no newline yet: not a line
    )
    counts, acc = count(tmp_path / "logs")
    assert counts == Counter({
        ("smtp", "serverconn", "2026-11-24T09:00"): 1,
        ("smtp", "msgreceived", "2026-11-24T09:00"): 1,
        ("smtp", "serverdatain", "2026-11-24T09:00"): 10,
        ("smtp", "msgrejected", "2026-11-24T09:00"): 2,
        ("smtp", "msgdns", "2026-11-24T09:00"): 1,
        ("smtp", "clientconn", "2026-11-24T09:01"): 1,
        ("smtp", "msgsent", "2026-11-24T09:01"): 1,
        ("smtp", "clientdataout", "2026-11-24T09:01"): 7,
        ("smtp", "msgfailed", "2026-11-24T09:01"): 1,
        ("smtp", "logins", "2026-11-24T09:02"): 1,
    })  # fmt: skip
    assert acc[("2026-11-24", "a@x.org")][:6] == [0, 0, 2, 20, 1, 7]
    assert acc[("2026-11-24", "b@y.org")][:2] == [1, 10]
    assert acc[("2026-11-24", "b@y.org")][8:] == ["2026-11-24T09:02:00", "9.9.9.9"]
