"""``iwtui queue ...`` and ``iwtui mailbox list``: the headless Message Queue (issue 4).

The same core as the Message Queue screen: ``iwtui.icewarp.queue.messages`` (scan),
``deferrals`` (last error, reasons) and ``queue_actions`` (plans through the gate).
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from iwtui.cli import validate
from iwtui.cli.common import EXIT_OK, Add, add_nested, context, emit_json, run_plan
from iwtui.errors import BadInput
from iwtui.icewarp import files
from iwtui.icewarp.install import Install
from iwtui.icewarp.queue import deferrals, messages, scanning
from iwtui.icewarp.queue.folders import QUEUE_NAMES, iter_items, spots
from iwtui.icewarp.queue.messages import QueueItem, Row
from iwtui.text import json_inert, safe_lines, safe_text

if TYPE_CHECKING:  # the gate's plans: imported by the commands that act, not by listings
    from iwtui.icewarp.actions import Plan


def _install(args: argparse.Namespace) -> Install:

    return context(args).install()


def _out(text: str) -> None:
    # inert on a terminal and in a pipe alike (`| grep` must not pass OSC 52 on)
    sys.stdout.write(safe_text(text) + "\n")


def _label(item: QueueItem) -> str:
    """The queue an item is in, as ``QUEUE/ID`` names it: ``retry``, ``priority_2``."""
    return f"priority_{item.priority}" if item.queue == "priority" else item.queue


def _items(inst: Install, ids: Sequence[str]) -> list[QueueItem]:
    """The items named on the command line (``ID`` or ``QUEUE/ID``), frozen now. An
    unknown id is bad input (named; nothing done); so is an id in two queues (the
    candidates named, to choose with ``QUEUE/ID``)."""
    wanted = validate.queue_ids(ids)
    names = {name for _q, name in wanted}
    by_id: dict[str, list[QueueItem]] = {}
    for item in scanning.scan(inst).values():
        if item.id in names:
            by_id.setdefault(item.id, []).append(item)
    out: list[QueueItem] = []
    unknown: list[str] = []
    for queue, name in wanted:
        found = sorted((i for i in by_id.get(name, ()) if queue in (None, i.queue, _label(i))),
                       key=_label)  # fmt: skip
        if not found:
            unknown.append(f"{queue}/{name}" if queue else name)
        validate.unique({name: [f"{_label(i)}/{i.id}" for i in found]}, "queued message id")
        out.extend(i for i in found if i not in out)
    validate.require_known(unknown, "queued message with id", "already delivered?")
    return out


def cmd_list(args: argparse.Namespace) -> int:
    """The queues read as a stream (``scanning.stream``): helper processes read, parse,
    filter and (for ``--json``/``--jsonl``) write the JSON rows while this process lists
    and writes. ``--jsonl`` writes each batch as soon as it is read, in the stream's
    order (folder by folder); the other forms sort by queue time first. The retry
    queue's last errors come from the SMTP log, read meanwhile by another helper
    (``deferrals.scan_apart``)."""
    if args.json and args.jsonl:
        raise BadInput("--json or --jsonl, not both")
    inst = _install(args)
    queues = QUEUE_NAMES if args.queue == "all" else (args.queue,)
    query = messages.parse_query(args.filter or "")  # bad input: exit 2 before any work
    errors = _LastErrors(inst) if "retry" in queues else None
    if args.json or args.jsonl:
        form = "line" if args.jsonl else "block"
        rows = scanning.stream_rows(inst, queues, form, args.filter or "")
        try:
            if args.jsonl:
                return _write_jsonl(rows, args.max, errors)
            listed = sorted((r for b in rows for r in b), key=itemgetter(0))
        finally:
            rows.close()  # a --max met early: the helpers stop
        if args.max:
            listed = listed[: args.max]
        # the text json.dumps(indent=2) gives, many times faster (tests hold them equal)
        _write(["[\n" if listed else "[]\n"])
        for k in range(0, len(listed), 1000):
            part = _texts(listed[k : k + 1000], "block", errors)
            _write([",\n".join(part), ",\n" if k + 1000 < len(listed) else "\n]\n"])
        return 0
    batches = scanning.stream(inst, queues)
    try:
        items = sorted((i for b in batches for i in b if messages.matches(i, query)),
                       key=lambda i: i.queued_at)  # fmt: skip
    finally:
        batches.close()
    if args.max:  # a count: 0 (all) or more (validate.count)
        items = items[: args.max]
    if errors is not None:
        errors.attach(items)
    for i in items:
        when = datetime.fromtimestamp(i.queued_at).strftime("%m-%d %H:%M")
        pri = "" if i.priority is None else str(i.priority)
        err = f"  [{i.last_error}]" if i.last_error else ""
        _out(
            f"{i.id:<14} {i.queue:<8} {pri:<1} {when} {i.size:>9,} {i.sender:<32} {', '.join(i.recipients)[:40]:<40} {i.subject[:50]}{err}"
        )
    print(f"{len(items)} message(s)", file=sys.stderr)
    return 0


def _write_jsonl(rows: Iterable[list[Row]], most: int, errors: _LastErrors | None) -> int:
    """One JSON object a line (the fields of ``--json``'s items), batch by batch, flushed:
    the first lines are out while the rest is read. ``most``: stop after so many."""
    left = most or -1
    for batch in rows:
        if 0 <= left < len(batch):
            batch = batch[:left]
        if batch:
            _write(["\n".join(_texts(batch, "line", errors)), "\n"])
        if left >= 0:
            left -= len(batch)
            if left == 0:
                break
    return 0


def _texts(rows: list[Row], form: str, errors: _LastErrors | None) -> list[str]:
    """The rows' JSON texts, the retry rows' last errors set."""
    texts = [r[1] for r in rows]
    retry = [k for k, r in enumerate(rows) if r[2] is not None]
    if errors is None or not retry:
        return texts
    for k, why in zip(retry, errors.of([rows[k] for k in retry]), strict=True):
        if why is not None:
            texts[k] = messages.with_last_error(texts[k], form, why)  # (made inert there)
    return texts


def _write(parts: list[str]) -> None:
    """JSON text out, flushed. The rows come inert (``json_inert``: C1 controls and line
    separators escaped); this checks it again on the encoded bytes at memchr speed and
    escapes the whole text if one slipped through."""
    text = "".join(parts)
    out = sys.stdout
    raw = getattr(out, "buffer", None)
    if raw is None or (out.encoding or "").lower().replace("-", "") != "utf8":
        out.write(json_inert(text))
        out.flush()
        return
    data = text.encode("utf-8", out.errors or "strict")
    if _c1_in(data):
        data = json_inert(text).encode("utf-8", out.errors or "strict")
    out.flush()
    raw.write(data)
    raw.flush()


def _c1_in(data: bytes) -> bool:
    """Whether UTF-8 ``data`` holds what ``json_inert`` escapes: DEL, a C1 control (C2 80
    to C2 9F), U+2028 or U+2029 (a search with a literal head each: 2.4x faster than a
    loop over every C2 byte on a queue listing with non-ASCII subjects)."""
    return b"\x7f" in data or _C2_C1.search(data) is not None or _E2_SEP.search(data) is not None


_C2_C1 = re.compile(rb"\xc2[\x80-\x9f]")
_E2_SEP = re.compile(rb"\xe2\x80[\xa8\xa9]")


class _LastErrors:
    """The retry items' last errors: the SMTP log read by a helper process from the
    start (``deferrals.scan_apart``, in a thread that only waits on it), only when the
    retry folder holds a file; the first retry row waits for it."""

    def __init__(self, inst: Install) -> None:
        self._found: dict[tuple[str, str], deferrals.Deferral] | None = None
        self._thread: threading.Thread | None = None
        spot = next((s for s in spots(inst) if s.queue == "retry"), None)
        if spot is None or next(iter_items(spot), None) is None:
            return
        log_dir = inst.log_dir

        def run() -> None:
            self._found = deferrals.scan_apart(log_dir)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def _wait(self) -> dict[tuple[str, str], deferrals.Deferral]:
        if self._thread is not None:
            self._thread.join()
        return self._found or {}

    def attach(self, items: Sequence[QueueItem]) -> None:
        retry = [i for i in items if i.queue == "retry"]
        if retry and self._thread is not None:
            deferrals.attach(retry, self._wait())

    def of(self, rows: list[Row]) -> list[str | None]:
        """The last errors of retry rows, as ``deferrals.attach`` finds an item's."""
        if self._thread is None:
            return [None] * len(rows)
        found = self._wait()
        last = deferrals.last_error
        return [last(sender or "", recipients or [], found) for _t, _x, sender, recipients in rows]


def cmd_show(args: argparse.Namespace) -> int:
    inst = _install(args)
    item = _items(inst, [args.id])[0]  # unknown or ambiguous: exit 2, named
    if item.queue == "retry":
        deferrals.attach([item], deferrals.scan(inst.log_dir))
    if args.json:
        emit_json(item.as_json())
        return 0
    for key, value in item.as_json().items():
        _out(f"{key + ':':<12} {value}")
    print()
    try:  # through the one safe open: no link followed, a FIFO never waited on
        head = files.read_head(item.path, 256 * 1024)
        sys.stdout.write(safe_lines(head.decode("utf-8", "replace")))
    except files.Unsafe as exc:
        print(safe_text(f"iwtui: {exc}"), file=sys.stderr)
        return 1
    except FileNotFoundError:
        print("iwtui: the file is gone (delivered)", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, plan: Plan) -> int:
    from iwtui.icewarp.queue.actions import GONE_WORD

    return run_plan(args, plan, GONE_WORD)


def _root(args: argparse.Namespace) -> Path | None:
    r = getattr(args, "root", None)
    return Path(r) if r else None


def cmd_delete(args: argparse.Namespace) -> int:
    from iwtui.icewarp.queue import actions as queue_actions

    inst = _install(args)
    plan = queue_actions.delete_plan(
        context(args).gate(), _items(inst, args.ids), _root(args), inst
    )
    return _run(args, plan)


def cmd_send_now(args: argparse.Namespace) -> int:
    from iwtui.icewarp.queue import actions as queue_actions

    inst = _install(args)
    return _run(args, queue_actions.send_now_plan(inst, _items(inst, args.ids), _root(args)))


def cmd_bounce(args: argparse.Namespace) -> int:
    from iwtui.icewarp.queue import actions as queue_actions

    inst = _install(args)
    items = _items(inst, args.ids)
    deferrals.attach(items, deferrals.scan(inst.log_dir))
    ctx = context(args)
    who = queue_actions.server_identity(
        inst, use_tool_sh=ctx.config.tool_sh, hostname=args.hostname
    )
    return _run(args, queue_actions.bounce_plan(ctx.gate(), inst, items, who, _root(args)))


def cmd_list_sender(which: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from iwtui.icewarp.queue import actions as queue_actions
        from iwtui.icewarp.spam import actions as spam_actions

        inst = _install(args)
        items = _items(inst, args.ids)
        validate.refuse_first(args, f"queue {which}")
        owner = spam_actions.validate_owner(args.owner)
        senders = list(dict.fromkeys(i.sender.lower() for i in items if i.sender))
        listed = spam_actions.listed_senders(inst.antispam_db, which, owner, senders)
        for sender, row in listed.items():  # a no-op, said as such: not written again
            print(safe_text(f"already {which}ed: {sender} for {owner} (row {row})"))
        items = [i for i in items if i.sender.lower() not in listed]
        if not items:
            print("nothing changed")
            return EXIT_OK
        return _run(
            args, queue_actions.sender_list_plan(inst, items, which, args.owner, _root(args))
        )

    return run


def cmd_undo(args: argparse.Namespace) -> int:
    from iwtui.cli.shell import cmd_undo as undo

    return undo(args)


def cmd_reasons(args: argparse.Namespace) -> int:
    inst = _install(args)
    items = list(scanning.scan(inst, ("retry",)).values())
    deferrals.attach(items, deferrals.scan(inst.log_dir))
    groups = deferrals.group(items)
    if args.json:
        emit_json([g.as_json() for g in groups])
        return 0
    now = datetime.now().timestamp()
    for g in groups:
        age_h = (now - g.oldest) / 3600
        _out(f"{g.count:>6}  oldest {age_h:6.1f} h  {g.reason}")
    return 0


def cmd_mailbox(args: argparse.Namespace) -> int:
    inst = _install(args)
    where, items = messages.mailbox(inst, args.account, args.folder)
    if not where.is_dir():
        raise BadInput(f"no such mailbox folder: {where}")
    if args.json:
        emit_json([i.as_json() for i in items])
        return 0
    for i in items:
        when = datetime.fromtimestamp(i.queued_at).strftime("%Y-%m-%d %H:%M")
        _out(f"{i.id:<20} {when} {i.size:>9,} {i.sender:<32} {i.subject[:60]}")
    return 0


def register(
    add: Add,
    lists: Callable[[argparse.ArgumentParser], None],
    writes: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = add(
        "queue",
        lambda a: a.queue_func(a),
        "queued messages: list, show, delete, send now, bounce, whitelist, blacklist, reasons",
    )
    sub = p.add_subparsers(title="queue commands", metavar="WHAT", required=True)

    sp = functools.partial(add_nested, sub, "queue_func")

    q = sp("list", cmd_list, "queued messages with envelope, subject, size, age and last error")
    q.add_argument("--queue", choices=(*QUEUE_NAMES, "all"), default="all")
    q.add_argument("--filter", metavar="'from:x;to:y;subject:z;!from:w'",
                   help="all terms must hold; a bare word matches any field; !term excludes")  # fmt: skip
    q.add_argument("--max", type=validate.count, default=0, metavar="N", help="at most N (0 = all)")
    lists(q)
    q.add_argument("--jsonl", action="store_true",
                   help="one JSON object a line (--json's fields), streamed: folder by folder,"
                   " in each folder's own order, not sorted")  # fmt: skip
    q = sp("show", cmd_show, "one message: fields, then the message itself (made inert)")
    q.add_argument("id", metavar="ID", help="the id, or QUEUE/ID (retry/ABC123) when in two")
    lists(q)
    for name, func, help_ in (
        ("delete", cmd_delete, "move messages to iwtui's trash (undoable)"),
        ("send-now", cmd_send_now, "move messages back to the top of the outgoing queue"),
        ("bounce", cmd_bounce, "return messages to their senders with a DSN (RFC 3464)"),
        ("whitelist", cmd_list_sender("whitelist"), "add the messages' senders to the whitelist"),
        ("blacklist", cmd_list_sender("blacklist"), "add the messages' senders to the blacklist"),
    ):
        q = sp(name, func, help_)
        q.add_argument("ids", nargs="+", metavar="ID", help="ids, or QUEUE/ID (retry/ABC123)")
        writes(q)
        if name in ("whitelist", "blacklist"):
            q.add_argument("--owner", default="*", help="* (everyone), a domain or a user")
        if name == "bounce":
            q.add_argument(
                "--hostname",
                help="the Reporting-MTA name in the DSN (default: the server's host name"
                " as IceWarp knows it, else its primary domain)",
            )
    q = sp("undo", cmd_undo, "undo a journaled queue action (default: the newest undoable)")
    q.add_argument("journal_id", nargs="?", metavar="JOURNAL-ID")
    writes(q)
    q = sp(
        "reasons",
        cmd_reasons,
        "the retry queue grouped by deferral reason, with count and oldest age",
    )
    lists(q)

    p = add("mailbox", lambda a: a.mailbox_func(a), "a user's inbox or spam folder")
    msub = p.add_subparsers(title="mailbox commands", metavar="WHAT", required=True)
    q = add_nested(
        msub, "mailbox_func", "list", cmd_mailbox, "messages of a user's inbox or spam folder"
    )
    q.add_argument("--account", required=True, metavar="USER@DOMAIN")
    q.add_argument("--folder", choices=("inbox", "spam"), default="inbox")
    lists(q)
