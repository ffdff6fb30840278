"""Issue 9, section 6: log files named by the date alone (maintenance), by server id and
date (directory sync), in folders discovered rather than listed (spec 5.1)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.icewarp.logs import catalog
from iwtui.icewarp.logs.names import parse_name
from iwtui.icewarp.logs.tail import Follower


def test_names_by_date_alone_and_by_server_id_belong_to_their_folder(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    cases = {
        "maintenance/20060427.log": ("maintenance", "", date(2006, 4, 27), None),
        "adsync/303120260921-00.log": ("adsync", "3031", date(2026, 9, 21), 0),
        "kaspersky/20260921-03.log": ("kaspersky", "", date(2026, 9, 21), 3),
        "smtp/s20260115-01.log": ("smtp", "", date(2026, 1, 15), 1),
        "imap/m120190913-01.log": ("imap", "1", date(2019, 9, 13), 1),
        "s20260115.log": ("smtp", "", date(2026, 1, 15), None),  # the log folder itself
    }
    for rel, (service, server, day, part) in cases.items():
        n = parse_name(root / rel, root)
        assert n is not None, rel
        assert (n.service, n.server_id, n.day, n.part) == (service, server, day, part), rel
    assert parse_name(root / "20260115.log", root) is None  # a date alone needs its folder
    assert parse_name(root / "maintenance" / "20261341.log", root) is None  # not a date


def test_logs_list_discovers_every_folder_and_show_dates_its_lines(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = sim_root / "logs"
    (logs / "maintenance").mkdir()
    (logs / "maintenance" / "20260114.log").write_text(
        "SYSTEM [0001] 03:00:01 Maintenance started\nSYSTEM [0001] 03:00:09 Maintenance done\n"
    )
    (logs / "adsync").mkdir()
    (logs / "adsync" / "303120260115-00.log").write_text("SYSTEM [0002] 04:00:00 sync 3 users\n")
    assert main(["logs", "list", "--root", str(sim_root), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    got = {(r["service"], r["date"], r["server_id"], r["part"]) for r in rows}
    assert ("maintenance", "2026-01-14", None, None) in got
    assert ("adsync", "2026-01-15", "3031", 0) in got
    assert main(["logs", "show", "--root", str(sim_root), "--service", "maintenance",
                 "--json"]) == 0  # fmt: skip
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [ln["time"] for ln in lines] == ["2026-01-14T03:00:01", "2026-01-14T03:00:09"]
    cat = catalog.scan(logs)
    assert {"maintenance", "adsync", "smtp"} <= set(cat.services())
    # the follower finds the folder's newest file too
    f = Follower(logs, "adsync", from_start=True)
    assert f.current is not None and f.current.path.name == "303120260115-00.log"
    assert [e.text for e in f.poll() if e.kind == "line"] == ["SYSTEM [0002] 04:00:00 sync 3 users"]
    f.close()
