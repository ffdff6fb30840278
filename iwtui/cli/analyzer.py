"""Log Analyzer: import, reports, report, sql, mail, schedule (issue 13)."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from iwtui.cli.common import EXIT_OK, Add, add_nested, context, emit_json, execute
from iwtui.cli.validate import MAX_DAYS, count, count_upto
from iwtui.errors import BadInput, Refused
from iwtui.text import safe_text


def _settings(args: argparse.Namespace) -> Any:
    from iwtui.analyzer.settings import parse

    ctx = context(args)
    return ctx, parse(ctx.config.analyzer)


def _db_url(args: argparse.Namespace) -> str:
    ctx, s = _settings(args)
    return str(getattr(args, "db", None) or s.db_url(ctx.config.state_path()))


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{what}: a date as YYYY-MM-DD, not {text!r}") from None


def _days(args: argparse.Namespace) -> list[date]:
    from iwtui.analyzer.importer import days_between, yesterday

    chosen = sum(bool(x) for x in (args.date, args.yesterday, args.from_ or args.to))
    if chosen > 1:
        raise BadInput("give one of --date, --yesterday or --from/--to")
    if args.yesterday:
        return [yesterday()]
    if args.from_ or args.to:
        if not (args.from_ and args.to):
            raise BadInput("--from and --to go together")
        return days_between(_day(args.from_, "--from"), _day(args.to, "--to"))
    return [_day(args.date, "--date") if args.date else datetime.now().date()]


def _progress() -> Callable[[int, int, str], None] | None:
    if not sys.stderr.isatty():
        return None
    last = [0.0]

    def show(done: int, total: int, what: str) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        pct = 100 * done // total if total else 100
        sys.stderr.write(f"\r{what}: {pct:3d}% of {total / 1e6:,.1f} MB   ")
        if done >= total and what == "writing the database":
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def cmd_import(args: argparse.Namespace) -> int:
    from iwtui.analyzer.db import connect
    from iwtui.analyzer.importer import Options, import_day
    from iwtui.cli.common import stop_on_signals

    ctx, s = _settings(args)
    days = _days(args)
    if not s.active:
        raise Refused("the Log Analyzer is not active (config analyzer.active: false)")
    if args.keep_days is not None and args.keep_days < 1:
        raise BadInput("--keep-days: 1 or more")
    install = ctx.install()
    opts = Options(
        logs=s.logs,
        server_id=args.server_id if args.server_id is not None else s.server_id,
        raw=args.raw or s.raw,
        empty_first=args.empty_first or s.empty_first,
        keep_days=args.keep_days if args.keep_days is not None else s.keep_days,
        pre_delete_sql=s.pre_delete_sql,
    )
    url = str(args.db or s.db_url(ctx.config.state_path()))
    db = connect(url)
    results = []
    t0 = time.perf_counter()
    try:
        with stop_on_signals() as stop:
            first = True
            for d in days:
                results.append(import_day(install.log_dir, d, db, opts,
                                          default_server=install.server_id,
                                          progress=_progress(), cancel=stop))  # fmt: skip
                if first:
                    from dataclasses import replace

                    opts = replace(opts, empty_first=False, keep_days=None)
                    first = False
    finally:
        db.close()
    tables: dict[str, dict[str, float]] = {}
    for r in results:
        for t, st in r.tables.items():
            cur = tables.setdefault(t, {"rows": 0, "seconds": 0.0})
            cur["rows"] += st.rows
            cur["seconds"] = round(cur["seconds"] + st.seconds, 3)
    out = {
        "db": db.label,
        "days": [r.as_json() for r in results],
        "tables": tables,
        "rows": sum(int(v["rows"]) for v in tables.values()),
        "lines": sum(r.lines for r in results),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if args.json:
        emit_json(out)
        return EXIT_OK
    for r in results:
        print(f"{r.day}: {r.lines:,} lines, {r.bytes / 1e6:,.1f} MB, server id "
              f"{safe_text(','.join(r.servers) or '(none)')}, {r.seconds:.2f} s")  # fmt: skip
    for t, v in tables.items():
        print(f"  {t:<10} {int(v['rows']):>12,} rows  {v['seconds']:8.2f} s")
    if any(r.deleted_old for r in results):
        print(f"  deleted {sum(r.deleted_old for r in results):,} rows older than the retention")
    print(f"into {safe_text(db.label)}")
    return EXIT_OK


def cmd_reports(args: argparse.Namespace) -> int:
    from iwtui.analyzer.reports import PRESETS

    rows = [{"name": p.name, "title": p.title, "source": p.source} for p in PRESETS.values()]
    if args.json:
        emit_json(rows)
        return EXIT_OK
    for r in rows:
        print(f"{r['name']:<28} {r['title']:<36} {r['source']}")
    return EXIT_OK


def _params(args: argparse.Namespace) -> Any:
    from iwtui.analyzer.reports import Params

    for v, what in ((args.from_, "--from"), (args.to, "--to")):
        if v:
            _day(v, what)
    return Params(start=args.from_, end=args.to, server=args.server_id, threshold=args.threshold,
                  q=args.q or "", limit=args.limit)  # fmt: skip


def cmd_report(args: argparse.Namespace) -> int:
    from iwtui.analyzer import reports
    from iwtui.analyzer.render import report_csv, report_text
    from iwtui.analyzer.sql import open_read_only

    if args.json and args.csv:
        raise BadInput("--json or --csv, not both")
    if args.name not in reports.PRESETS:
        raise BadInput(f"no report {args.name!r} (see `iwtui analyzer reports`)")
    params = _params(args)
    db = open_read_only(_db_url(args))
    try:
        t0 = time.perf_counter()
        rep = reports.run(db, args.name, params)
        took = time.perf_counter() - t0
    finally:
        db.close()
    if args.json:
        emit_json({**rep.as_json(), "seconds": round(took, 4), "from": params.start,
                   "to": params.end, "server_id": params.server})  # fmt: skip
    elif args.csv:
        sys.stdout.write(report_csv(rep))
    else:
        sys.stdout.write(report_text(rep))
    return EXIT_OK


def cmd_sql(args: argparse.Namespace) -> int:
    from iwtui.analyzer.render import text_table
    from iwtui.analyzer.sql import History, open_read_only, run_sql

    ctx, s = _settings(args)
    text = s.saved_queries.get(args.query, args.query)
    db = open_read_only(str(args.db or s.db_url(ctx.config.state_path())))
    try:
        res = run_sql(db, text, limit=args.limit)
    finally:
        db.close()
    History(ctx.config.state_path() / "analyzer-sql-history.jsonl").add(text)
    if args.json:
        emit_json(res.as_json())
        return EXIT_OK
    print(text_table(res.columns, res.rows))
    more = " (more rows: raise --limit)" if res.truncated else ""
    print(f"{len(res.rows):,} row(s) in {res.seconds:.3f} s{more}")
    return EXIT_OK


def cmd_mail(args: argparse.Namespace) -> int:
    from iwtui.analyzer import mail
    from iwtui.analyzer.importer import yesterday
    from iwtui.analyzer.reports import PRESETS, Params
    from iwtui.analyzer.sql import open_read_only

    ctx, s = _settings(args)
    names = [n.strip() for n in (args.reports or ",".join(s.mail.reports)).split(",") if n.strip()]
    bad = [n for n in names if n not in PRESETS]
    if bad:
        raise BadInput(f"no report {bad[0]!r} (see `iwtui analyzer reports`)")
    to = [args.to] if args.to else list(s.mail.to)
    day = _day(args.date, "--date") if args.date else yesterday()
    via, host, port = mail.parse_via(args.via)
    db = open_read_only(str(args.db or s.db_url(ctx.config.state_path())))
    try:
        msg = mail.compose(db, names, Params(start=day.isoformat(), end=day.isoformat(),
                                             server=args.server_id),
                           args.sender or s.mail.sender, to, day.isoformat())  # fmt: skip
    finally:
        db.close()
    if via == "smtp":
        install = None
        if not host and not s.mail.host:
            try:
                install = ctx.install()
            except BadInput:
                install = None
        host = host or s.mail.host or mail.mla_host(install) or "127.0.0.1"
        print(safe_text(mail.send_smtp(msg, host, port)))
        return EXIT_OK
    install = ctx.install()
    gate = ctx.gate()
    cli = "iwtui analyzer mail " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    plan = mail.queue_plan(gate, install, msg, cli)
    gate.check(plan.action)
    if args.dry_run:
        print(safe_text(f"dry run: would {plan.summary[0].lower()}{plan.summary[1:]}"))
        return EXIT_OK
    return execute(gate, plan)


SERVICE = """# /etc/systemd/system/iwtui-analyzer.service
[Unit]
Description=iwtui Log Analyzer: import yesterday's IceWarp logs
After=network-online.target

