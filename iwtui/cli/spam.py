"""``iwtui spam ...``, ``iwtui greylist ...``, ``iwtui tarpit ...``: the headless Spam
Queues (issue 5). The same core as the Spam Queues screen: ``spam`` (listing),
``spam_actions`` and ``tarpit`` (plans through the gate).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from iwtui.cli.common import Add, add_nested, context, emit_json, run_plan
from iwtui.errors import BadInput
from iwtui.icewarp.install import Install
from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.spam import actions as spam_actions
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam import tarpit


def _install(args: argparse.Namespace) -> Install:
    return context(args).install()


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _ids(values: list[str]) -> list[int]:
    out = []
    for v in values:
        if not v.isdigit():
            raise BadInput(f"bad id {v!r}: ids are the numbers `list` shows")
        out.append(int(v))
    return out


# --- spam ------------------------------------------------------------------------------


def cmd_spam_list(args: argparse.Namespace) -> int:
    inst = _install(args)
    rows, total = asyncio.run(
        spam.list_senders(
            inst.antispam_db,
            args.list,
            sender=args.sender or "",
            owner=args.owner or "",
            domain=args.domain or "",
            max_items=args.max,
        )
    )
    if args.json:
        emit_json([r.as_json() for r in rows])
        return 0
    for r in rows:
        line = f"{r.id:>7}  {_when(r.created)}  {r.sender:<36} {r.owner:<32} {r.domain:<20}"
        print(safe_text(line + (f" {r.subject}" if r.list == "quarantine" else "")))
    print(f"{len(rows):,} of {total:,} on the {args.list}")
    return 0


def cmd_spam_add(args: argparse.Namespace) -> int:
    inst = _install(args)
    return run_plan(args, spam_actions.add_plan(inst, args.list, args.sender, args.owner, _root(args)))  # fmt: skip


def cmd_spam_action(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        ctx = context(args)
        plan = spam_actions.sender_plan(
            ctx.gate(), ctx.install(), args.list, action, _ids(args.ids), _root(args)
        )
        return run_plan(args, plan)

    return run


def _root(args: argparse.Namespace) -> Path | None:
    r = getattr(args, "root", None)
    return Path(r) if r else None


# --- greylist --------------------------------------------------------------------------


def cmd_grey_list(args: argparse.Namespace) -> int:
    ctx = context(args)
    cfg = ctx.config
    rows, total = asyncio.run(
        spam.list_greylist(
            ctx.install().antispam_db,
            status=args.status or "",
            owner=args.owner or "",
            value=args.value or "",
            max_items=args.max,
            expiry=spam.Expiry(cfg.greylist_pending_hours, cfg.greylist_authorized_days),
        )
    )
    if args.json:
        emit_json([r.as_json() for r in rows])
        return 0
    for r in rows:
        print(safe_text(f"{r.id:>7}  {r.status:<10} {_when(r.created)}  {r.value:<48} {r.owner}"))
    print(f"{len(rows):,} of {total:,} greylist entries")
    return 0


def cmd_grey_action(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        plan = spam_actions.greylist_plan(_install(args), action, _ids(args.ids), _root(args))
        return run_plan(args, plan)

    return run


# --- tarpit ----------------------------------------------------------------------------


def cmd_tarpit_list(args: argparse.Namespace) -> int:
    inst = _install(args)
    f = tarpit.read(inst.tarpit_file)
    if f.layout == tarpit.EXTRACTED:
        f = tarpit.enrich(f, catalog_mod.scan(inst.log_dir))
    now = datetime.now()
    if args.json:
        emit_json(
            [
                {
                    "ip": e.ip,
                    "expires": e.expires.isoformat(timespec="seconds") if e.expires else None,
                    "expired": e.expired(now),
                    "reason": e.reason,
                    "reason_text": e.reason_text,
                }
                for e in f.entries
            ]
        )
        return 0
    for e in f.entries:
        state = "expired" if e.expired(now) else "active"
        print(safe_text(f"{e.ip:<40} {_when(e.expires)}  {state:<8} {e.reason or '?'}  {e.reason_text}"))
    print(safe_text(f"{len(f.entries):,} tarpitted ({len(f.active(now)):,} active); {f.path}"))
    if f.problem:
        print(safe_text(f"note: {f.problem}"))
    return 0


def cmd_tarpit_add(args: argparse.Namespace) -> int:
    ctx = context(args)
    plan = tarpit.add_plan(
        ctx.install().tarpit_file, args.ip, ctx.config.tarpit_minutes, args.reason, _root(args)
    )
    return run_plan(args, plan)


def cmd_tarpit_remove(which: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        path = _install(args).tarpit_file
        ips = list(args.ips) if which == "remove" else None
        plan = tarpit.remove_plan(path, ips, expired_only=which == "remove-expired", root=_root(args))  # fmt: skip
        if not plan.targets:
            print("nothing to remove")
            return 0
        return run_plan(args, plan)

    return run


def register(
    add: Add,
    lists: Callable[[argparse.ArgumentParser], None],
    writes: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = add("spam", lambda a: a.spam_func(a), "quarantine, whitelist and blacklist")
    sp = functools.partial(add_nested, p.add_subparsers(title="spam commands", metavar="WHAT", required=True), "spam_func")  # fmt: skip
    q = sp("list", cmd_spam_list, "rows of one list, newest first, with the seed's filters")
    q.add_argument("--list", choices=tuple(spam.LIST_CODES), default="quarantine")
    q.add_argument("--sender", help="sender contains this (any case)")
    q.add_argument("--owner", help="owner contains this")
    q.add_argument("--domain", help="domain contains this")
    q.add_argument("--max", type=int, default=0, metavar="N", help="at most N (0 = all)")
    lists(q)
    q = sp("add", cmd_spam_add, "add a sender to the whitelist or blacklist of an owner")
    q.add_argument("--list", choices=("whitelist", "blacklist"), required=True)
    q.add_argument("--sender", required=True, help="the From address (or a domain)")
    q.add_argument("--owner", required=True, help="* (all domains), a domain or a user")
    writes(q)
    for action, help_ in (
        ("deliver", "release held messages without listing their senders"),
        ("whitelist", "whitelist the senders (held messages are released)"),
        ("blacklist", "blacklist the senders (held messages go to iwtui's trash)"),
        ("delete", "delete rows (held messages go to iwtui's trash)"),
    ):
        q = sp(action, cmd_spam_action(action), help_)
        q.add_argument("ids", nargs="+", metavar="ID")
        q.add_argument("--list", choices=tuple(spam.LIST_CODES), default="quarantine")
        writes(q)

    p = add("greylist", lambda a: a.grey_func(a), "greylisting entries")
    gp = functools.partial(add_nested, p.add_subparsers(title="greylist commands", metavar="WHAT", required=True), "grey_func")  # fmt: skip
    q = gp("list", cmd_grey_list, "greylist entries, newest first")
    q.add_argument("--status", choices=spam.GREY_STATUSES)
    q.add_argument("--owner", help="owner contains this")
    q.add_argument("--value", help="value (sender, IP) contains this")
    q.add_argument("--max", type=int, default=0, metavar="N", help="at most N (0 = all)")
    lists(q)
    for action, help_ in (
        ("authorize", "accept these senders when they retry"),
        ("delete", "delete entries"),
    ):
        q = gp(action, cmd_grey_action(action), help_)
        q.add_argument("ids", nargs="+", metavar="ID")
        writes(q)

    p = add("tarpit", lambda a: a.tarpit_func(a), "intrusion prevention: tarpitted IPs")
    tp = functools.partial(add_nested, p.add_subparsers(title="tarpit commands", metavar="WHAT", required=True), "tarpit_func")  # fmt: skip
    q = tp("list", cmd_tarpit_list, "tarpitted IPs with expiry and reason")
    lists(q)
    q = tp("add", cmd_tarpit_add, "block an IP or a CIDR range for the configured period")
    q.add_argument("ip", metavar="IP_OR_CIDR")
    q.add_argument("--reason", default="U", help="reason code (default U: manual)")
    writes(q)
    q = tp("remove", cmd_tarpit_remove("remove"), "unblock IPs")
    q.add_argument("ips", nargs="+", metavar="IP")
    writes(q)
    q = tp("remove-expired", cmd_tarpit_remove("remove-expired"), "drop every expired entry")
    writes(q)
    q = tp("remove-all", cmd_tarpit_remove("remove-all"), "unblock every IP")
    writes(q)
