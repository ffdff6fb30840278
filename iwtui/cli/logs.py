"""``iwtui logs ...`` and ``iwtui sessions ...``: the headless side of the log engine.

The same core as the Logs and Sessions screens (``iwtui.icewarp.logs``).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time as time_mod
from collections.abc import Callable
from datetime import date
from pathlib import Path

from iwtui.cli.common import Add, add_nested, context, emit_json, run_plan
from iwtui.cli.validate import count
from iwtui.errors import BadInput
from iwtui.icewarp import files
from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.logs import search
from iwtui.icewarp.logs.catalog import Catalog, LogDay
from iwtui.icewarp.logs.index import plain_path
from iwtui.icewarp.logs.lines import parse_line, safe_text
from iwtui.icewarp.logs.names import parse_name

# (sessions and the follower are imported by their commands: `logs show` starts faster)


def _catalog(args: argparse.Namespace) -> Catalog:

    inst = context(args).install()
    if not inst.log_dir.is_dir():
        raise BadInput(f"log folder not found: {inst.log_dir}")
    return catalog_mod.scan(inst.log_dir)


def _day(text: str | None) -> date | None:
    if text is None:  # not given; an empty --date "" is bad input (it meant today)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"bad date {text!r}: use YYYY-MM-DD") from None


def _log_day(cat: Catalog, service: str, day: date | None) -> LogDay:
    if service not in cat.services():
        known = ", ".join(cat.services()) or "none"
        raise BadInput(f"no logs for service {service!r} (services with logs: {known})")
    found = cat.get(service, day)
    if found is None:
        have = ", ".join(d.day.isoformat() for d in cat.days_of(service)[:7])
        raise BadInput(f"no {service} log for {day} (newest days: {have})")
    return found


def _readable(args: argparse.Namespace, path: Path) -> Path:
    """A ``.gz`` archive is decompressed once into iwtui's cache; other files as they are."""

    return plain_path(path, context(args).config.state_path() / "cache")


def _out(line: str) -> None:
    # Inert on a terminal and in a pipe alike (`| grep` must not pass OSC 52 on); the
    # bytes as written are in --json (JSON-escaped) or the file itself.
    sys.stdout.write(safe_text(line) + "\n")


def cmd_logs_list(args: argparse.Namespace) -> int:
    cat = _catalog(args)
    rows = []
    for service in cat.services():
        if args.service and service != args.service:
            continue
        for d in cat.days_of(service):
            for f in d.files:
                rows.append({
                    "service": service,
                    "date": d.day.isoformat(),
                    "server_id": f.name.server_id or None,
                    "part": f.name.part,
                    "compressed": f.name.compressed,
                    "size": f.size,
                    "mtime": time_mod.strftime("%Y-%m-%dT%H:%M:%S", time_mod.localtime(f.mtime)),
                    "path": str(f.path),
                })  # fmt: skip
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print(safe_text("no log files found" + (f" for {args.service}" if args.service else "")))
        return 0
    for r in rows:
        part = "" if r["part"] is None else f"-{r['part']:02d}"
        print(safe_text(f"{r['service']:<12} {r['date']}{part:<4} {r['size']:>14,}  {r['path']}"))
    return 0


def cmd_logs_show(args: argparse.Namespace) -> int:
    cat = _catalog(args)
    d = _log_day(cat, args.service, _day(args.date))
    flt = search.parse_filter(args.filter or "", ignore_case=args.ignore_case)
    start = search.parse_clock(args.from_) if args.from_ is not None else None
    stop = search.parse_clock(args.to) if args.to is not None else None
    if start is not None and stop is not None and start > stop:
        raise BadInput(f"--from {start} is after --to {stop}: nothing could match")
    paths = [_readable(args, f.path) for f in d.files]
    if args.count:
        print(sum(search.count(p, flt, start=start, stop=stop) for p in paths))
        return 0
    for path in paths:
        with search.Search(path, flt, start=start, stop=stop) as s:
            for matches in s.chunks():
                for m in matches:
                    text = m.line.rstrip(b"\r").decode("utf-8", errors="replace")
                    if args.json:
                        sys.stdout.write(
                            json.dumps(parse_line(text, d.day).as_json(), default=str) + "\n"
                        )
                    else:
                        _out(text)
    return 0


