"""The Account Statistics export in IceWarp's shape (the seed's "Log structure"):

- line 1: the headers, each in brackets, tab-separated;
- one line per account matching the filter;
- ``Unknown senders``: relayed and delivered mail from senders that are not local
  accounts (present only when the filter is empty);
- ``Total``: the sums over the account lines (the unknown line not included).

Amounts are in bytes; times are ISO local time as in the logs; an unknown value is empty.
The separator (tab) and the two special lines' first field are iwtui's choice (the seed
gives the lines, not their spelling).
"""

from __future__ import annotations

import os
from pathlib import Path

from iwtui.icewarp.accounts.stats import AccountRow, Report
from iwtui.icewarp.logs.lines import safe_text

COLUMNS: tuple[tuple[str, str], ...] = (
    ("Account", "account"),
    ("Received Messages", "received_count"),
    ("Received Amount", "received_bytes"),
    ("Sent Messages", "sent_count"),
    ("Sent Amount", "sent_bytes"),
    ("Sent Out Messages", "sent_out_count"),
    ("Sent Out Amount", "sent_out_bytes"),
    ("Last Sent", "last_sent"),
    ("Last Received", "last_received"),
    ("Last Login", "last_login"),
    ("Last IP", "last_ip"),
    ("Created", "created"),
    ("Messages Count", "messages_count"),
    ("Messages Amount", "messages_bytes"),
)
SEP = "\t"


def _cell(value: object) -> str:
    if value is None:
        return ""
    return safe_text(str(value)).replace("\t", " ")


def line(row: AccountRow) -> str:
    return SEP.join(_cell(getattr(row, attr)) for _, attr in COLUMNS)


def lines(report: Report) -> list[str]:
    out = [SEP.join(f"[{title}]" for title, _ in COLUMNS)]
    out += [line(r) for r in report.rows]
    if report.unknown is not None:
        out.append(line(report.unknown))
    out.append(line(report.total))
    return out


def write(report: Report, path: Path) -> int:
    """Write the export atomically; the number of account lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text("\n".join(lines(report)) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return len(report.rows)
