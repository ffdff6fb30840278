"""Tables, indexes and rollups of the analyzer database (spec 6; documented in
docs/analyzer.md). The same DDL serves SQLite and PostgreSQL: only a few type names differ.

Identifiers are written unquoted, so PostgreSQL folds ``lg_Server`` to ``lg_server``; SQL
written either way works on both. Dates are ``YYYY-MM-DD`` text and times ``HH:MM:SS``
text on both engines, so every preset gives the same answer on both.
"""

from __future__ import annotations

# (name, type) with the SQLite spelling; pg_type() translates.
SMTP: tuple[tuple[str, str], ...] = (
    ("lg_Server", "TEXT"),
    ("lg_Date", "TEXT"),
    ("lg_Time", "TEXT"),
    ("lg_Hour", "INTEGER"),
    ("lg_ThreadID", "TEXT"),
    ("lg_FromIP", "TEXT"),
    ("lg_Helo", "TEXT"),
    ("lg_FromAccount", "TEXT"),
    ("lg_FromDomain", "TEXT"),
    ("lg_ToAccount", "TEXT"),
    ("lg_ToDomain", "TEXT"),
    ("lg_Recipients", "INTEGER"),
    ("lg_MessageID", "TEXT"),
    ("lg_Size", "BIGINT"),
    ("lg_Duration", "INTEGER"),
    ("lg_Error", "TEXT"),
    ("lg_Reply", "TEXT"),
    ("lg_AUTH", "INTEGER"),
    ("lg_TLS", "INTEGER"),
    ("lg_Relay", "INTEGER"),
    ("lg_DNSBL", "INTEGER"),
    ("lg_Tarpitting", "INTEGER"),
    ("lg_AccessNotAllowed", "INTEGER"),
    ("lg_DomainSenderMustExist", "INTEGER"),
    ("lg_DeletedByFilter", "INTEGER"),
    ("lg_Incomplete", "INTEGER"),
    ("lg_ClientSession", "INTEGER"),
    ("lg_Scan", "INTEGER"),
    ("lg_AV", "INTEGER"),
    ("lg_Midnight", "INTEGER"),
    ("lg_Log", "BLOB"),
    ("lg_LogRows", "INTEGER"),
    ("lg_TS", "TEXT"),
)
POP3: tuple[tuple[str, str], ...] = (
    ("lg_Server", "TEXT"),
    ("lg_Date", "TEXT"),
    ("lg_Time", "TEXT"),
    ("lg_Hour", "INTEGER"),
    ("lg_ThreadID", "TEXT"),
    ("lg_FromIP", "TEXT"),
    ("lg_Account", "TEXT"),
    ("lg_Domain", "TEXT"),
    ("lg_Result", "TEXT"),
    ("lg_Duration", "INTEGER"),
    ("lg_Midnight", "INTEGER"),
    ("lg_Log", "BLOB"),
    ("lg_LogRows", "INTEGER"),
    ("lg_TS", "TEXT"),
)
ANTISPAM: tuple[tuple[str, str], ...] = (
    ("lg_Server", "TEXT"),
    ("lg_Date", "TEXT"),
    ("lg_Time", "TEXT"),
    ("lg_Hour", "INTEGER"),
    ("lg_ThreadID", "TEXT"),
    ("lg_MessageID", "TEXT"),
    ("lg_FromAccount", "TEXT"),
    ("lg_FromDomain", "TEXT"),
    ("lg_ToAccount", "TEXT"),
    ("lg_ToDomain", "TEXT"),
    ("lg_Score", "REAL"),
    ("lg_Action", "TEXT"),
    ("lg_Reason", "TEXT"),
    ("lg_TS", "TEXT"),
)
ANTIVIRUS: tuple[tuple[str, str], ...] = (
    ("lg_Server", "TEXT"),
    ("lg_Date", "TEXT"),
    ("lg_Time", "TEXT"),
    ("lg_Hour", "INTEGER"),
    ("lg_ThreadID", "TEXT"),
    ("lg_FromIP", "TEXT"),
    ("lg_MessageID", "TEXT"),
    ("lg_FromAccount", "TEXT"),
    ("lg_FromDomain", "TEXT"),
    ("lg_ToAccount", "TEXT"),
    ("lg_ToDomain", "TEXT"),
    ("lg_Virus", "TEXT"),
    ("lg_Action", "TEXT"),
    ("lg_Text", "TEXT"),
    ("lg_TS", "TEXT"),
)
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "smtp": SMTP,
    "pop3": POP3,
    "antispam": ANTISPAM,
    "antivirus": ANTIVIRUS,
}

