"""ILA's ``lg_Error`` classes from reply phrases (seed, "Log Analyzer" and the 5xx table).

A session refused before any ``***`` summary gets the class of its refusing reply;
every class seen in a session also sets its ILA flag column (``lg_Relay`` for WDNR, ...).
"""

from __future__ import annotations

# phrase (case-folded, searched in the reply text) -> class; first match wins.
PHRASES: tuple[tuple[str, str], ...] = (
    ("greylist", "GRLST"),
    ("dnsbl", "DNSBL"),
    ("do not relay", "WDNR"),
    ("local domains only", "WDNR"),
    ("sender domain must exist", "SDME"),
    ("sender ip must resolve", "SDME"),
    ("access to recipient not allowed", "ANA"),
    ("access not allowed", "ANA"),
    ("user unknown", "UNK"),
    ("unknown user", "UNK"),
    ("unknown local user", "UNK"),
    ("no such user", "UNK"),
    ("invalid forward set", "UNK"),
    ("virus", "AV"),
    ("spam", "AS"),
    ("content filter", "DBF"),
    ("deleted by filter", "DBF"),
    ("rules rejection", "DBF"),
    ("filter rejection", "DBF"),
    ("intrusion prevention", "TARP"),
    ("maximal parallel connections", "TARP"),
    ("capabilities scan", "SCAN"),
    ("could not connect", "CNC"),
    ("while issuing mx query", "CNC"),
    ("could not resolve", "CNC"),
)

# class -> ILA flag column of the smtp table
FLAGS: dict[str, str] = {
    "WDNR": "lg_Relay",
    "DNSBL": "lg_DNSBL",
    "TARP": "lg_Tarpitting",
    "ANA": "lg_AccessNotAllowed",
    "SDME": "lg_DomainSenderMustExist",
    "DBF": "lg_DeletedByFilter",
    "INCPLT": "lg_Incomplete",
    "SCAN": "lg_Scan",
    "AV": "lg_AV",
}


def classify(text: str) -> str:
    """The class of a refusing reply or failure line; ``ERROR`` when no phrase matches."""
    folded = text.casefold()
    for phrase, cls in PHRASES:
        if phrase in folded:
            return cls
    return "ERROR"
