"""Account Statistics: ``iwtui accounts list`` and ``iwtui accounts export FILE`` (issue 12).

The same core as the Account Statistics screen (``iwtui.icewarp.accounts``): the traffic
store is first brought up to date with the logs (incremental), then each local account's
sums over the period are read from it, and its mailbox counted now.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from iwtui.cli.common import EXIT_OK, Add, add_nested, context
from iwtui.cli.validate import count

if TYPE_CHECKING:
    from iwtui.icewarp.accounts.stats import Report

if_none = "—"


def _report(args: argparse.Namespace) -> Report:
    from iwtui.icewarp.accounts import quota
    from iwtui.icewarp.accounts.stats import collect, parse_day

    ctx = context(args)
    inst = ctx.install()
    tty = sys.stderr.isatty() and not getattr(args, "json", False)

    def progress(what: str) -> None:
        if tty:
            sys.stderr.write(f"\r{what}...\x1b[K")
            sys.stderr.flush()

    try:
        return collect(
            inst,
            ctx.config.state_path(),
            start=parse_day(args.from_, "--from"),
            end=parse_day(args.to, "--to"),
            filter_text=args.filter or "",
            max_items=args.max,
            sort=args.sort,
            quotas=quota.limits(inst.root, enabled=ctx.config.tool_sh),
            progress=progress,
        )
    finally:
        if tty:
            sys.stderr.write("\r\x1b[K")


def _num(n: int) -> str:
    return f"{n:,}"


def json_rows(texts: list[str]) -> str:
    """``[``, one object a line (two spaces in), ``]``."""
    return "[\n  " + ",\n  ".join(texts) + "\n]\n" if texts else "[]\n"


def cmd_list(args: argparse.Namespace) -> int:
    report = _report(args)
    if args.json:
        from iwtui.icewarp.accounts.stats import json_texts

        sys.stdout.write(json_rows(json_texts(report.rows)))
        return EXIT_OK
    from iwtui.icewarp.logs.lines import safe_text
    from iwtui.units import human_bytes as human

    print(f"{report.start} .. {report.end}: {len(report.rows):,} of {report.matched:,} accounts"
          f" ({report.accounts:,} local)")  # fmt: skip
    head = (f"{'ID':<32} {'Received #':>10} {'Received':>10} {'Sent #':>8} {'Sent':>10} "
            f"{'Sent Out #':>10} {'Sent Out':>10} {'Files #':>8} {'Files':>10} {'Quota':>6} "
            f"{'Last Login':<19} {'Last IP':<15} Created")  # fmt: skip
    print(head)
    for r in report.rows:
        quota = f"{r.quota_percent:.0f}%" if r.quota_percent is not None else if_none
        print(f"{safe_text(r.account):<32} {_num(r.received_count):>10} "
              f"{human(r.received_bytes):>10} {_num(r.sent_count):>8} {human(r.sent_bytes):>10} "
              f"{_num(r.sent_out_count):>10} {human(r.sent_out_bytes):>10} "
              f"{_num(r.messages_count):>8} {human(r.messages_bytes):>10} {quota:>6} "
              f"{safe_text(r.last_login or if_none):<19} {safe_text(r.last_ip or if_none):<15} "
              f"{r.created or if_none}")  # fmt: skip
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from iwtui.icewarp.accounts import export

    report = _report(args)
    n = export.write(report, Path(args.file))
    extra = ", an unknown senders line" if report.unknown is not None else ""
    print(f"wrote {args.file}: {n:,} accounts{extra} and a totals line "
          f"({report.start} .. {report.end})")  # fmt: skip
    return EXIT_OK


def _options(q: argparse.ArgumentParser) -> None:
    q.add_argument("--filter", metavar="'DOMAIN;USER@DOMAIN'",
                   help="any of the ';'-separated terms matches (substring, any case)")  # fmt: skip
    q.add_argument("--from", dest="from_", metavar="YYYY-MM-DD",
                   help="first day (default: the oldest day of the logs read)")  # fmt: skip
    q.add_argument("--to", metavar="YYYY-MM-DD", help="last day, included whole")
    q.add_argument("--max", type=count, default=0, metavar="N", help="at most N accounts (0: all)")
    q.add_argument("--sort", default="account", metavar="FIELD",
                   help="a field of the JSON objects; numbers and times largest first, "
                        "text A-Z; -FIELD reverses")  # fmt: skip


def register(
    add: Add,
    lists: Callable[[argparse.ArgumentParser], None],
    writes: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = add("accounts", lambda a: a.accounts_func(a),
            "account statistics: received, sent, sent out, last login, mailbox")  # fmt: skip
    sub = p.add_subparsers(title="accounts commands", metavar="WHAT", required=True)
    sp = functools.partial(add_nested, sub, "accounts_func")
    q = sp("list", cmd_list, "per local account over a period")
    _options(q)
    lists(q)
    q = sp("export", cmd_export, "the IceWarp-shaped file: headers, accounts, unknown, totals")
    q.add_argument("file", metavar="FILE")
    _options(q)