# Rollups, maintained by the import per (server, day); the presets read these.
_KEY = (("lg_Server", "TEXT"), ("lg_Date", "TEXT"))
ROLLUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "agg_hour": (
        *_KEY,
        ("lg_Hour", "INTEGER"),
        ("lg_ClientSession", "INTEGER"),
        ("lg_Error", "TEXT"),
        ("msgs", "BIGINT"),
        ("rcpts", "BIGINT"),
        ("bytes", "BIGINT"),
        ("duration", "BIGINT"),
    ),
    "agg_conn": (
        *_KEY,
        ("lg_Hour", "INTEGER"),
        ("lg_ClientSession", "INTEGER"),
        ("sessions", "BIGINT"),
    ),
    "agg_dur": (
        *_KEY,
        ("lg_ClientSession", "INTEGER"),
        ("bucket", "INTEGER"),
        ("msgs", "BIGINT"),
    ),
    "agg_top": (
        *_KEY,
        ("dim", "TEXT"),
        ("name", "TEXT"),
        ("msgs", "BIGINT"),
        ("bytes", "BIGINT"),
    ),
    "agg_spam": (*_KEY, ("lg_Hour", "INTEGER"), ("lg_Action", "TEXT"), ("msgs", "BIGINT")),
    "agg_pop3": (*_KEY, ("lg_Hour", "INTEGER"), ("lg_Result", "TEXT"), ("sessions", "BIGINT")),
}
RUNS = "iwtui_runs"
RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("started", "TEXT"),
    ("seconds", "REAL"),
    ("lg_Server", "TEXT"),
    ("lg_Date", "TEXT"),
    ("status", "TEXT"),
    ("detail", "TEXT"),
)

# smtp: lg_TS serves a day's replace (its lg_TS range) and the newest-first walk of Mail
# Search; an address is found by domain and lower-cased account, newest first from the
# index itself (reports.mail_search).
INDEXES: tuple[tuple[str, str, str], ...] = (
    ("smtp_ts", "smtp", "lg_TS"),
    ("smtp_mid", "smtp", "lg_MessageID"),
    ("smtp_ip", "smtp", "lg_FromIP"),
    ("smtp_from_ts", "smtp", "lg_FromDomain, lower(lg_FromAccount), lg_TS"),
    ("smtp_to_ts", "smtp", "lg_ToDomain, lower(lg_ToAccount), lg_TS"),
    ("pop3_day", "pop3", "lg_Server, lg_Date"),
    ("antispam_day", "antispam", "lg_Server, lg_Date"),
    ("antivirus_day", "antivirus", "lg_Server, lg_Date"),
    *((f"{t}_day", t, "lg_Date, lg_Server") for t in ROLLUPS),
)

# Delivery-time histogram buckets (seconds, lower bounds).
DURATION_BUCKETS = (0, 1, 2, 5, 10, 30, 60, 300)
# Top lists kept per (server, day, dim): the heaviest by count and the heaviest by size.
TOP_KEEP = 500
OTHERS = "(others)"
DIMS = ("from_domain", "to_domain", "from_user", "to_user", "ip", "reject_ip", "defer_domain")


def bucket_of(seconds: int) -> int:
    b = 0
    for lower in DURATION_BUCKETS:
        if seconds >= lower:
            b = lower
    return b


def pg_type(t: str) -> str:
    return {"BLOB": "BYTEA", "REAL": "DOUBLE PRECISION"}.get(t, t)


def ddl(engine: str) -> list[str]:
    """CREATE statements (idempotent) for every table and index."""
    conv = pg_type if engine == "postgresql" else (lambda t: t)
    out = []
    every: list[tuple[str, tuple[tuple[str, str], ...]]] = [
        *TABLES.items(),
        *ROLLUPS.items(),
        (RUNS, RUN_COLUMNS),
    ]
    for name, cols in every:
        body = ", ".join(f"{c} {conv(t)}" for c, t in cols)
        out.append(f"CREATE TABLE IF NOT EXISTS {name} ({body})")
    for iname, table, icols in INDEXES:
        out.append(f"CREATE INDEX IF NOT EXISTS {iname} ON {table} ({icols})")
    out += [f"DROP INDEX IF EXISTS {iname}" for iname in OBSOLETE_INDEXES]
    return out


# indexes of earlier versions that the ones above replace (dropped by ensure_schema)
OBSOLETE_INDEXES = ("smtp_day", "smtp_from", "smtp_to")


def columns(table: str) -> list[str]:
    return [c for c, _ in {**TABLES, **ROLLUPS, RUNS: RUN_COLUMNS}[table]]


RAW_ONLY = ("lg_Log", "lg_LogRows")  # NULL in every row unless raw session data is imported


def row_columns(table: str, raw: bool) -> list[str]:
    """The columns of the rows the import makes for ``table``, in order: without the raw
    option ``lg_Log`` and ``lg_LogRows`` are left out (NULL by omission: binding a None
    costs sqlite3 about four times a text)."""
    cols = columns(table)
    return cols if raw else [c for c in cols if c not in RAW_ONLY]


# Lower-case name -> the schema's spelling (PostgreSQL returns folded names).
SPELLING: dict[str, str] = {
    c.lower(): c for cols in (*TABLES.values(), *ROLLUPS.values(), RUN_COLUMNS) for c, _ in cols
}
