"""Message Queue actions as gate plans (spec 2): Delete, Send Now, Bounce Back, Whitelist
and Blacklist the sender. Each acts on a frozen list of items; a file gone before we act
was delivered ("already delivered"), never an error; every change can be undone.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path

from iwtui.errors import BadInput
from iwtui.icewarp.actions import (
    ActionGate,
    Gone,
    Plan,
    StepResult,
    atomic_write,
    move_file,
    trash_step,
)
from iwtui.icewarp.install import Install
from iwtui.icewarp.queue.heads import HEAD_LIMIT
from iwtui.icewarp.queue.messages import QueueItem
from iwtui.icewarp.spam import actions as spam_actions
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam.actions import validate_owner

GONE_WORD = "already delivered"


def _cli(verb: str, items: Sequence[QueueItem], root: Path | None, extra: str = "") -> str:
    root_arg = f" --root {shlex.quote(str(root))}" if root is not None else ""
    ids = " ".join(i.id for i in items)
    return f"iwtui queue {verb}{root_arg}{extra} {ids} --yes"


def delete_plan(gate: ActionGate, items: Sequence[QueueItem], root: Path | None = None) -> Plan:
    paths = {i.id: i.path for i in items}
    return Plan(
        action="queue delete",
        targets=tuple(paths),
        summary=f"Delete {len(paths)} queued message(s) (moved to iwtui's trash, undoable)",
        cli=_cli("delete", items, root),
        step=trash_step(gate, "queue", paths),
        undoable=True,
    )


def send_now_plan(install: Install, items: Sequence[QueueItem], root: Path | None = None) -> Plan:
    """Move items back to the top of the outgoing queue (one rename each)."""
    by_id = {i.id: i for i in items}

    def step(target: str) -> StepResult:
        item = by_id[target]
        dst = install.outgoing_dir / item.path.name
        if item.path.parent == install.outgoing_dir:
            return StepResult(target, "done", "already at the top of the outgoing queue")
        move_file(item.path, dst)
        return StepResult(
            target, "done", str(dst), [{"op": "move", "from": str(dst), "to": str(item.path)}]
        )

    return Plan(
        action="queue send-now",
        targets=tuple(by_id),
        summary=f"Send {len(by_id)} message(s) now (back to the top of the outgoing queue)",
        cli=_cli("send-now", items, root),
        step=step,
        undoable=True,
    )


def dsn(item: QueueItem, reporting_mta: str, original_head: bytes, reason: str) -> bytes:
    """An RFC 3464 delivery-status notification to the envelope sender: a
    multipart/report with a human-readable part, the message/delivery-status part and the
    original headers (text/rfc822-headers)."""
    from email.header import Header
    from email.message import Message
    from email.mime.base import MIMEBase
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from email.policy import compat32

    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = f"Mail Delivery System <postmaster@{reporting_mta}>"
    report["To"] = item.sender
    subject = (
        (f"Undelivered: {item.subject}"[:200])
        if item.subject
        else "Undelivered mail returned to sender"
    )
    report["Subject"] = Header(subject, "utf-8").encode()  # encoded words when not ASCII
    report["Date"] = format_datetime(datetime.now(UTC))
    report["Message-ID"] = make_msgid(domain=reporting_mta)
    report["Auto-Submitted"] = "auto-replied"
    report["X-Envelope-From"] = "<>"
    report["X-Envelope-To"] = f"<{item.sender}>"
    report.attach(MIMEText(
        "Your message could not be delivered and was returned by the administrator.\n\n"
        f"Recipients: {', '.join(item.recipients)}\nReason: {reason}\n", "plain", "utf-8"))  # fmt: skip
    arrival = format_datetime(datetime.fromtimestamp(item.queued_at, UTC))
    # message/delivery-status: one header block for the message, one per recipient
    per_message = Message()
    per_message["Reporting-MTA"] = f"dns; {reporting_mta}"
    per_message["Arrival-Date"] = arrival
    blocks: list[Message | str] = [per_message]
    for r in item.recipients:
        block = Message()
        block["Final-Recipient"] = f"rfc822; {r}"
        block["Action"] = "failed"
        block["Status"] = "5.0.0"
        block["Diagnostic-Code"] = f"smtp; {' '.join(reason.split())}"
        blocks.append(block)
    status = MIMEBase("message", "delivery-status")
    status.set_payload(blocks)
    report.attach(status)
    headers = MIMEBase("text", "rfc822-headers")
    # 8-bit header bytes (IceWarp keeps them as received) travel base64-encoded
    headers.set_payload(original_head.decode("utf-8", "replace"), charset="utf-8")
    report.attach(headers)
    return report.as_bytes(policy=compat32.clone(linesep="\r\n"))


def bounce_plan(
    gate: ActionGate,
    install: Install,
    items: Sequence[QueueItem],
    reporting_mta: str,
    root: Path | None = None,
) -> Plan:
    """Write a DSN to each sender into outgoing (atomically), then trash the original."""
    by_id = {i.id: i for i in items}
    trash = trash_step(gate, "queue", {i.id: i.path for i in items})

    def step(target: str) -> StepResult:
        item = by_id[target]
        if not item.sender or item.sender == "<>":
            return StepResult(
                target, "failed", "no envelope sender to bounce to (a bounce itself?)"
            )
        try:
            with open(item.path, "rb") as fh:
                head = fh.read(HEAD_LIMIT)
        except FileNotFoundError:
            raise Gone(target) from None
        cut = min(
            (i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=len(head)
        )
        body = dsn(
            item,
            reporting_mta,
            head[:cut] + b"\r\n",
            item.last_error or "returned by the administrator",
        )
        out = (
            install.outgoing_dir
            / f"{install.server_id}{int(time.time() * 1000) % 10**10:010d}{target[-4:]}.tmp"
        )
        atomic_write(out, body)
        result = trash(target)
        result.undo.append(
            {
                "op": "move",
                "from": str(out),
                "to": str(gate.trash_dir("queue") / ("dsn-" + out.name)),
            }
        )
        result.detail = f"DSN {out.name}; original in the trash"
        return result

    return Plan(
        action="queue bounce",
        targets=tuple(by_id),
        summary=f"Bounce {len(by_id)} message(s) back to their senders (a DSN each; originals to the trash)",
        cli=_cli("bounce", items, root),
        step=step,
        undoable=True,
    )


def sender_list_plan(
    install: Install, items: Sequence[QueueItem], which: str, owner: str, root: Path | None = None
) -> Plan:
    """Add each item's envelope sender to the whitelist or blacklist (one row per sender)."""
    if which not in ("whitelist", "blacklist"):
        raise BadInput(f"unknown list {which!r}")
    owner = validate_owner(owner)
    authorized = spam.WHITELIST if which == "whitelist" else spam.BLACKLIST
    senders = {i.sender.lower(): i for i in items if i.sender}
    db = install.antispam_db

    def step(sender: str) -> StepResult:
        rowid, added = spam_actions.write(
            db, lambda con: spam_actions.add_sender(con, owner, sender, authorized)
        )
        if not added:
            return StepResult(sender, "done", f"already on the {which} of {owner}")
        undo = [{"op": "senders-delete", "db": str(db), "rowid": rowid}]
        return StepResult(sender, "done", f"{which} row {rowid}", undo)

    extra = f" --owner {shlex.quote(owner)}"
    return Plan(
        action=f"queue {which}",
        targets=tuple(senders),
        summary=f"Add {len(senders)} sender(s) to the {which} of {owner}",
        cli=_cli(which, items, root, extra),
        step=step,
        undoable=True,
    )
