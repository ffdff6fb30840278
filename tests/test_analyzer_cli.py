"""`iwtui analyzer ...` through iwtui.cli.main, as the issue spells the commands."""

from __future__ import annotations

import email
import json
import threading
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from iwtui.cli import main
from tests.pg import fresh_db, pg_url  # noqa: F401


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _import(capsys: pytest.CaptureFixture[str], root: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run(capsys, "analyzer", "import", "--root", str(root), "--date",
                         "2026-01-15", "--json", *extra)  # fmt: skip
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_import_json_per_table_rows_and_time(sim_root: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = _import(capsys, sim_root)
    assert set(out["tables"]) == {"smtp", "pop3", "antispam", "antivirus"}
    assert out["tables"]["smtp"]["rows"] > 100 and out["tables"]["smtp"]["seconds"] >= 0
    assert (tmp_path / "state" / "analyzer.sqlite").is_file()  # the default: the state dir
    again = _import(capsys, sim_root)
    assert again["tables"]["smtp"]["rows"] == out["tables"]["smtp"]["rows"]
    code, text, _e = run(capsys, "analyzer", "import", "--root", str(sim_root), "--date",
                         "2026-01-15", "--server-id", "b", "--raw", "--keep-days", "3")  # fmt: skip
    assert code == 0 and "smtp" in text and "rows" in text
    code, _o, err = run(capsys, "analyzer", "import", "--root", str(sim_root), "--date", "15.1.")
    assert code == 2 and "YYYY-MM-DD" in err
    code, _o, err = run(capsys, "analyzer", "import", "--root", str(sim_root), "--yesterday",
                        "--date", "2026-01-15")  # fmt: skip
    assert code == 2


def test_reports_report_and_csv(sim_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _import(capsys, sim_root, "--server-id", "a")
    code, out, _e = run(capsys, "analyzer", "reports", "--json")
    names = [r["name"] for r in json.loads(out)]
    assert code == 0 and {"grand-totals", "ip", "domain", "user", "global-week", "mail-search",
                          "direct-search", "duration", "delivery-time"} <= set(names)  # fmt: skip
    code, out, _e = run(capsys, "analyzer", "report", "grand-totals", "--from", "2026-01-15",
                        "--to", "2026-01-15", "--server-id", "a", "--json")  # fmt: skip
    rep = json.loads(out)
    assert code == 0 and rep["rows"][0]["measure"] == "messages" and rep["rows"][0]["count"] > 0
    code, out, _e = run(capsys, "analyzer", "report", "per-hour", "--csv")
    assert code == 0 and out.splitlines()[0].startswith("hour,received")
    code, out, _e = run(capsys, "analyzer", "report", "global-hour", "--threshold", "1")
    assert code == 0 and "\n* " in out
    code, _o, err = run(capsys, "analyzer", "report", "nope")
    assert code == 2 and "no report" in err


def test_sql_read_only(sim_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _import(capsys, sim_root)
    code, out, _e = run(capsys, "analyzer", "sql", "SELECT count(*) AS n FROM smtp", "--json")
    n = json.loads(out)["rows"][0][0]
    assert code == 0 and n > 100
    for sql in ("DELETE FROM smtp", "DROP TABLE smtp", "INSERT INTO smtp (lg_Server) VALUES (1)"):
        code, _o, err = run(capsys, "analyzer", "sql", sql)
        assert code == 2 and "read-only" in err
    code, out, _e = run(capsys, "analyzer", "sql", "SELECT count(*) FROM smtp", "--json")
    assert json.loads(out)["rows"][0][0] == n
    hist = (tmp_path / "state" / "analyzer-sql-history.jsonl").read_text()
    assert "SELECT count(*) FROM smtp" in hist


def test_cli_on_postgresql(sim_root: Path, capsys: pytest.CaptureFixture[str],
                           pg_url: str) -> None:  # noqa: F811  # fmt: skip
    url = fresh_db(pg_url, "cli")
    out = _import(capsys, sim_root, "--db", url)
    assert (out["tables"]["smtp"]["rows"] > 100 and "***" in out["db"]) or "iwtui@" in out["db"]
    code, text, _e = run(capsys, "analyzer", "report", "rejections", "--db", url, "--json")
    assert code == 0 and json.loads(text)["rows"]
    code, _o, err = run(capsys, "analyzer", "sql", "DELETE FROM smtp", "--db", url)
    assert code == 2 and "read-only" in err


class _Sink:
    def __init__(self) -> None:
        self.got: list[Any] = []
        self.event = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got.append(envelope)
        self.event.set()
        return "250 OK"


def _parts(msg: Message) -> dict[str, str]:
    out = {}
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out[part.get_content_subtype()] = payload.decode()
    return out


def test_mail_over_smtp_is_received(sim_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aiosmtpd.controller import Controller

    _import(capsys, sim_root)
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = _Sink()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        code, _o, err = run(capsys, "analyzer", "mail", "--to", "ops@example.org,boss@example.org",
                            "--from", "stats@icewarpdemo.com", "--reports", "top-senders,spam",
                            "--date", "2026-01-15", "--via", f"smtp://127.0.0.1:{port}")  # fmt: skip
        assert code == 0, err
        assert sink.event.wait(10)
    finally:
        ctl.stop()
    env = sink.got[0]
    assert env.mail_from == "stats@icewarpdemo.com"
    assert sorted(env.rcpt_tos) == ["boss@example.org", "ops@example.org"]
    msg = email.message_from_bytes(env.original_content)
    parts = _parts(msg)
    assert set(parts) == {"plain", "html"}
    text = parts["plain"]
    assert text.index("Grand totals") < text.index("Top senders") < text.index("Spam")
    assert "messages" in text.split("Grand totals", 1)[1][:400]
    assert "<table" in parts["html"]


def test_mail_into_the_queue_is_journaled_and_parses_back(
    sim_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import(capsys, sim_root)
    outgoing = sim_root / "mail" / "_outgoing"
    before = {p.name for p in outgoing.iterdir()}
    code, _out, err = run(capsys, "analyzer", "mail", "--root", str(sim_root), "--to",
                         "ops@example.org", "--date", "2026-01-15")  # fmt: skip
    assert code == 0, err
    new = [p for p in outgoing.iterdir() if p.name not in before]
    assert len(new) == 1 and new[0].suffix == ".tmp" and new[0].is_file()
    msg = email.message_from_bytes(new[0].read_bytes())
    assert msg["To"] == "ops@example.org" and "<ops@example.org>" in msg["X-Envelope-To"]
    assert _parts(msg)["plain"].lstrip().startswith("IceWarp Log Analyzer statistics")
    journal = (tmp_path / "state" / "journal.jsonl").read_text()
    assert "analyzer mail" in journal
    # read-only mode refuses, nothing written
    code, _o, err = run(capsys, "analyzer", "mail", "--root", str(sim_root), "--read-only",
                        "--to", "ops@example.org", "--date", "2026-01-15")  # fmt: skip
    assert code == 1 and "read-only" in err
    assert len([p for p in outgoing.iterdir() if p.name not in before]) == 1
    code, _o, err = run(capsys, "analyzer", "mail", "--root", str(sim_root), "--to", "nobody")
    assert code == 2


def test_schedule_print(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _e = run(capsys, "analyzer", "schedule", "--print")
    assert code == 0
    assert "OnCalendar=*-*-* 01:00:00" in out and "[Service]" in out and "[Timer]" in out
    assert "analyzer import --yesterday" in out
    assert any(line.startswith("0 1 * * * ") for line in out.splitlines())


def test_inactive_config_refuses_import(sim_root: Path, isolated_config: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    isolated_config.write_text(isolated_config.read_text() + "analyzer:\n  active: false\n")
    code, _o, err = run(capsys, "analyzer", "import", "--root", str(sim_root), "--date",
                        "2026-01-15")  # fmt: skip
    assert code == 1 and "not active" in err
    isolated_config.write_text(isolated_config.read_text().replace("active: false",
                                                                   "keep_days: -1"))  # fmt: skip
    code, _o, err = run(capsys, "analyzer", "import", "--root", str(sim_root))
    assert code == 2 and "keep_days" in err
