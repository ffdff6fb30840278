"""E-mailed statistics (the seed's Statistics tab): a plain-text report with an HTML part,
opening with the grand totals, put into IceWarp's outgoing queue (ILA's default) or sent
over SMTP to a host (mla.dat's ``[STATS] HOST=``, else the config, else 127.0.0.1)."""

from __future__ import annotations

import contextlib
import secrets
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from iwtui.analyzer import reports
from iwtui.analyzer.db import Database
from iwtui.analyzer.render import report_html, report_text
from iwtui.errors import BadInput, IwtuiError
from iwtui.icewarp import files
from iwtui.icewarp.actions import ActionGate, Plan, StepResult, UndoRecord
from iwtui.icewarp.install import Install
from iwtui.icewarp.moves import create_unique

DEFAULT_REPORTS = ("per-day", "top-sender-domains", "top-recipient-domains", "rejections",
                   "deferrals", "spam")  # fmt: skip


def _addresses(values: Sequence[str]) -> list[str]:
    out = []
    for v in values:
        for a in v.split(","):
            a = a.strip()
            if not a:
                continue
            if "@" not in a or any(c in a for c in " \r\n<>,;\"'"):
                raise BadInput(f"not an e-mail address: {a!r}")
            out.append(a)
    if not out:
        raise BadInput("give at least one recipient (--to A[,B])")
    return out


def compose(db: Database, names: Sequence[str], params: reports.Params, sender: str,
            to: Sequence[str], label: str) -> EmailMessage:  # fmt: skip
    rcpts = _addresses(to)
    sender = _addresses([sender])[0] if sender else "log-analyzer@localhost"
    chosen = ["grand-totals", *(n for n in (names or DEFAULT_REPORTS) if n != "grand-totals")]
    reps = [reports.run(db, n, params) for n in chosen]
    text = f"IceWarp Log Analyzer statistics: {label}\n\n" + "\n".join(report_text(r) for r in reps)
    body = "".join(report_html(r) for r in reps)
    page = (f"<html><body><h1>IceWarp Log Analyzer statistics: {label}</h1>{body}"
            "</body></html>")  # fmt: skip
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(rcpts)
    msg["Subject"] = f"Log Analyzer statistics {label}"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or None)
    msg["X-Envelope-From"] = f"<{sender}>"
    msg["X-Envelope-To"] = ", ".join(f"<{r}>" for r in rcpts)
    msg.set_content(text)
    msg.add_alternative(page, subtype="html")
    return msg


def mla_host(install: Install | None) -> str:
    """``HOST=`` in the ``[STATS]`` section of ``<config>/mla.dat``, or ""."""
    if install is None:
        return ""
    path = Path(install.config_dir) / "mla.dat"
    try:
        with files.open_regular(path) as (fd, _st):
            raw = files.read_fd(fd, 65536)
    except (OSError, files.Unsafe):
        return ""
    section = ""
    for line in raw.decode("utf-8", "replace").splitlines():
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1].strip().upper()
        elif section == "STATS" and s.upper().startswith("HOST="):
            return s[5:].strip()
    return ""


def parse_via(via: str) -> tuple[str, str, int]:
    """``queue`` or ``smtp://HOST[:PORT]``."""
    if via == "queue":
        return "queue", "", 0
    if via.startswith("smtp://"):
        rest = via[7:].rstrip("/")
        host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
        if not host:
            host, port = rest, ""
        try:
            return "smtp", host.strip("[]"), int(port or 25)
        except ValueError:
            raise BadInput(f"--via: bad port in {via!r}") from None
    if via == "smtp":
        return "smtp", "", 25
    raise BadInput(f"--via: 'queue' or 'smtp://HOST:PORT', not {via!r}")


def send_smtp(msg: EmailMessage, host: str, port: int = 25, timeout: float = 30.0) -> str:
    try:
        with smtplib.SMTP(host or "127.0.0.1", port, timeout=timeout) as s:
            s.ehlo_or_helo_if_needed()
            with contextlib.suppress(smtplib.SMTPException):
                if s.has_extn("starttls") and host not in ("127.0.0.1", "localhost", ""):
                    s.starttls()
            refused = s.send_message(msg)
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        raise IwtuiError(f"sending to {host or '127.0.0.1'}:{port} failed: {exc}") from exc
    if refused:
        raise IwtuiError(f"refused by the SMTP server: {', '.join(refused)}")
    return f"sent to {host or '127.0.0.1'}:{port} for {msg['To']}"


def queue_plan(gate: ActionGate, install: Install, msg: EmailMessage, cli: str) -> Plan:
    """One new file in the outgoing queue (``O_EXCL``, a unique name), journaled;
    undo moves it to iwtui's trash."""
    prefix = files.check_name(install.server_id, "LocalServerID") if install.server_id else ""
    data = msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    trash = gate.trash_dir("analyzer")

    def new_name() -> str:
        return f"{prefix}{secrets.token_hex(5)}.tmp"

    planned = new_name()

    def step(target: str) -> StepResult:
        names = iter([planned])
        out = create_unique(install.outgoing_dir, lambda: next(names, None) or new_name(), data)
        undo: list[UndoRecord] = [{"op": "move", "from": str(out), "to": str(trash / out.name)}]
        return StepResult(target, "done", f"queued as {out}", undo)

    return Plan(
        action="analyzer mail",
        targets=("statistics",),
        summary=f"Queue the statistics e-mail for {msg['To']} in {install.outgoing_dir}",
        cli=cli,
        step=step,
        undoable=True,
        intent={
            "statistics": [
                {
                    "op": "move",
                    "from": str(install.outgoing_dir / planned),
                    "to": str(trash / planned),
                }
            ]
        },
    )
