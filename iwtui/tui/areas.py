"""The Status node's areas, in IceWarp's order: the navigation and keys 1-9 follow it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AreaInfo:
    id: str
    title: str
    key: str
    issue: int | None
    summary: str


AREAS: tuple[AreaInfo, ...] = (
    AreaInfo(
        "queue",
        "Message Queue",
        "1",
        4,
        "Outgoing, priority, retry, incoming, MDA and SMS queues and user mailboxes: "
        "filter, sort and mark 100,000 items; delete (undoable), send now, bounce back, "
        "whitelist or blacklist the sender; deferral reasons of the retry queue.",
    ),
    AreaInfo(
        "spam",
        "Spam Queues",
        "2",
        5,
        "Quarantine, whitelist, blacklist, greylisting and intrusion prevention with "
        "reason codes and expiry countdowns; add, deliver, authorize, remove.",
    ),
    AreaInfo(
        "charts",
        "Traffic Charts",
        "3",
        None,
        "Per-service traffic from the logs: connections, data, received, sent, spam "
        "refused; 1 day, 1 week, 1 month or a range.",
    ),
    AreaInfo(
        "logs",
        "Logs",
        "4",
        3,
        "Any log of any size opened at once, live tail across rotation, ';'-AND filter, "
        "find, time range, save and delete; the seed's 5xx explanations beside replies.",
    ),
    AreaInfo(
        "analyzer",
        "Log Analyzer",
        "5",
        None,
        "Import SMTP, POP3, anti-spam and anti-virus logs into SQL; preset and custom "
        "reports; e-mailed statistics; server IDs.",
    ),
    AreaInfo(
        "statistics",
        "Statistics",
        "6",
        None,
        "Counters per service since the start of the day: connections, data, messages, "
        "anti-spam results.",
    ),
    AreaInfo(
        "sessions",
        "Sessions",
        "7",
        3,
        "Active and history sessions per service (S/C, state colours), each with its "
        "whole protocol log.",
    ),
    AreaInfo(
        "accounts",
        "Account Statistics",
        "8",
        None,
        "Per account: received, sent, sent out, last login, mailbox size; export.",
    ),
    AreaInfo(
        "volume",
        "Volume",
        "9",
        None,
        "Bytes and files per account, domain and server, with progress and cancel.",
    ),
)
BY_ID = {a.id: a for a in AREAS}
