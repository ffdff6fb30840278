"""Message Queue actions as gate plans (spec 2): Delete, Send Now, Bounce Back, Whitelist
and Blacklist the sender. Each acts on a frozen list of items; a file gone before we act
was delivered ("already delivered"), never an error; every change can be undone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path

from iwtui.errors import BadInput
from iwtui.icewarp import files
from iwtui.icewarp.actions import ActionGate, Plan, StepResult, TrashMover, UndoRecord
from iwtui.icewarp.files import FileId
from iwtui.icewarp.install import Install, query_tool_sh
from iwtui.icewarp.moves import claim, claim_path, create_unique, move_file, unclaim
from iwtui.icewarp.queue.heads import HEAD_LIMIT
from iwtui.icewarp.queue.messages import QueueItem
from iwtui.icewarp.spam import actions as spam_actions
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam.actions import validate_owner

GONE_WORD = "already delivered"


def _cli(verb: str, items: Sequence[QueueItem], root: Path | None, extra: str = "") -> str:
    root_arg = f" --root {shlex.quote(str(root))}" if root is not None else ""
    ids = " ".join(shlex.quote(i.id) for i in items)
    return f"iwtui queue {verb}{root_arg}{extra} {ids} --yes"


def describe_items(items: Sequence[QueueItem]) -> Callable[[str], str]:
    """A queued message as the list shows it: ``ID  sender -> recipient  subject``."""
    by_id = {i.id: i for i in items}

    def describe(target: str) -> str:
        i = by_id[target]
        rcpt = i.recipients[0] if i.recipients else (i.to or "?")
        more = f" (+{len(i.recipients) - 1})" if len(i.recipients) > 1 else ""
        subject = f"  {i.subject}" if i.subject else ""
        return f"{i.id}  {i.sender or '<>'} -> {rcpt}{more}{subject}"

    return describe


def _queue_folders(install: Install) -> list[Path]:
    """The queue folders, deepest first (retry is usually inside outgoing)."""
    dirs = {install.retry_dir, install.outgoing_dir, install.incoming_dir, install.sms_dir}
    return sorted(dirs, key=lambda p: len(p.parts), reverse=True)


def checked_path(install: Install, item: QueueItem) -> Path:
    """The item's path if it lies in a queue folder with no symlink on the way (a
    ``priority_4`` that is a link is never followed), else :class:`files.Unsafe`."""
    for folder in _queue_folders(install):
        try:
            item.path.relative_to(folder)
        except ValueError:
            continue
        return files.within(folder, item.path, what="queue file")
    raise files.Unsafe(f"refused {item.path}: not in a queue folder of the install")


def _listed_ino(item: QueueItem) -> int | None:
    return item.key[0] or None


class _Queue:
    """What every queue plan shares: each item's checked path (a bad one fails that
    item with its reason) and the trash mover that knows ahead where each file goes."""

    def __init__(
        self,
        gate: ActionGate,
        install: Install | None,
        items: Sequence[QueueItem],
        root: Path | None = None,
    ):
        self.by_id = {i.id: i for i in items}
        self.paths: dict[str, Path] = {}
        self.bad: dict[str, str] = {}
        base = install.root if install else root
        for i in items:
            try:
                if install is not None:
                    self.paths[i.id] = checked_path(install, i)
                elif root is not None and i.path.is_relative_to(root):
                    self.paths[i.id] = files.within(root, i.path, what="queue file")
                else:
                    self.paths[i.id] = i.path
            except files.Unsafe as exc:
                self.bad[i.id] = str(exc)
        expect = {t: ino for t, i in self.by_id.items() if (ino := _listed_ino(i))}
        self.trash = TrashMover(gate, "queue", self.paths, base=base, expect=expect)

    def refuse(self, target: str) -> None:
        if target in self.bad:
            raise files.Unsafe(self.bad[target])


def delete_plan(
    gate: ActionGate,
    items: Sequence[QueueItem],
    root: Path | None = None,
    install: Install | None = None,
) -> Plan:
    """Move items to ``<state>/trash/<date>/queue/<queue folder>/`` (claimed first)."""
    q = _Queue(gate, install, items, root)

    def step(target: str) -> StepResult:
        q.refuse(target)
        return q.trash.step(target)

    return Plan(
        action="queue delete",
        targets=tuple(q.by_id),
        summary=f"Delete {len(q.by_id)} queued message(s) (moved to iwtui's trash, undoable)",
        cli=_cli("delete", items, root),
        step=step,
        undoable=True,
        intent=q.trash.intent(),
        describe=describe_items(items),
    )


def send_now_plan(install: Install, items: Sequence[QueueItem], root: Path | None = None) -> Plan:
    """Move items back to the top of the outgoing queue (claimed, then one rename)."""
    by_id = {i.id: i for i in items}
    paths: dict[str, Path] = {}
    bad: dict[str, str] = {}
    for i in items:
        try:
            paths[i.id] = checked_path(install, i)
        except files.Unsafe as exc:
            bad[i.id] = str(exc)

    def step(target: str) -> StepResult:
        if target in bad:
            raise files.Unsafe(bad[target])
        src = paths[target]
        if src.parent == install.outgoing_dir:
            return StepResult(target, "done", "already at the top of the outgoing queue")
        dst = files.inside(install.outgoing_dir, src.name, what="queue file name")
        held = claim(src, _listed_ino(by_id[target]))
        try:
            move_file(held, dst)
        except BaseException:
            unclaim(held, src)
            raise
        return StepResult(
            target, "done", str(dst), [{"op": "move", "from": str(dst), "to": str(src)}]
        )

    intent = {
        t: [
            {"op": "move", "from": str(install.outgoing_dir / p.name), "to": str(p)},
            {"op": "move", "from": str(claim_path(p)), "to": str(p)},
        ]
        for t, p in paths.items()
        if p.parent != install.outgoing_dir
    }
    return Plan(
        action="queue send-now",
        targets=tuple(by_id),
        summary=f"Send {len(by_id)} message(s) now (back to the top of the outgoing queue)",
        cli=_cli("send-now", items, root),
        step=step,
        undoable=True,
        intent=intent,
        describe=describe_items(items),
    )


# --- the server's own name, for the DSN ------------------------------------------------


@dataclass(frozen=True)
class ServerIdentity:
    """Who sends the DSN: ``From: postmaster@<domain>``, ``Reporting-MTA: dns; <host>``."""

    host: str
    domain: str


# ASSUMED: IceWarp's API variables for the SMTP host name and the primary domain.
HOST_VARIABLE = "C_Mail_SMTP_General_HostName"
DOMAIN_VARIABLE = "C_MainDomain"


def mail_domains(mail_dir: Path) -> list[str]:
    """The domains of the mail store (``<mail>/<domain>/``), sorted; no links followed."""
    try:
        with os.scandir(mail_dir) as it:
            names = [e.name for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return sorted(n for n in names if "." in n and not n.startswith(("_", ".", "~")))


def _plain_host(value: str | None) -> str | None:
    value = (value or "").strip().strip(".").lower()
    ok = value and len(value) <= 253 and all(c.isalnum() or c in "-." for c in value)
    return value if ok else None


def server_identity(
    install: Install, *, use_tool_sh: bool = True, hostname: str | None = None
) -> ServerIdentity:
    """The server's host name and primary domain as IceWarp knows them: ``tool.sh`` when
    allowed (the API variables above), else the mail store's first domain; the host
    name falls back to the primary domain. Never the machine's own host name."""
    domain = host = None
    if use_tool_sh:
        domain = _plain_host(query_tool_sh(install.root, DOMAIN_VARIABLE))
        host = _plain_host(query_tool_sh(install.root, HOST_VARIABLE))
    if domain is None:
        found = [d for d in mail_domains(install.mail_dir) if _plain_host(d)]
        domain = _plain_host(found[0]) if found else None
    domain = domain or host or "localhost"
    if hostname and not _plain_host(hostname):
        raise BadInput(f"bad host name {hostname!r}")
    return ServerIdentity(_plain_host(hostname) or host or domain, domain)


