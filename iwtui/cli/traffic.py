"""Traffic Charts and Statistics: charts categories, charts show, stats (issue 11).

The same core as the two screens (``iwtui.icewarp.traffic``): every command first brings
the store up to date with the logs (incremental: with nothing new it reads nothing), then
answers from it. The core is imported inside the commands: ``iwtui --help`` stays fast.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iwtui.cli.common import EXIT_OK, Add, Context, add_nested, context, emit_json
from iwtui.errors import BadInput

if TYPE_CHECKING:
    from iwtui.icewarp.install import Install
    from iwtui.icewarp.traffic.store import Store

KNOWN_SERVICES = ("smtp", "pop3", "imap", "control", "groupware", "im", "ftp", "sip", "sms",
                  "ldap", "activesync", "webdav", "syncml", "wcs")  # fmt: skip


def _open(args: argparse.Namespace, *, on_install: Callable[[Context, Install], None] | None = None) -> tuple[Install, Store]:  # fmt: skip
    """The install and its store, brought up to date (progress on a terminal's stderr);
    ``on_install`` is called before the logs are read."""
    from iwtui.icewarp.traffic.ingest import ingest
    from iwtui.icewarp.traffic.store import Store, default_path

    ctx = context(args)
    inst = ctx.install()
    if not inst.log_dir.is_dir():
        raise BadInput(f"log folder not found: {inst.log_dir}")
    if on_install is not None:
        on_install(ctx, inst)
    store = Store(default_path(inst, ctx.config.state_path()))
    tty = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if tty and total >= 32 << 20:
            sys.stderr.write(f"\rreading logs: {done * 100 // max(1, total)}% "
                             f"of {total / 2**20:,.0f} MiB")  # fmt: skip
            sys.stderr.flush()

    try:
        ingest(inst, store, progress=progress)
    finally:
        if tty:
            sys.stderr.write("\r\x1b[K")
    return inst, store


def _service(text: str | None) -> str | None:
    if text is None:
        return None
    s = text.strip().lower()
    if s not in KNOWN_SERVICES:
        raise BadInput(f"unknown service {text!r} (one of: {', '.join(KNOWN_SERVICES)})")
    return s


def _day(text: str | None) -> date:
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"bad date {text!r}: use YYYY-MM-DD") from None


def _when(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"bad {name} {text!r}: use YYYY-MM-DDTHH:MM[:SS]") from None
    return value.replace(tzinfo=None)


def _categories(service: str, text: str) -> list[str]:
    from iwtui.icewarp.traffic.counters import counters_of

    known = [c.name for c in counters_of(service)]
    names = [c.strip().lower() for c in text.split(",") if c.strip()]
    if not names:
        raise BadInput("--category needs at least one name")
    for n in names:
        if n not in known:
            raise BadInput(f"unknown category {n!r} for {service} (one of: {', '.join(known)})")
    return names


def cmd_categories(args: argparse.Namespace) -> int:
    from iwtui.icewarp.traffic.counters import MAIN_SERVICES, counters_of

    service = _service(args.service)
    services = [service] if service else list(MAIN_SERVICES)
    rows = [
        dict(service=s, category=c.name, title=c.title, unit=c.unit, derived=c.derived)
        for s in services
        for c in counters_of(s)
    ]
    if args.json:
        emit_json(rows)
        return EXIT_OK
    for r in rows:
        note = "" if r["derived"] else "  (not in the logs: always 0)"
        print(f"{r['service']:<6} {r['category']:<24} {r['title']} [{r['unit']}]{note}")
    return EXIT_OK


def _range(args: argparse.Namespace) -> tuple[datetime, datetime, int]:
    from iwtui.icewarp.traffic import query

    if (args.from_ is None) != (args.to is None):
        raise BadInput("--from and --to go together")
    if args.from_ is not None:
        if args.date is not None or args.period is not None:
            raise BadInput("--from/--to replace --period and --date")
        start, end = _when(args.from_, "--from"), _when(args.to, "--to")
        if end <= start:
            raise BadInput("--to must be after --from")
        step = query.auto_step(start, end)
    else:
        period = args.period or "day"
        start, end = query.period_range(period, _day(args.date))
        step = query.DEFAULT_STEP[period]
    if args.step is not None:
        step = query.STEPS[args.step]
    if (end - start).total_seconds() / step > 600_000:
        raise BadInput("too many steps: choose a larger --step")
    return start, end, step


def cmd_show(args: argparse.Namespace) -> int:
    from iwtui.icewarp.traffic import query

    service = _service(args.service)
    assert service is not None
    names = _categories(service, args.category)
    start, end, step = _range(args)
    if args.json and args.csv:
        raise BadInput("--json and --csv exclude each other")
    recorder: list[Any] = []  # the answer kept for a replay (iwtui.cli.replay), when it can be

    def on_install(ctx: Context, inst: Install) -> None:
        if _replayable(args, ctx, inst):
            from iwtui.cli import replay

            recorder.append((replay.Recorder(args.command_line, str(inst.root), str(inst.log_dir)), ctx))  # fmt: skip

    inst, store = _open(args, on_install=on_install)
    server = inst.server_id or ""
    with store:
        series = [query.series(store, server, service, n, start, end, step) for n in names]
    if series and series[0].step_s != step:
        from iwtui.icewarp.traffic.store import MINUTE_DAYS

        recorder.clear()  # (the note goes to stderr: an answer is stdout only)
        print(f"iwtui: minute rows are kept {MINUTE_DAYS} days: this range is in steps of "
              f"{series[0].step_s // 60} min from {series[0].start:%Y-%m-%d %H:%M}",
              file=sys.stderr)  # fmt: skip
    if args.svg:
        from iwtui.icewarp.traffic.svg import render

        title = f"{service} {', '.join(names)}: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
        _write_text(Path(args.svg), render(series, title))
    if recorder and sum(len(s.points) for s in series) <= REPLAY_POINTS:
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            _print_series(args, series)
        answer = buf.getvalue()
        sys.stdout.write(answer)
        sys.stdout.flush()
        rec, ctx = recorder[0]
        path = ctx.loaded.path
        rec.keep(answer, config_path=None if path is None else str(path),
                 state=str(ctx.config.state_path()))  # fmt: skip
    else:
        _print_series(args, series)
    return EXIT_OK


# An answer of at most this many points is kept for the next run (~70 bytes each as JSON)
REPLAY_POINTS = 25_000


def _replayable(args: argparse.Namespace, ctx: Context, inst: Install) -> bool:
    """Whether the answer is a function of what ``iwtui.cli.replay`` compares: stdout
    only, the root named (not discovered), no folder asked of tool.sh."""
    import os

    if args.svg or not getattr(args, "command_line", None):
        return False
    if inst.root_origin not in ("--root", "config root"):
        return False
    cfg = ctx.config
    asks_tool = cfg.tool_sh and not cfg.log_path and os.access(inst.root / "tool.sh", os.X_OK)
    return not asks_tool


def _print_series(args: argparse.Namespace, series: list[Any]) -> None:
    if args.json:
        emit_json([s.as_json() for s in series])
    elif args.csv:
        import csv

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["service", "category", "step_s", "t", "v", "avg", "peak"])
        for s in series:
            for p in s.points:
                w.writerow([s.service, s.category, s.step_s, p.t, p.v, f"{p.avg:.3f}", p.peak])
    elif not args.svg:
        _print_table(series)


def _write_text(path: Path, text: str) -> None:
    """An export the user asked for (not a file of the install): written whole, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror}") from None


