"""The ``analyzer:`` mapping of the config, checked once (seed, "Log Analyzer").

Keys: ``db`` (a PostgreSQL URL or a SQLite path; default ``<state_dir>/analyzer.sqlite``),
``server_id``, ``active``, ``logs`` (which logs to process), ``raw``, ``empty_first``,
``keep_days``, ``pre_delete_sql`` (run before the retention delete, only with
``keep_days``), ``saved_queries`` (name -> SQL) and ``mail`` (``active``, ``from``, ``to``,
``reports``, ``host``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from iwtui.errors import ConfigError

LOGS = ("smtp", "pop3", "antispam", "antivirus")
DB_FILE = "analyzer.sqlite"


@dataclass(frozen=True)
class MailSettings:
    active: bool = False
    sender: str = ""
    to: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()
    host: str = ""  # "" -> mla.dat's [STATS] HOST=, else 127.0.0.1; only for smtp delivery


@dataclass(frozen=True)
class Settings:
    db: str = ""  # "" -> <state_dir>/analyzer.sqlite
    server_id: str = ""
    active: bool = True
    logs: tuple[str, ...] = LOGS
    raw: bool = False
    empty_first: bool = False
    keep_days: int | None = None
    pre_delete_sql: str = ""
    saved_queries: dict[str, str] = field(default_factory=dict)
    mail: MailSettings = field(default_factory=MailSettings)

    def db_url(self, state_dir: Path) -> str:
        return self.db or str(state_dir / DB_FILE)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _err(key: str, want: str, got: Any) -> ConfigError:
    return ConfigError(f"config analyzer.{key}: expected {want}, got {got!r}")


def _bool(raw: dict[str, Any], key: str, default: bool) -> bool:
    v = raw.get(key, default)
    if not isinstance(v, bool):
        raise _err(key, "true or false", v)
    return v


def _str(raw: dict[str, Any], key: str, default: str = "") -> str:
    v = raw.get(key, default)
    if v is None:
        return default
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)  # server_id: 1 is fine
    if not isinstance(v, str):
        raise _err(key, "a string", v)
    return v


def _names(raw: dict[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    v = raw.get(key, default)
    if isinstance(v, str):
        v = [p.strip() for p in v.split(",") if p.strip()]
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        raise _err(key, "a list of names (or a comma-separated string)", v)
    return tuple(v)


def parse(raw: dict[str, Any] | None) -> Settings:
    """Settings from the config's mapping; a ConfigError names the bad key."""
    raw = dict(raw or {})
    known = {"db", "server_id", "active", "logs", "raw", "empty_first", "keep_days",
             "pre_delete_sql", "saved_queries", "mail"}  # fmt: skip
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"config analyzer: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    logs = _names(raw, "logs", LOGS)
    bad = [x for x in logs if x not in LOGS]
    if bad:
        raise _err("logs", f"some of {', '.join(LOGS)}", bad[0])
    keep = raw.get("keep_days")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
        raise _err("keep_days", "a whole number of days (1 or more)", keep)
    sql = raw.get("pre_delete_sql", "")
    if isinstance(sql, list) and all(isinstance(s, str) for s in sql):
        sql = ";\n".join(s.strip().rstrip(";") for s in sql if s.strip())
    if not isinstance(sql, str):
        raise _err("pre_delete_sql", "SQL text or a list of statements", sql)
    saved = raw.get("saved_queries") or {}
    if not isinstance(saved, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in saved.items()
    ):
        raise _err("saved_queries", "a mapping of name to SQL text", saved)
    return Settings(
        db=_str(raw, "db"),
        server_id=_str(raw, "server_id"),
        active=_bool(raw, "active", True),
        logs=logs,
        raw=_bool(raw, "raw", False),
        empty_first=_bool(raw, "empty_first", False),
        keep_days=keep,
        pre_delete_sql=sql,
        saved_queries=dict(saved),
        mail=_mail(raw.get("mail")),
    )


def _mail(raw: Any) -> MailSettings:
    if raw is None:
        return MailSettings()
    if not isinstance(raw, dict):
        raise _err("mail", "a mapping (active, from, to, reports, host)", raw)
    unknown = sorted(set(raw) - {"active", "from", "to", "reports", "host"})
    if unknown:
        raise ConfigError(f"config analyzer.mail: unknown key {unknown[0]!r}")
    to = _names(raw, "to", ())
    for addr in (*to, _str(raw, "from")):
        if addr and ("@" not in addr or any(c in addr for c in " \r\n<>")):
            raise _err("mail", "e-mail addresses (name@domain)", addr)
    return MailSettings(
        active=_bool(raw, "active", False),
        sender=_str(raw, "from"),
        to=to,
        reports=_names(raw, "reports", ()),
        host=_str(raw, "host"),
    )
