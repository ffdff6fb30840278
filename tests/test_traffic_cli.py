"""``iwtui charts categories``, ``iwtui charts show`` and ``iwtui stats`` (issue 11), through
``iwtui.cli.main`` against the independent count of tests/test_traffic_reference.py."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.icewarp.install import discover
from tests import test_traffic_reference as ref

DAY = "2026-01-15"  # the simulator's FIXED_START day


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _hourly(root: Path, counter: str, service: str = "smtp") -> Counter[str]:
    counts, _acc = ref.count(discover(root, use_tool_sh=False).log_dir)
    out: Counter[str] = Counter()
    for (s, c, minute), v in counts.items():
        if s == service and c == counter:
            out[minute[:13] + ":00:00"] += v
    return out


def test_categories_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "charts", "categories", "--json")
    assert code == 0
    rows = json.loads(out)
    smtp = {r["category"] for r in rows if r["service"] == "smtp"}
    assert {"serverconn", "serverdatain", "serverdataout", "clientconn", "clientdatain",
            "clientdataout", "msgreceived", "msgsent", "msgfailed", "msgvirus",
            "msgcontentfilter", "msgrules", "msgexternal", "msgintrusionprevention", "msgdns",
            "quarantine", "spamassasin", "spammarked", "refused", "greylisting"} <= smtp  # fmt: skip
    code, out, _ = _run(capsys, "charts", "categories", "--service", "pop3", "--json")
    assert {r["category"] for r in json.loads(out)} >= {"serverconn", "logins", "loginsfailed"}
    code, out, _ = _run(capsys, "charts", "categories", "--service", "smtp")
    assert code == 0 and "serverconn" in out and "Server Connections" in out


def test_show_json_every_hour_against_independent_count(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "charts", "show", "--root", str(sim_root), "--service", "smtp",
                          "--category", "serverconn,msgreceived,clientdataout", "--date", DAY,
                          "--json")  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    assert [g["category"] for g in got] == ["serverconn", "msgreceived", "clientdataout"]
    for g in got:
        assert g["service"] == "smtp" and g["step_s"] == 3600
        ts = [p["t"] for p in g["points"]]
        assert ts == [f"{DAY}T{h:02d}:00:00" for h in range(24)]  # every step, zeros too
        expected = _hourly(sim_root, g["category"])
        assert {p["t"]: p["v"] for p in g["points"] if p["v"]} == dict(expected)
    # the simulated day ends at 14:30: the later hours are present with zeros
    assert got[0]["points"][20]["v"] == 0


def test_show_minutes_range_and_csv(sim_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("charts", "show", "--root", str(sim_root), "--service", "smtp",
            "--category", "serverconn")  # fmt: skip
    _code, out, _ = _run(capsys, *args, "--date", DAY, "--step", "1m", "--json")
    points = json.loads(out)[0]["points"]
    assert len(points) == 1440 and points[0]["t"] == f"{DAY}T00:00:00"
    counts, _ = ref.count(discover(sim_root, use_tool_sh=False).log_dir)
    expected = {f"{m}:00": v for (s, c, m), v in counts.items() if (s, c) == ("smtp", "serverconn")}
    assert {p["t"]: p["v"] for p in points if p["v"]} == expected
    _code, out, _ = _run(capsys, *args, "--from", f"{DAY}T09:00", "--to", f"{DAY}T10:00",
                        "--step", "5m", "--json")  # fmt: skip
    pts = json.loads(out)[0]["points"]
    assert len(pts) == 12 and pts[-1]["t"] == f"{DAY}T09:55:00"
    assert sum(p["v"] for p in pts) == _hourly(sim_root, "serverconn")[f"{DAY}T09:00:00"]
    _code, out, _ = _run(capsys, *args, "--date", DAY, "--csv")
    lines = out.splitlines()
    assert lines[0] == "service,category,step_s,t,v,avg,peak" and len(lines) == 25
    _code, out, _ = _run(capsys, *args, "--period", "week", "--date", DAY, "--json")
    week = json.loads(out)[0]
    assert week["step_s"] == 3600 and len(week["points"]) == 7 * 24
    _code, out, _ = _run(capsys, *args, "--period", "year", "--date", DAY, "--json")
    year = json.loads(out)[0]
    assert year["step_s"] == 86400 and len(year["points"]) == 365
    assert year["points"][-1]["v"] == sum(_hourly(sim_root, "serverconn").values())


def test_show_svg_is_valid(sim_root: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    svg = tmp_path / "chart.svg"
    code, _out, err = _run(capsys, "charts", "show", "--root", str(sim_root), "--service", "smtp",
                           "--category", "serverconn,msgsent", "--date", DAY, "--svg", str(svg))  # fmt: skip
    assert code == 0, err
    tree = ET.parse(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert tree.getroot().tag == f"{ns}svg"
    assert len(tree.getroot().findall(f"{ns}polyline")) == 2
    assert any("serverconn" in (t.text or "") for t in tree.getroot().iter(f"{ns}text"))


@pytest.mark.parametrize(
    "argv",
    [
        ("--service", "smtp", "--category", "nonsense"),
        ("--service", "nope", "--category", "serverconn"),
        ("--service", "smtp", "--category", "serverconn", "--date", "2026-13-01"),
        ("--service", "smtp", "--category", "serverconn", "--from", "2026-01-15T09:00"),
        ("--service", "smtp", "--category", "serverconn", "--from", "x", "--to", "y"),
        (
            "--service",
            "smtp",
            "--category",
            "serverconn",
            "--from",
            "2026-01-15T10:00",
            "--to",
            "2026-01-15T09:00",
        ),
        ("--service", "smtp", "--category", "serverconn", "--json", "--csv"),
    ],
)
def test_show_bad_input_exit_2(sim_root: Path, capsys: pytest.CaptureFixture[str],
                               argv: tuple[str, ...]) -> None:  # fmt: skip
    code, out, err = _run(capsys, "charts", "show", "--root", str(sim_root), *argv)
    assert code == 2 and out == ""
    assert err.startswith("iwtui: ") and err.count("\n") == 1


def test_stats_json_since_midnight_and_since_restart(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "stats", "--root", str(sim_root), "--date", DAY, "--json")
    assert code == 0, err
    got = json.loads(out)
    assert {"smtp", "pop3", "imap"} <= set(got)
    counts, _ = ref.count(discover(sim_root, use_tool_sh=False).log_dir)
    for service in ("smtp", "pop3", "imap"):
        assert got[service]["since"] == f"{DAY}T00:00:00"
        for name in ("serverconn", "logins"):
            expected = sum(v for (s, c, _m), v in counts.items() if (s, c) == (service, name))
            assert got[service][name] == expected
    assert got["smtp"]["msgreceived"] > 0 and "peak" in got["smtp"]
    # a restart at 12:00: SMTP counts from its start line on
    smtp = sim_root / "logs" / "smtp" / "s20260115.log"
    with smtp.open("a") as fh:
        fh.write("SYSTEM          [0000] 14:30:00 SMTP Service started\n")
    code, out, _ = _run(capsys, "stats", "--root", str(sim_root), "--date", DAY, "--service",
                        "smtp", "--json")  # fmt: skip
    after = json.loads(out)
    assert list(after) == ["smtp"] and after["smtp"]["since"] == f"{DAY}T14:30:00"
    expected = sum(v for (s, c, m), v in counts.items()
                   if (s, c) == ("smtp", "serverconn") and m >= f"{DAY}T14:30")  # fmt: skip
    assert after["smtp"]["serverconn"] == expected < got["smtp"]["serverconn"]
    code, out, _ = _run(capsys, "stats", "--root", str(sim_root), "--date", DAY)
    assert code == 0 and "SMTP (since the service started" in out


def test_warm_run_reads_nothing(sim_root: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from iwtui.icewarp.traffic import ingest, worker

    args = ("charts", "show", "--root", str(sim_root), "--service", "smtp", "--category",
            "serverconn", "--date", DAY, "--json")  # fmt: skip
    _code, first, _ = _run(capsys, *args)

    def boom(*_a: object, **_k: object) -> object:
        raise AssertionError("a log was read again")

    monkeypatch.setattr(worker, "run_task", boom)
    monkeypatch.setattr(ingest, "_job", boom)
    _code, second, _ = _run(capsys, *args)
    assert second == first


def test_show_of_a_thinned_day_comes_in_hours(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """40 days of logs: the first day's minutes are thinned; a 5-minute chart of it comes
    in hours (step_s 3600, a note on stderr) with the hours' true totals; a day still in
    the minute window keeps its 5 minutes; stats of the thinned day are its totals."""
    from datetime import date, timedelta

    root = tmp_path / "icewarp"
    smtp = root / "logs" / "smtp"
    smtp.mkdir(parents=True)
    for i in range(40):
        d = date(2026, 3, 1) + timedelta(days=i)
        lines = [f"1.2.3.4         [{k:04X}] 10:{k % 3:02d}:05 Connected" for k in range(i + 1)]
        (smtp / f"s{d:%Y%m%d}.log").write_text("\n".join(lines) + "\n")
    show = ("charts", "show", "--root", str(root), "--service", "smtp", "--category",
            "serverconn", "--step", "5m", "--json", "--date")  # fmt: skip
    code, out, err = _run(capsys, *show, "2026-03-03")
    assert code == 0 and "kept 35 days" in err
    got = json.loads(out)[0]
    assert got["step_s"] == 3600 and len(got["points"]) == 24
    assert {p["t"]: p["v"] for p in got["points"] if p["v"]} == {"2026-03-03T10:00:00": 3}
    assert max(p["peak"] for p in got["points"]) == 1
    code, out, err = _run(capsys, *show, "2026-04-09")
    got = json.loads(out)[0]
    assert code == 0 and not err and got["step_s"] == 300 and len(got["points"]) == 288
    assert [(p["v"], p["peak"]) for p in got["points"] if p["v"]] == [(40, 14)]
    code, out, _ = _run(capsys, "stats", "--root", str(root), "--service", "smtp", "--date",
                        "2026-03-03", "--json")  # fmt: skip
    st = json.loads(out)["smtp"]
    assert st["serverconn"] == 3 and st["peak"]["serverconn"]["v"] == 1