def _print_table(series: list[Any]) -> None:
    head = "time".ljust(19) + "".join(f"{s.category:>18}" for s in series)
    print(head)
    for i, p in enumerate(series[0].points):
        print(p.t.ljust(19) + "".join(f"{s.points[i].v:>18,}" for s in series))
    for s in series:
        peak = s.peak
        at = f" at {peak.t}" if peak else ""
        print(f"{s.service} {s.category}: total {s.total:,}, average {s.average():.2f}/min, "
              f"peak {peak.peak if peak else 0:,}/min{at}")  # fmt: skip


def cmd_stats(args: argparse.Namespace) -> int:
    from iwtui.icewarp.traffic import query
    from iwtui.icewarp.traffic.counters import MAIN_SERVICES

    service = _service(args.service)
    day = _day(args.date)
    inst, store = _open(args)
    server = inst.server_id or ""
    with store:
        have = set(store.services(server))
        services = [service] if service else [*MAIN_SERVICES, *sorted(have - set(MAIN_SERVICES))]
        now = datetime.now()
        result = {s: query.stats(store, server, s, day, now) for s in services}
    if args.json:
        emit_json({s: st.as_json() for s, st in result.items()})
        return EXIT_OK
    for s, st in result.items():
        how = "since the service started" if st.since_start_line else "since midnight"
        print(f"{s.upper()} ({how}: {st.since.replace('T', ' ')})")
        for c in st.counters:
            peak = f"peak {c.peak:,} at {c.peak_t[11:16]}" if c.peak_t else "peak -"
            print(f"  {c.title:<26} {c.total:>14,}   {c.per_minute:>10.2f}/min   {peak}")
    return EXIT_OK


def register(
    add: Add,
    lists: Callable[[argparse.ArgumentParser], None],
    writes: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = add("charts", lambda a: a.charts_func(a), "traffic charts: categories, show (issue 11)")
    sub = p.add_subparsers(title="charts commands", metavar="WHAT", required=True)
    sp = functools.partial(add_nested, sub, "charts_func")
    q = sp("categories", cmd_categories, "the categories (counters) a service can chart")
    q.add_argument("--service", metavar="S")
    lists(q)
    q = sp("show", cmd_show, "a service's counters over a period, in steps (every step listed)")
    q.add_argument("--service", metavar="S", required=True)
    q.add_argument("--category", metavar="C[,C...]", required=True)
    q.add_argument("--period", choices=("day", "week", "month", "year"),
                   help="the date (day) or the 7/30/365 days ending with it; default day")  # fmt: skip
    q.add_argument("--date", metavar="YYYY-MM-DD", help="default: today")
    q.add_argument("--from", dest="from_", metavar="ISO")
    q.add_argument("--to", metavar="ISO")
    q.add_argument("--step", choices=("1m", "5m", "1h", "1d"))
    q.add_argument("--csv", action="store_true", help="one line per step and category")
    q.add_argument("--svg", metavar="FILE", help="write the chart as an SVG image")
    lists(q)
    q = add("stats", cmd_stats, "a service's counters since its start of day (Statistics)")
    q.add_argument("--service", metavar="S")
    q.add_argument("--date", metavar="YYYY-MM-DD", help="default: today")
    lists(q)