def dsn(item: QueueItem, who: ServerIdentity | str, original_head: bytes, reason: str) -> bytes:
    """An RFC 3464 delivery-status notification to the envelope sender: a
    multipart/report with a human-readable part, the message/delivery-status part and the
    original headers (text/rfc822-headers)."""
    from email.header import Header
    from email.message import Message
    from email.mime.base import MIMEBase
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from email.policy import compat32

    if isinstance(who, str):
        who = ServerIdentity(who, who)
    reporting_mta = who.host
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = f"Mail Delivery System <postmaster@{who.domain}>"
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
    reporting_mta: str | ServerIdentity | None = None,
    root: Path | None = None,
    *,
    use_tool_sh: bool = True,
) -> Plan:
    """Claim each item, read it through a no-follow descriptor (the file listed, not
    whatever now has its name), write a DSN to its sender as a new file in outgoing
    (``O_EXCL``, a unique name), then trash the original."""
    if isinstance(reporting_mta, ServerIdentity):
        who = reporting_mta
    else:
        who = server_identity(install, use_tool_sh=use_tool_sh, hostname=reporting_mta)
    prefix = files.check_name(install.server_id, "LocalServerID") if install.server_id else ""
    q = _Queue(gate, install, items, root)
    dsn_trash = gate.trash_dir("queue") / "dsn"

    def new_name() -> str:
        return f"{prefix}{secrets.token_hex(5)}.tmp"

    # Each DSN's name is chosen ahead and journaled with the plan: after a kill -9
    # between writing a DSN and journaling its step, undo still finds it.
    planned = {t: new_name() for t in q.paths}
    intent = q.trash.intent()
    for t, name in planned.items():
        intent[t].append(
            {"op": "move", "from": str(install.outgoing_dir / name), "to": str(dsn_trash / name)}
        )

    def step(target: str) -> StepResult:
        q.refuse(target)
        item, src = q.by_id[target], q.paths[target]
        if not item.sender or item.sender == "<>":
            return StepResult(
                target, "failed", "no envelope sender to bounce to (a bounce itself?)"
            )
        held = claim(src, _listed_ino(item))
        out: Path | None = None
        try:
            st = os.lstat(held)
            with files.open_regular(held, expect=FileId.of(st)) as (fd, _st):
                head = files.read_fd(fd, HEAD_LIMIT)
            cut = min(
                (i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0),
                default=len(head),
            )
            body = dsn(
                item, who, head[:cut] + b"\r\n", item.last_error or "returned by the administrator"
            )
            names = iter([planned[target]])
            out = create_unique(install.outgoing_dir, lambda: next(names, None) or new_name(), body)
            dst = q.trash.move_claimed(target, held)
        except BaseException:
            if out is not None:  # the DSN goes only with the original's removal
                with contextlib.suppress(OSError):
                    os.unlink(out)
            unclaim(held, src)
            raise
        undo: list[UndoRecord] = [
            {"op": "move", "from": str(dst), "to": str(src)},
            {"op": "move", "from": str(out), "to": str(dsn_trash / out.name)},
        ]
        return StepResult(target, "done", f"DSN {out.name}; original in the trash", undo)

    return Plan(
        action="queue bounce",
        targets=tuple(q.by_id),
        summary=f"Bounce {len(q.by_id)} message(s) back to their senders (a DSN each; originals to the trash)",
        cli=_cli("bounce", items, root),
        step=step,
        undoable=True,
        intent=intent,
        batch=32,
        describe=describe_items(items),
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
    per_sender: dict[str, int] = {}
    for i in items:
        if i.sender:
            per_sender[i.sender.lower()] = per_sender.get(i.sender.lower(), 0) + 1
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
    one = next(iter(senders)) if len(senders) == 1 else f"{len(senders)} senders"
    summary = f"Add {one} to the {which} of {owner}"
    return Plan(
        action=f"queue {which}",
        targets=tuple(senders),
        summary=summary,
        cli=_cli(which, items, root, extra),
        step=step,
        undoable=True,
        describe=lambda sender: f"{sender}  ({per_sender[sender]} message(s) in the list)",
    )
