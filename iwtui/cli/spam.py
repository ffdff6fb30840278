"""``iwtui spam ...``, ``iwtui greylist ...``, ``iwtui tarpit ...``: the headless Spam
Queues (issue 5). The same core as the Spam Queues screen: ``spam`` (listing),
``spam_actions`` and ``tarpit`` (plans through the gate).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from iwtui.cli import validate
from iwtui.cli.common import EXIT_OK, Add, add_nested, context, emit_json, run_plan
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
    return validate.row_ids(values)  # ASCII digits, within SQLite's rowid


def _known(args: argparse.Namespace, action: str, db: Path, table: str, ids: list[int],
           list_name: str | None, what: str) -> None:  # fmt: skip
    """Read-only first, then every id must be a row now (else exit 2, named)."""
    validate.refuse_first(args, action)
    missing = spam_actions.missing_rows(db, table, ids, list_name)
    validate.require_known([str(i) for i in missing], what, "see `list` for the ids")


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
    plan = spam_actions.add_plan(inst, args.list, args.sender, args.owner, _root(args))
    validate.refuse_first(args, plan.action)
    sender, owner = spam_actions.validate_sender(args.sender), spam_actions.validate_owner(args.owner)  # fmt: skip
    row = spam_actions.listed_senders(inst.antispam_db, args.list, owner, [sender]).get(sender)
    if row is not None:  # a no-op: said as such, nothing written (exit 0)
        print(safe_text(f"already {args.list}ed: {sender} for {owner} (row {row}); nothing changed"))  # fmt: skip
        return EXIT_OK
    return run_plan(args, plan)


def cmd_spam_action(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        ctx = context(args)
        inst, ids = ctx.install(), _ids(args.ids)
        plan = spam_actions.sender_plan(ctx.gate(), inst, args.list, action, ids, _root(args))
        _known(args, plan.action, inst.antispam_db, "Senders", ids, args.list,
               f"row on the {args.list} with id")  # fmt: skip
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
        inst, ids = _install(args), _ids(args.ids)
        plan = spam_actions.greylist_plan(inst, action, ids, _root(args))
        _known(args, plan.action, inst.antispam_db, "Greylist", ids, None, "greylist entry with id")  # fmt: skip
        return run_plan(args, plan)

    return run


def cmd_grey_remove_expired(args: argparse.Namespace) -> int:
    ctx = context(args)
    cfg = ctx.config
    expiry = spam.Expiry(cfg.greylist_pending_hours, cfg.greylist_authorized_days)
    plan = spam_actions.greylist_expired_plan(ctx.install(), expiry, _root(args))
    if not plan.targets:
        print("no expired greylist entries")
        return 0
    return run_plan(args, plan)


# --- tarpit ----------------------------------------------------------------------------


def cmd_tarpit_list(args: argparse.Namespace) -> int:
    inst = _install(args)
    f = tarpit.read(inst.tarpit_file)
    if f.layout == tarpit.EXTRACTED:
        f = tarpit.enrich(f, catalog_mod.scan(inst.log_dir))
    now = datetime.now()
    total = len(f.entries)
    if args.max:  # as the other lists: at most N (0: all)
        f = replace(f, entries=f.entries[: args.max])
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
        print(
            safe_text(
                f"{e.ip:<40} {_when(e.expires)}  {state:<8} {e.reason or '?'}  {e.reason_text}"
            )
        )
    shown = f"{len(f.entries):,} of {total:,}" if len(f.entries) != total else f"{total:,}"
    print(safe_text(f"{shown} tarpitted ({len(f.active(now)):,} active); {f.path}"))
    if f.problem:
        print(safe_text(f"note: {f.problem}"))
    return 0


def cmd_tarpit_add(args: argparse.Namespace) -> int:
    ctx = context(args)
    plan = tarpit.add_plan(
        ctx.install().tarpit_file,
        args.ip,
        ctx.config.tarpit_minutes,
        args.reason,
        _root(args),
        force=args.force,
    )
    return run_plan(args, plan)


def cmd_tarpit_remove(which: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        path = _install(args).tarpit_file
        ips = list(args.ips) if which == "remove" else None
        plan = tarpit.remove_plan(path, ips, expired_only=which == "remove-expired", root=_root(args))  # fmt: skip
        if ips is not None:  # an IP never tarpitted is bad input, not "already gone"
            validate.refuse_first(args, plan.action)
            listed = {e.ip for e in tarpit.read(path).entries}
            validate.require_known([t for t in plan.targets if t not in listed], "tarpitted IP",
                                   "see `tarpit list`")  # fmt: skip
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
    q.add_argument("--max", type=validate.count, default=0, metavar="N", help="at most N (0 = all)")
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
    q.add_argument("--max", type=validate.count, default=0, metavar="N", help="at most N (0 = all)")
    lists(q)
    for action, help_ in (
        ("authorize", "accept these senders when they retry"),
        ("delete", "delete entries"),
    ):
        q = gp(action, cmd_grey_action(action), help_)
        q.add_argument("ids", nargs="+", metavar="ID")
        writes(q)
    q = gp("remove-expired", cmd_grey_remove_expired, "delete every expired entry (config expiry)")
    writes(q)

    p = add("tarpit", lambda a: a.tarpit_func(a), "intrusion prevention: tarpitted IPs")
    tp = functools.partial(add_nested, p.add_subparsers(title="tarpit commands", metavar="WHAT", required=True), "tarpit_func")  # fmt: skip
    q = tp("list", cmd_tarpit_list, "tarpitted IPs with expiry and reason")
    q.add_argument("--max", type=validate.count, default=0, metavar="N", help="at most N (0 = all)")
    lists(q)
    q = tp("add", cmd_tarpit_add, "block an IP or a CIDR range for the configured period")
    q.add_argument("ip", metavar="IP_OR_CIDR")
    q.add_argument("--reason", default="U", help="reason code (default U: manual)")
    q.add_argument("--force", action="store_true",
                   help="allow a range wider than IPv4 /8 or IPv6 /16 (0.0.0.0/0, ::/0)")  # fmt: skip
    writes(q)
    q = tp("remove", cmd_tarpit_remove("remove"), "unblock IPs")
    q.add_argument("ips", nargs="+", metavar="IP")
    writes(q)
    q = tp("remove-expired", cmd_tarpit_remove("remove-expired"), "drop every expired entry")
    writes(q)
    q = tp("remove-all", cmd_tarpit_remove("remove-all"), "unblock every IP")
    writes(q)
