"""``iwtui logs ...`` and ``iwtui sessions ...`` on the simulated tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.icewarp.logs.catalog import scan


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_logs_list_and_show_count_and_json(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "logs", "list", "--root", str(sim_root), "--json")
    rows = json.loads(out)
    assert code == 0 and {r["service"] for r in rows} >= {
        "smtp",
        "pop3",
        "imap",
        "flow",
        "performance",
    }
    smtp = scan(sim_root / "logs").get("smtp")
    assert smtp is not None
    path = smtp.current.path
    want = sum(
        1 for ln in path.read_bytes().split(b"\n") if b"Client session" in ln and b"250" in ln
    )
    code, out, _ = _run(
        capsys,
        "logs",
        "show",
        "--root",
        str(sim_root),
        "--service",
        "smtp",
        "--filter",
        "Client session;250",
        "--count",
    )
    assert code == 0 and int(out) == want
    code, out, _ = _run(
        capsys,
        "logs",
        "show",
        "--root",
        str(sim_root),
        "--service",
        "smtp",
        "--filter",
        "***;!Client session",
        "--json",
    )
    objs = [json.loads(x) for x in out.splitlines()]
    assert objs and all(o["kind"] == "summary" and not o["client"] for o in objs)
    assert {"sender", "recipients", "count", "size", "duration_s", "result", "message_id"} <= set(
        objs[0]
    )


def test_logs_show_errors_are_one_line_exit_2(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, needle in (
        (["--service", "nope"], "no logs for service"),
        (["--service", "smtp", "--filter", "re:("], "bad regular expression"),
        (["--service", "smtp", "--from", "25:99x"], "bad time"),
        (["--service", "smtp", "--date", "2001-01-01"], "no smtp log for"),
    ):
        code, _out, err = _run(capsys, "logs", "show", "--root", str(sim_root), *argv)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_logs_parse_json_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "s20190913.log"
    p.write_text(
        "1.2.3.4 [0001] 10:00:00 *** <a@x.com> <b@y.org> 1 2804 00:00:01 OK YAR93710\n"
        "127.0.0.1 [07B0] 11:22:54 RSH1 '<j@d.com>' '<w@i.com>' 1 score 10.00 reason [Bayes=99.99] action SPAM\n"
        "garbage \x1b[31m [bold]\n"
        "half"
    )
    code, out, _ = _run(capsys, "logs", "parse", str(p), "--json")
    rows = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and len(rows) == 3  # the half-written line waits
    s, a, raw = rows
    assert (
        s["kind"] == "summary"
        and s["time"] == "2019-09-13T10:00:00"
        and s["recipients"] == ["b@y.org"]
    )
    assert (
        s["duration_s"] == 1
        and s["message_id"] == "YAR93710"
        and s["who"] == "1.2.3.4"
        and s["thread"] == "0001"
    )
    assert (
        a["kind"] == "antispam"
        and a["score"] == 10.0
        and a["action"] == "SPAM"
        and a["recipient"] == "w@i.com"
    )
    assert raw["kind"] == "raw" and raw["time"] is None


def test_sessions_list_and_show(sim_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "sessions", "list", "--root", str(sim_root), "--service", "smtp", "--json"
    )
    rows = json.loads(out)
    assert code == 0 and rows and {r["type"] for r in rows} == {"S", "C"}
    assert {r["state"] for r in rows} <= {"active", "success", "failed", "disconnected"}
    done = next(r for r in rows if r["state"] == "success" and r["type"] == "S")
    code, out, _ = _run(
        capsys, "sessions", "show", "--root", str(sim_root), "--service", "smtp", "--date", done["date"],
        "--thread", done["thread"], "--at", done["start"][11:19], "--json",
    )  # fmt: skip
    one = json.loads(out)
    assert (
        code == 0 and one["thread"] == done["thread"] and one["log"][0].split()[0] == done["peer"]
    )
    assert "related" in one


def test_logs_delete_goes_through_the_gate_and_undoes(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = scan(sim_root / "logs")
    day = cat.days_of("pop3")[0]
    before = {f.path: f.path.read_bytes() for f in day.files}
    args = [
        "logs",
        "delete",
        "--root",
        str(sim_root),
        "--service",
        "pop3",
        "--date",
        day.day.isoformat(),
    ]
    code, _out, err = _run(capsys, *args, "--read-only", "--yes")
    assert code == 1 and "read-only" in err and all(p.exists() for p in before)
    code, _out, err = _run(capsys, *args)  # no terminal, no --yes: refused
    assert code == 1 and "--yes" in err
    code, out, _ = _run(capsys, *args, "--yes")
    assert code == 0 and not any(p.exists() for p in before)
    code, out, _ = _run(capsys, "journal", "--json")
    assert "iwtui logs delete" in out
    code, out, _ = _run(capsys, "undo", "--root", str(sim_root), "--yes")  # undo: in the install
    assert code == 0 and {p: p.read_bytes() for p in before} == before


def test_logs_tail_prints_new_lines(sim_root: Path, isolated_config: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "iwtui", "logs", "tail", "--root", str(sim_root), "--service", "smtp",
         "-n", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        import time

        time.sleep(1.5)
        smtp = scan(sim_root / "logs").get("smtp")
        assert smtp is not None
        with smtp.current.path.open("a") as fh:
            fh.write("9.9.9.9 [ABCD] 23:59:59 <<< NEW LINE\n")
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, _err = proc.communicate(timeout=10)
    assert out.strip().splitlines() == ["9.9.9.9 [ABCD] 23:59:59 <<< NEW LINE"]


def _tail_output(root: Path, *extra: str, append: str = "") -> list[str]:
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "iwtui", "logs", "tail", "--root", str(root), "--service", "smtp",
         *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(1.5)
        if append:
            smtp = scan(root / "logs").get("smtp")
            assert smtp is not None
            with smtp.current.path.open("a") as fh:
                fh.write(append)
            time.sleep(1.0)
    finally:
        proc.terminate()
        out, _err = proc.communicate(timeout=10)
    return out.splitlines()


def test_logs_tail_shows_the_last_lines_first(sim_root: Path, isolated_config: Path) -> None:
    """Issue 14.6: `logs tail` printed nothing until a new line came; like `tail -f` it
    shows the last lines first (10, or -n N; of those matching --filter)."""
    smtp = scan(sim_root / "logs").get("smtp")
    assert smtp is not None
    path = smtp.current.path
    with path.open("a") as fh:
        fh.write("9.9.9.9 [ABCD] 23:59:59 <<< half-written")  # not a line yet
    lines = path.read_text().split("\n")[:-1]
    new = "9.9.9.9 [ABCD] 23:59:59 <<< NEW LINE\n"
    assert _tail_output(sim_root, append=new) == [
        *lines[-10:],
        "9.9.9.9 [ABCD] 23:59:59 <<< half-written9.9.9.9 [ABCD] 23:59:59 <<< NEW LINE",
    ]
    lines = path.read_text().split("\n")[:-1]
    assert _tail_output(sim_root, "-n", "3") == lines[-3:]
    rcpt = [ln for ln in lines if "RCPT" in ln]
    assert _tail_output(sim_root, "--lines", "2", "--filter", "RCPT") == rcpt[-2:]


def test_logs_tail_lines_is_a_count(sim_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["logs", "tail", "--root", str(sim_root), "--service", "smtp", "-n", "-5"])
    assert exc.value.code == 2 and "not a count" in capsys.readouterr().err
