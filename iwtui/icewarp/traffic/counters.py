"""The counters of the traffic engine: names, titles, units, and which services have them.

Names follow IceWarp's ``getservicestatistics`` fields (spec section 4) where they apply;
``logins``, ``loginsfailed``, ``msgrejected`` and ``msgvirusrejected`` are iwtui's own. The definitions (which
log lines, which results) are in ``docs/traffic.md``; ``DERIVED`` is False for a field the
logs do not hold (it is always 0, and the docs say why).
"""

from __future__ import annotations

from typing import NamedTuple


class Counter(NamedTuple):  # (not a dataclass: start-up)
    name: str
    title: str
    unit: str  # "count" or "bytes"
    derived: bool = True  # False: not in the logs, always 0


SMTP: tuple[Counter, ...] = (
    Counter("serverconn", "Server Connections", "count"),
    Counter("serverdatain", "Server Data Received", "bytes"),
    Counter("serverdataout", "Server Data Sent", "bytes", derived=False),
    Counter("clientconn", "Client Connections", "count"),
    Counter("clientdatain", "Client Data Received", "bytes", derived=False),
    Counter("clientdataout", "Client Data Sent", "bytes"),
    Counter("msgreceived", "Received #", "count"),
    Counter("msgsent", "Sent #", "count"),
    Counter("msgfailed", "Failed #", "count"),
    Counter("msgvirus", "Virus #", "count"),
    Counter("msgvirusrejected", "Virus Rejected #", "count"),
    Counter("msgcontentfilter", "Content Filter #", "count"),
    Counter("msgrules", "Rules #", "count", derived=False),
    Counter("msgexternal", "External Filter #", "count", derived=False),
    Counter("msgintrusionprevention", "Intrusion Prevention #", "count"),
    Counter("msgdns", "DNSBL #", "count"),
    Counter("quarantine", "Spam Quarantined #", "count"),
    Counter("spamassasin", "SpamAssassin #", "count"),
    Counter("spammarked", "Spam Marked #", "count"),
    Counter("refused", "Spam Refused #", "count"),
    Counter("greylisting", "Greylisting #", "count"),
    Counter("msgrejected", "Rejected #", "count"),
    Counter("logins", "Logins #", "count"),
    Counter("loginsfailed", "Failed Logins #", "count"),
)
MAILBOX: tuple[Counter, ...] = (
    Counter("serverconn", "Server Connections", "count"),
    Counter("serverdataout", "Server Data Sent", "bytes", derived=False),
    Counter("logins", "Logins #", "count"),
    Counter("loginsfailed", "Failed Logins #", "count"),
)
OTHER: tuple[Counter, ...] = (
    Counter("serverconn", "Server Connections", "count"),
    Counter("logins", "Logins #", "count"),
    Counter("loginsfailed", "Failed Logins #", "count"),
)

# Logs with no counters of their own (mail flow, performance, errors, spam reports).
# The anti-spam and anti-virus logs are read, but their counters are SMTP's (as in
# IceWarp's statistics).
NOT_READ = frozenset({"flow", "performance", "error", "spamreports", "maintenance"})
FOLDED = {"antispam": "smtp", "antivirus": "smtp"}
MAIN_SERVICES = ("smtp", "pop3", "imap")
ALL_NAMES: tuple[str, ...] = tuple(c.name for c in SMTP)


def counters_of(service: str) -> tuple[Counter, ...]:
    if service == "smtp":
        return SMTP
    if service in ("pop3", "imap"):
        return MAILBOX
    return OTHER


def counter(service: str, name: str) -> Counter | None:
    return next((c for c in counters_of(service) if c.name == name), None)
