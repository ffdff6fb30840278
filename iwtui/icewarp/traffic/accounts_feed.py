"""Per-account totals over days, from the ``account_day`` table the traffic ingest fills.

The Account Statistics area (issue 12) reads this. Definitions (only ``OK`` summaries):
a server-session ``***`` line adds, for each recipient, received_count + 1 and
received_bytes + size (and last_received); for the sender, sent_count + N and
sent_bytes + N * size, N = its recipients (and last_sent). A client-session
(``Client session ***``) line adds to the sender sent_out_count + N and
sent_out_bytes + N * size. last_login / last_ip come from ``User <address> logged in``
lines (POP3, IMAP, and SMTP when it writes them); WHO is the IP. Every address seen has
rows: the reader decides which are local accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from iwtui.icewarp.traffic.store import Store


@dataclass
class AccountDay:
    account: str
    received_count: int = 0
    received_bytes: int = 0
    sent_count: int = 0
    sent_bytes: int = 0
    sent_out_count: int = 0
    sent_out_bytes: int = 0
    last_sent: str | None = None  # ISO YYYY-MM-DDTHH:MM:SS, local as in the logs
    last_received: str | None = None
    last_login: str | None = None
    last_ip: str | None = None


def account_totals(store: Store, start_day: str, end_day: str,
                   server: str | None = None) -> dict[str, AccountDay]:  # fmt: skip
    """Sums over ``start_day``..``end_day`` (ISO dates, both included), the newest of the
    ``last_*`` fields; ``server`` None: every server of the store."""
    where = "day >= ? AND day <= ?"
    args: list[str] = [start_day, end_day]
    if server is not None:
        where += " AND server = ?"
        args.append(server)
    out: dict[str, AccountDay] = {}
    for row in store.db.execute(
        "SELECT account, sum(received_count), sum(received_bytes), sum(sent_count),"
        " sum(sent_bytes), sum(sent_out_count), sum(sent_out_bytes), max(last_sent),"
        f" max(last_received), max(last_login) FROM account_day WHERE {where}"
        " GROUP BY account",
        args,
    ):
        n = [int(v or 0) for v in row[1:7]]
        out[row[0]] = AccountDay(row[0], n[0], n[1], n[2], n[3], n[4], n[5], *row[7:10])
    for account, ip in store.db.execute(
        "SELECT a.account, a.last_ip FROM account_day a JOIN (SELECT account,"
        f" max(last_login) AS t FROM account_day WHERE {where} AND last_login IS NOT NULL"
        " GROUP BY account) m ON a.account = m.account AND a.last_login = m.t"
        f" WHERE {where.replace('day', 'a.day').replace('server', 'a.server')}",
        args + args,
    ):
        if account in out:
            out[account].last_ip = ip
    return out