def cmd_logs_delete(args: argparse.Namespace) -> int:
    from iwtui.icewarp.logs.manage import delete_plan

    ctx = context(args)
    cat = _catalog(args)
    d = _log_day(cat, args.service, _day(args.date))
    plan = delete_plan(ctx.gate(), d, getattr(args, "root", None) and Path(args.root))
    return run_plan(args, plan)


def cmd_logs_parse(args: argparse.Namespace) -> int:
    status = 0
    for name in args.files:
        path = Path(name)
        parsed = parse_name(path)
        day = parsed.day if parsed else None
        try:
            # a file the admin names: a link is followed, but a FIFO, a device or a folder
            # is refused at once (a FIFO would wait for a writer forever)
            fd, _st = files.open_fd(path, follow=True)
        except files.Unsafe as exc:
            print(safe_text(f"iwtui: {exc}"), file=sys.stderr)
            status = max(status, 2 if path.is_dir() else 1)  # a folder is not a log: bad input
            continue
        except OSError as exc:
            print(safe_text(f"iwtui: {path}: {exc.strerror or exc}"), file=sys.stderr)
            # a file that is not there is bad input (2); one not readable is refused (1)
            missing = isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError))
            status = max(status, 2 if missing else 1)
            continue
        with open(fd, "rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    continue  # a half-written last line: not a line yet
                text = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")
                ln = parse_line(text, day)
                if args.json:
                    obj = ln.as_json()
                    obj["file"] = str(path)
                    sys.stdout.write(json.dumps(obj, default=str) + "\n")
                else:
                    extra = " ".join(
                        f"{k}={v}" for k, v in ln.fields.items() if k != "interpretation"
                    )
                    _out(
                        f"{ln.kind:<12} {ln.thread or '-':<8} {ln.time.isoformat() if ln.time else '-':<19} {extra}"
                    )
    return status


def cmd_logs_tail(args: argparse.Namespace) -> int:

    inst = context(args).install()
    from iwtui.icewarp.logs.tail import Follower

    f = Follower(inst.log_dir, args.service, from_start=False)
    if f.current is None:
        print(safe_text(f"iwtui: waiting for a {args.service} log in {inst.log_dir}"),
              file=sys.stderr)  # fmt: skip
    flt = search.parse_filter(args.filter or "")
    try:
        # first the last lines already there, as `tail -f` does (of those matching the filter)
        for text in f.last_lines(args.lines, None if flt.empty else flt.matches_text):
            _out(text)
        sys.stdout.flush()
        while True:
            for ev in f.poll():
                if ev.kind == "line":
                    if flt.empty or flt.matches_text(ev.text):
                        _out(ev.text)
                else:
                    print(safe_text(f"iwtui: {ev.text}"), file=sys.stderr)
            sys.stdout.flush()
            time_mod.sleep(args.interval)
    except KeyboardInterrupt:
        return 0
    finally:
        f.close()


def cmd_sessions_list(args: argparse.Namespace) -> int:
    from iwtui.icewarp.logs import sessions

    cat = _catalog(args)
    services = (
        [args.service]
        if args.service
        else [s for s in ("smtp", "pop3", "imap") if s in cat.services()]
    )
    if args.service and args.service not in cat.services():
        raise BadInput(f"no logs for service {args.service!r}")
    rows = []
    for svc in services:
        got = sessions.service_sessions(cat, svc)
        for err in got.errors:
            print(safe_text(f"iwtui: {err}"), file=sys.stderr)
        chosen = got.active if args.active else got.active + got.history
        rows.extend(chosen)
    if args.json:
        emit_json([s.as_json() for s in rows])
        return 0
    for s in rows:
        when = s.start.strftime("%H:%M:%S") if s.start else "--:--:--"
        who = s.account or s.sender or ""
        _out(
            f"{s.kind} {s.state:<12} {s.service:<5} {s.day} {when} [{s.thread}] {s.peer:<16} {who} {s.reason}"
        )
    return 0


def cmd_sessions_show(args: argparse.Namespace) -> int:
    from iwtui.icewarp.logs import sessions

    cat = _catalog(args)
    day = _day(args.date) or date.today()
    at = search.parse_clock(args.at) if args.at else None
    s = sessions.find_session(cat, args.service, day, args.thread, at)
    if s is None:
        raise BadInput(f"no {args.service} session with thread {args.thread} on {day}")
    related = sessions.related_lines(cat, s)
    if args.json:
        out = s.as_json(with_lines=True)
        out["related"] = related
        emit_json(out)
        return 0
    _out(
        f"# {s.kind} session [{s.thread}] {s.peer} {s.state} {s.start} .. {s.end} ({s.line_count} lines) {s.path}"
    )
    for ln in s.lines:
        _out(ln.raw)
    for svc, lines in related.items():
        print(safe_text(f"# related lines in the {svc} log"))
        for text in lines:
            _out(text)
    return 0


def register(
    add: Add,
    lists: Callable[[argparse.ArgumentParser], None],
    writes: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = add(
        "logs", lambda a: a.logs_func(a), "log files: list, show (filter, time range), parse, tail"
    )
    sub = p.add_subparsers(title="logs commands", metavar="WHAT", required=True)

    sp = functools.partial(add_nested, sub, "logs_func")

    q = sp("list", cmd_logs_list, "every log file by service and day")
    q.add_argument("--service", metavar="S")
    lists(q)
    q = sp("show", cmd_logs_show, "lines of a service's day, filtered ('a;b;!c;re:x') and by time")
    q.add_argument("--service", metavar="S", required=True)
    q.add_argument("--date", metavar="YYYY-MM-DD", help="default: the newest day")
    q.add_argument("--from", dest="from_", metavar="HH:MM[:SS]")
    q.add_argument("--to", metavar="HH:MM[:SS]")
    q.add_argument(
        "--filter", metavar="'a;b;!c'", help="all terms must occur; !t excludes; re:x is a regex"
    )
    q.add_argument("-i", "--ignore-case", action="store_true")
    q.add_argument("--count", action="store_true", help="print only the number of matching lines")
    lists(q)
    q = sp("delete", cmd_logs_delete, "move a service's day of logs to iwtui's trash (undoable)")
    q.add_argument("--service", metavar="S", required=True)
    q.add_argument("--date", metavar="YYYY-MM-DD", required=True)
    q.add_argument("--yes", action="store_true", help="act without asking")
    q.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    q = sp(
        "parse", cmd_logs_parse, "one object per line: who, thread, time, direction, kind, fields"
    )
    q.add_argument("files", nargs="+", metavar="FILE")
    lists(q)
    q = sp("tail", cmd_logs_tail, "follow a service's log across rotation, midnight and truncation")
    q.add_argument("--service", metavar="S", required=True)
    q.add_argument("--filter", metavar="'a;b;!c'")
    q.add_argument(
        "-n",
        "--lines",
        type=count,
        default=10,
        metavar="N",
        help="show the last N lines (matching the filter) first; 0: only new ones (default 10)",
    )
    q.add_argument("--interval", type=float, default=0.2, help=argparse.SUPPRESS)

    p = add("sessions", lambda a: a.sessions_func(a), "SMTP, POP3 and IMAP sessions from the logs")
    sp = functools.partial(
        add_nested,
        p.add_subparsers(title="sessions commands", metavar="WHAT", required=True),
        "sessions_func",
    )
    q = sp("list", cmd_sessions_list, "active sessions and the last 100 finished ones per service")
    q.add_argument("--service", metavar="S")
    q.add_argument("--active", action="store_true", help="only the active ones")
    lists(q)
    q = sp(
        "show", cmd_sessions_show, "one session's protocol log plus related flow/performance lines"
    )
    q.add_argument("--service", metavar="S", required=True)
    q.add_argument("--date", metavar="YYYY-MM-DD", help="default: today")
    q.add_argument("--thread", metavar="TID", required=True)
    q.add_argument(
        "--at", metavar="HH:MM:SS", help="the session around this time (thread ids are reused)"
    )
    lists(q)
