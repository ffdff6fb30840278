"""Issue 9, section 4: what reaches the terminal is inert everywhere, tty or not; JSON
stays JSON; every equivalent command is shell-quoted."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.text import json_inert, safe_lines, safe_text

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"
CLEAR = "\x1b[2J"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _inert(text: str) -> bool:
    return not any((ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) <= 0x9F for c in text)


def test_the_one_sanitiser() -> None:
    assert (
        safe_text(f"a{OSC52}b\nc\x9b\u202e") == "a\\x1b]52;c;cm0gLXJmIH4=\\x07b\\x0ac\\x9b\\u202e"
    )
    assert safe_text("tab\there") == "tab    here"
    assert safe_lines(f"one\r\ntwo{CLEAR}\n") == "one\ntwo\\x1b[2J\n"
    doc = json_inert(json.dumps({"s": "x\x85y\x1b"}, ensure_ascii=False))
    assert json.loads(doc) == {"s": "x\x85y\x1b"} and _inert(doc)
    # the old name stays importable for the other areas
    from iwtui.icewarp.logs.lines import safe_text as old

    assert old is safe_text


def test_run_plan_does_not_echo_escapes_of_a_crafted_queue_file_name(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    retry = sim_root / "mail" / "_outgoing" / "retry"
    name = f"EVIL{OSC52}{CLEAR}\nX"
    (retry / f"{name}.tmp").write_bytes(b"From: <a@b.c>\r\nSubject: s\r\n\r\nx")
    code, out, err = _run(capsys, "queue", "delete", name, "--dry-run", "--root", str(sim_root))
    assert code == 0, err
    assert _inert(out) and _inert(err)
    assert "EVIL\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J\\x0aX" in out


def test_journal_prints_the_cli_field_inert_and_equivalent_commands_are_quoted(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    retry = sim_root / "mail" / "_outgoing" / "retry"
    odd = "A B;rm -rf x"
    (retry / f"{odd}.tmp").write_bytes(b"From: <a@b.c>\r\nSubject: s\r\n\r\nx")
    code, out, err = _run(capsys, "queue", "delete", odd, "--yes", "--root", str(sim_root))
    assert code == 0, err
    code, out, _ = _run(capsys, "journal", "--json")
    cli = json.loads(out)[-1]["cli"]
    words = shlex.split(cli)
    assert odd in words and words[:3] == ["iwtui", "queue", "delete"]
    # a planted journal line with escapes in its fields prints inert
    state = next(p for p in (sim_root.parent / "state").rglob("journal.jsonl"))
    records = [json.loads(line) for line in state.read_text().splitlines()]
    planted = [dict(r, id="planted") for r in records if r.get("id") == records[-1]["id"]]
    for r in planted:
        if "cli" in r:
            r.update(cli=f"iwtui {OSC52}{CLEAR}", summary=f"S{OSC52}")
    with state.open("a") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in planted)
    code, out, _ = _run(capsys, "journal")
    assert code == 0 and _inert(out) and "iwtui \\x1b]52" in out


def test_queue_list_and_logs_show_are_inert_in_a_pipe(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = sim_root / "mail" / "_outgoing"
    (out_dir / "HOSTILE001.tmp").write_bytes(
        f"From: <a@b.c>\r\nSubject: x{OSC52}{CLEAR}\u009b1m\r\n\r\nbody".encode()
    )
    smtp = next((sim_root / "logs" / "smtp").glob("s*.log"))
    with smtp.open("a") as fh:
        fh.write(f"6.6.6.6 [EEEE] 23:59:59 <<< HOSTILE {OSC52}{CLEAR}\n")
    code, out, _ = _run(capsys, "queue", "list", "--root", str(sim_root))  # capsys: no tty
    assert code == 0 and _inert(out) and "x\\x1b]52" in out
    code, out, _ = _run(capsys, "logs", "show", "--root", str(sim_root), "--service", "smtp",
                        "--filter", "HOSTILE")  # fmt: skip
    assert code == 0 and _inert(out) and "HOSTILE \\x1b]52" in out
    # JSON stays JSON: the subject comes back exactly, and the bytes on screen are inert
    code, out, _ = _run(capsys, "queue", "list", "--root", str(sim_root), "--json")
    assert _inert(out)
    subj = next(r["subject"] for r in json.loads(out) if r["id"] == "HOSTILE001")
    assert subj == f"x{OSC52}{CLEAR}\u009b1m"
    code, out, _ = _run(capsys, "queue", "show", "HOSTILE001", "--root", str(sim_root))
    assert code == 0 and _inert(out) and "\nbody" in out


def test_doctor_status_and_config_print_path_dat_bytes_inert(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [""] * 13
    lines[5] = f"spam{OSC52}"  # the spam folder, relocated to a hostile name
    lines[7] = f"mail/_out{CLEAR}going"
    (sim_root / "path.dat").write_text("\r\n".join(lines) + "\r\n")
    for argv in (["doctor"], ["status"], ["config"]):
        _code, out, err = _run(capsys, *argv, "--root", str(sim_root))
        assert _inert(out) and _inert(err), argv
        assert "\\x1b" in out + err, argv


def test_errors_quoting_data_are_inert(sim_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, "logs", "show", "--root", str(sim_root),
                          "--service", f"x{OSC52}")  # fmt: skip
    assert code == 2 and _inert(err) and "\\x1b]52" in err