[Service]
Type=oneshot
ExecStart={exe} analyzer import --yesterday{root}
Nice=10
IOSchedulingClass=idle
"""
TIMER = """# /etc/systemd/system/iwtui-analyzer.timer
[Unit]
Description=iwtui Log Analyzer nightly import at 01:00

[Timer]
OnCalendar=*-*-* 01:00:00
Persistent=true

[Install]
WantedBy=timers.target
"""


def cmd_schedule(args: argparse.Namespace) -> int:
    import shutil

    if not args.print:
        raise BadInput("iwtui installs nothing: use --print and install what it prints")
    exe = shutil.which("iwtui") or f"{sys.executable} -m iwtui"
    root = f" --root {shlex.quote(args.root)}" if getattr(args, "root", None) else ""
    print(SERVICE.format(exe=exe, root=root))
    print(TIMER)
    print("# then: systemctl daemon-reload && systemctl enable --now iwtui-analyzer.timer")
    print("# or, with cron (crontab -e as root):")
    print(f"0 1 * * * {exe} analyzer import --yesterday{root} >/dev/null 2>&1")
    return EXIT_OK


def register(
    add: Add,
    lists: Callable[[argparse.ArgumentParser], None],
    writes: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = add("analyzer", lambda a: a.analyzer_func(a),
            "Log Analyzer: logs into SQL, reports, custom SQL, mailed statistics")  # fmt: skip
    sub = p.add_subparsers(title="analyzer commands", metavar="WHAT", required=True)
    sp = functools.partial(add_nested, sub, "analyzer_func")

    def db(q: argparse.ArgumentParser) -> None:
        q.add_argument("--db", metavar="URL", help="postgresql://... or a SQLite path")

    q = sp("import", cmd_import, "import a day's SMTP, POP3, anti-spam and anti-virus logs")
    q.add_argument("--date", metavar="YYYY-MM-DD", help="default: today")
    q.add_argument("--yesterday", action="store_true", help="the nightly run")
    q.add_argument("--from", dest="from_", metavar="YYYY-MM-DD")
    q.add_argument("--to", metavar="YYYY-MM-DD")
    db(q)
    q.add_argument("--server-id", metavar="ID", help="tag the rows (default: from the files)")
    q.add_argument("--raw", action="store_true", help="keep each session's lines (zlib)")
    q.add_argument("--empty-first", action="store_true", help="empty every table first")
    q.add_argument(
        "--keep-days", type=count_upto(MAX_DAYS), metavar="N", help="delete data older than N days"
    )
    lists(q)
    q = sp("reports", cmd_reports, "the preset reports")
    lists(q)
    q = sp("report", cmd_report, "run a preset report")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--from", dest="from_", metavar="YYYY-MM-DD")
    q.add_argument("--to", metavar="YYYY-MM-DD")
    q.add_argument("--server-id", metavar="ID", help="one server (default: all)")
    q.add_argument("--q", metavar="TEXT", help="Mail/Direct Search: address, domain, id, IP")
    q.add_argument("--threshold", type=count, metavar="N", help="Global: highlight N+ messages")
    q.add_argument("--limit", type=count, default=50, metavar="N", help="rows of top lists")
    db(q)
    lists(q)
    q.add_argument("--csv", action="store_true", help="CSV output")
    q = sp("sql", cmd_sql, "run one read-only SQL statement (or a saved query's name)")
    q.add_argument("query", metavar="SQL")
    q.add_argument("--limit", type=count, default=10_000, metavar="N")
    db(q)
    lists(q)
    q = sp("mail", cmd_mail, "e-mail the statistics (grand totals first)")
    q.add_argument("--to", metavar="A[,B]", help="recipients (default: config analyzer.mail.to)")
    q.add_argument("--from", dest="sender", metavar="X")
    q.add_argument("--reports", metavar="N1,N2")
    q.add_argument("--date", metavar="YYYY-MM-DD", help="default: yesterday")
    q.add_argument("--server-id", metavar="ID", help="one server (default: all)")
    q.add_argument("--via", default="queue", metavar="queue|smtp://HOST:PORT")
    q.add_argument("--dry-run", action="store_true", help="say what would be queued")
    db(q)
    q = sp("schedule", cmd_schedule, "print a systemd service+timer (01:00) and a cron line")
    q.add_argument("--print", action="store_true", required=True)
