"""Data tables from the seed that several areas read: the intrusion prevention reason
codes (Logs, Spam Queues, Log Analyzer) and the interpretation of SMTP 5xx replies."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

TARPIT_REASONS: dict[str, str] = {
    "C": "Tarpitting invoked via Content Filters",
    "I": "IP blocked for exceeding connections in one minute",
    "M": "IP blocked for delivering oversized message",
    "R": "IP blocked for exceeding RSET command count",
    "D": "IP blocked for being listed on DNSBL",
    "A": 'The account that this message was sent to was a "tarpit" account so the sending IP '
    "is tarpitted",
    "P": "IP blocked for exceeding unknown user delivery count",
    "Y": "IP blocked for relaying",
    "S": "IP blocked for exceeding spam score in a message",
    "U": "IP blocked manually via console",
    "L": "IP blocked for too many failed login attempts",
}


@dataclass(frozen=True)
class Interpretation:
    code: str
    enhanced: str
    phrase: str
    cause: str
    remedy: str


@cache
def reply_table() -> tuple[Interpretation, ...]:
    import yaml  # (~10 ms: a command that never explains a reply does not pay it)

    text = resources.files("iwtui.data").joinpath("smtp_replies.yaml").read_text(encoding="utf-8")
    return tuple(
        Interpretation(**{k: str(v) for k, v in row.items()}) for row in yaml.safe_load(text)
    )
