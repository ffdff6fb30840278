"""Issue 14, "One rule for bad input (CLI)": every test here failed on the code before.

Exit codes: 0 done (a no-op such as "already whitelisted" included), 1 refused or partly
done, 2 bad input (one line on stderr, nothing changed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from iwtui import config
from iwtui.cli import main
from iwtui.errors import BadInput, ConfigError
from iwtui.icewarp.queue import messages

from .tui_helpers import make_app, wait_for

Cap = pytest.CaptureFixture[str]


def _run(capsys: Cap, *argv: str) -> tuple[int, str, str]:
    """(exit code, out, err) of `iwtui ARGV`; a parser error (argparse) counts as its exit."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _bad(capsys: Cap, *argv: str) -> str:
    """Run ARGV, check the rule for bad input (exit 2, one line, no traceback); its err."""
    code, out, err = _run(capsys, *argv)
    assert code == 2, (argv, code, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err and "unexpected" not in err, err
    return err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _db(sim_root: Path) -> Path:
    return sim_root / "spam" / "antispam.db"


def _rows(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


# --- counts ------------------------------------------------------------------------------


def test_max_is_a_count_in_every_listing(sim_root: Path, capsys: Cap) -> None:
    root = ("--root", str(sim_root))
    # queue list --max -5 showed 195 of 200; spam list --max -5 showed all; a huge one
    # said "datatype mismatch"; journal --max -1 dropped an entry
    for argv in (
        ("queue", "list", "--max", "-5"),
        ("spam", "list", "--max", "-5"),
        ("spam", "list", "--max", "99999999999999999999999"),
        ("greylist", "list", "--max", "-1"),
        ("journal", "--max", "-1"),
        ("queue", "list", "--max", "١٢"),  # not ASCII digits
        ("queue", "list", "--max", "+3"),
        ("tarpit", "list", "--max", "-2"),
    ):
        err = _bad(capsys, *argv, *root)
        assert "--max" in err and "0 to" in err, err
    # the other counts of every command, days bounded so a date stays a date
    for argv in (
        ("accounts", "list", "--max", "-1"),
        ("analyzer", "report", "--limit", "-1"),
        ("analyzer", "import", "--keep-days", "99999999"),
        ("simulate", str(sim_root.parent / "sim"), "--days", "99999999"),
        ("simulate", str(sim_root.parent / "sim"), "--rate", "nan"),
    ):
        err = _bad(capsys, *argv, *root)
        assert "0 to" in err or "a number" in err, err
    assert not (sim_root.parent / "sim").exists()
    # tarpit list --max exists like the others
    code, out, _ = _run(capsys, "tarpit", "list", "--max", "2", "--json", *root)
    assert code == 0 and len(json.loads(out)) == 2
    code, out, _ = _run(capsys, "tarpit", "list", "--max", "3", *root)
    assert code == 0 and "3 of 9 tarpitted" in out
    code, out, _ = _run(capsys, "queue", "list", "--max", "5", "--json", *root)
    assert code == 0 and len(json.loads(out)) == 5


# --- ids -----------------------------------------------------------------------------------


def _quarantine(capsys: Cap, sim_root: Path) -> list[dict[str, object]]:
    code, out, _ = _run(capsys, "spam", "list", "--json", "--root", str(sim_root))
    assert code == 0
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def test_row_ids_are_ascii_digits_within_range(sim_root: Path, capsys: Cap) -> None:
    rows = _quarantine(capsys, sim_root)
    two = next(r for r in rows if len(str(r["id"])) == 2)  # `spam delete ١٢` deleted row 12
    arabic = str(two["id"]).translate(
        str.maketrans("0123456789", "".join(map(chr, range(0x660, 0x66A))))
    )
    before = _digest(_db(sim_root))
    err = _bad(capsys, "spam", "delete", arabic, "--root", str(sim_root), "--yes")
    assert "bad id" in err and "ASCII" in err
    err = _bad(capsys, "spam", "delete", "99999999999999999999", "--root", str(sim_root), "--yes")
    assert "99999999999999999999" in err and "OverflowError" not in err
    err = _bad(
        capsys, "greylist", "delete", "\uff11\uff12", "--root", str(sim_root), "--yes"
    )  # fullwidth
    assert "bad id" in err
    assert _digest(_db(sim_root)) == before


def test_unknown_ids_exit_2_naming_them(sim_root: Path, capsys: Cap) -> None:
    root = ("--root", str(sim_root))
    db, tp = _db(sim_root), sim_root / "config" / "tarpit.dat"
    before = (_digest(db), _digest(tp))
    # each said "already gone" with exit 0
    err = _bad(capsys, "spam", "delete", "99999", *root, "--yes")
    assert "99999" in err and "quarantine" in err
    err = _bad(capsys, "greylist", "authorize", "99999", *root, "--yes")
    assert "99999" in err and "greylist" in err
    err = _bad(capsys, "tarpit", "remove", "198.51.100.77", *root, "--yes")
    assert "198.51.100.77" in err
    # one unknown among known ids: nothing is done at all
    qid = str(_quarantine(capsys, sim_root)[0]["id"])
    err = _bad(capsys, "spam", "delete", qid, "99998", *root, "--yes")
    assert "with id 99998 (" in err  # only the unknown one is named
    assert (_digest(db), _digest(tp)) == before
    err = _bad(capsys, "queue", "delete", "NOSUCHID", "OTHERNOSUCH", *root, "--yes")
    assert "NOSUCHID" in err and "OTHERNOSUCH" in err
    # a known id still works (and read-only still refuses first, exit 1)
    code, _, err = _run(capsys, "greylist", "authorize", "99999", *root, "--read-only", "--yes")
    assert code == 1 and "read-only" in err
    code, out, _ = _run(capsys, "spam", "delete", qid, *root, "--yes")
    assert code == 0 and "1 done" in out


def test_gone_is_only_for_an_id_that_existed_when_the_plan_was_built(
    sim_root: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iwtui.cli import common

    qid = int(str(_quarantine(capsys, sim_root)[0]["id"]))
    real = common.execute

    def vanish_first(*a: object, **k: object) -> int:  # another admin deletes it meanwhile
        _rows_delete(_db(sim_root), qid)
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(common, "execute", vanish_first)
    code, out, _ = _run(capsys, "spam", "delete", str(qid), "--root", str(sim_root), "--yes")
    assert code == 0 and "1 already gone" in out


def _rows_delete(db: Path, rowid: int) -> None:
    con = sqlite3.connect(db)
    with con:
        con.execute("DELETE FROM Senders WHERE rowid = ?", (rowid,))
    con.close()


# --- no-ops -------------------------------------------------------------------------------


def test_adding_an_existing_entry_says_already_and_writes_nothing(
    sim_root: Path, capsys: Cap
) -> None:
    root = ("--root", str(sim_root))
    add = ("spam", "add", "--list", "whitelist", "--sender", "Friend@Example.test", "--owner", "*")
    code, out, _ = _run(capsys, *add, *root, "--yes")
    assert code == 0 and "1 done" in out
    journal = Path(str(sim_root.parent / "state" / "journal.jsonl"))
    lines = journal.read_text().count("\n")
    before = _digest(_db(sim_root))
    code, out, _ = _run(capsys, *add, *root, "--yes")  # said "1 done", changed nothing
    assert code == 0 and "already whitelisted: friend@example.test" in out and "done" not in out
    assert _digest(_db(sim_root)) == before and journal.read_text().count("\n") == lines
    # the queue's Whitelist of a message whose sender is listed already: the same word
    code, out, _ = _run(capsys, "queue", "list", "--json", *root)
    item = next(i for i in json.loads(out) if i["sender"])
    sender = item["sender"].lower()
    add = ("spam", "add", "--list", "whitelist", "--sender", sender, "--owner", "*")
    assert _run(capsys, *add, *root, "--yes")[0] == 0
    before = _digest(_db(sim_root))
    code, out, _ = _run(capsys, "queue", "whitelist", item["id"], *root, "--yes")
    assert code == 0 and f"already whitelisted: {sender}" in out and "nothing changed" in out
    assert _digest(_db(sim_root)) == before


# --- ambiguous queue ids -----------------------------------------------------------------


def test_an_id_in_two_queues_names_both_and_takes_queue_slash_id(
    sim_root: Path, capsys: Cap
) -> None:
    root = ("--root", str(sim_root))
    retry = next((sim_root / "mail" / "_outgoing" / "retry").glob("*"))
    twin = sim_root / "mail" / "_outgoing" / "priority_2" / retry.name
    twin.parent.mkdir(exist_ok=True)
    shutil.copy(retry, twin)
    ident = retry.name.split(".", 1)[0]
    # acted on one of them with no word
    err = _bad(capsys, "queue", "delete", ident, *root, "--yes")
    assert f"priority_2/{ident}" in err and f"retry/{ident}" in err
    assert retry.exists() and twin.exists()
    err = _bad(capsys, "queue", "show", ident, *root)
    assert f"priority_2/{ident}" in err
    code, out, _ = _run(capsys, "queue", "show", f"priority_2/{ident}", "--json", *root)
    assert code == 0 and json.loads(out)["queue"] == "priority"
    code, out, _ = _run(capsys, "queue", "delete", f"retry/{ident}", *root, "--yes")
    assert code == 0 and "1 done" in out
    assert not retry.exists() and twin.exists()
    err = _bad(capsys, "queue", "delete", f"retry/{ident}", *root, "--yes")
    assert f"retry/{ident}" in err
    err = _bad(capsys, "queue", "delete", "../../etc/passwd", *root, "--yes")
    assert "bad id" in err and "retry" in err  # the queues QUEUE/ may name
    err = _bad(capsys, "queue", "delete", ident.replace(ident[0], "\uff21", 1), *root, "--yes")
    assert "bad id" in err  # not ASCII


# --- ranges ----------------------------------------------------------------------------------


def test_log_ranges_dates_and_files_are_checked(
    sim_root: Path, capsys: Cap, tmp_path: Path
) -> None:
    root = ("--root", str(sim_root))
    show = ("logs", "show", "--service", "smtp", *root)
    assert _run(capsys, *show, "--from", "09:00", "--to", "10:00", "--count")[0] == 0
    err = _bad(capsys, *show, "--from", "10:00", "--to", "09:00")  # printed nothing, exit 0
    assert "--from" in err and "--to" in err
    for clock in (
        "99999999999:00",
        "\u0661\u0660:\u0660\u0660",
        "10:61",
        "24:00",
    ):  # OverflowError, or wrong
        assert "bad time" in _bad(capsys, *show, "--from", clock)
    err = _bad(capsys, "logs", "delete", "--service", "smtp", "--date", "", *root, "--yes")
    assert "bad date" in err  # "" meant today
    err = _bad(capsys, "logs", "parse", str(tmp_path / "nonexistent.log"))  # was exit 1
    assert "nonexistent.log" in err
    assert "a folder" in _bad(capsys, "logs", "parse", str(tmp_path))


def test_logs_parse_refuses_a_fifo_at_once(tmp_path: Path) -> None:
    """A FIFO named as a log file: refused (exit 1) at once, not a wait for a writer."""
    fifo = tmp_path / "smtp.log"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "iwtui", "logs", "parse", str(fifo)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 1 and "a FIFO" in proc.stderr, proc.stderr


# --- tarpit ranges -----------------------------------------------------------------------------


def test_tarpit_add_of_a_very_wide_range_needs_force(sim_root: Path, capsys: Cap) -> None:
    root = ("--root", str(sim_root))
    tp = sim_root / "config" / "tarpit.dat"
    before = _digest(tp)
    for wide in ("0.0.0.0/0", "::/0", "10.0.0.0/7", "2001::/15"):
        err = _bad(capsys, "tarpit", "add", wide, *root, "--yes")
        assert "--force" in err, err
    assert _digest(tp) == before
    code, out, _ = _run(capsys, "tarpit", "add", "10.0.0.0/8", *root, "--yes")
    assert code == 0 and "1 done" in out
    code, out, _ = _run(capsys, "tarpit", "add", "0.0.0.0/0", "--force", *root, "--yes")
    assert code == 0 and "1 done" in out
    code, out, _ = _run(capsys, "journal", "--json")
    assert "tarpit add 0.0.0.0/0 --reason U --force" in out  # the equivalent command works


# --- the queue filter ----------------------------------------------------------------------------


def test_queue_filter_negates_and_rejects_unknown_fields(sim_root: Path, capsys: Cap) -> None:
    root = ("--root", str(sim_root))
    code, out, _ = _run(capsys, "queue", "list", "--json", *root)
    items = json.loads(out)
    sender = next(i["sender"] for i in items if i["sender"])
    word = sender.split("@")[0]
    code, out, _ = _run(capsys, "queue", "list", "--json", "--filter", f"from:{word}", *root)
    having = json.loads(out)
    assert code == 0 and having
    code, out, _ = _run(capsys, "queue", "list", "--json", "--filter", f"!from:{word}", *root)
    without = json.loads(out)  # matched nothing
    assert code == 0 and without and len(having) + len(without) == len(items)
    assert not {i["id"] for i in having} & {i["id"] for i in without}
    code, out, _ = _run(capsys, "queue", "list", "--json", "--filter", f"!{word}", *root)
    assert code == 0 and 0 < len(json.loads(out)) < len(items)
    err = _bad(capsys, "queue", "list", "--filter", "bogus:x", *root)  # matched nothing, exit 0
    assert "bogus" in err and "from, to, subject" in err
    with pytest.raises(BadInput, match="unknown field 'Re'"):
        messages.parse_query("Re: hello")
    assert messages.parse_query("subject:Re: hello").terms == (("subject", "re: hello", False),)


async def test_the_console_shows_the_same_filter_error(
    sim_root: Path, isolated_config: Path
) -> None:
    from textual.widgets import Input

    from iwtui.tui.screens.queue.area import QueueArea
    from iwtui.tui.widgets.item_table import ItemTable
    from iwtui.tui.widgets.panel import Panel

    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("1")
        area = app.query_one(QueueArea)
        table = app.query_one(ItemTable)
        await wait_for(pilot, lambda: len(table.rows) > 0)
        total = len(table.rows)
        app.query_one("#queue-filter", Input).value = "bogus:x"
        area.submitted()
        state = app.query_one("#queue-state", Panel)
        await wait_for(pilot, lambda: "unknown field 'bogus'" in str(state.text))
        assert len(table.rows) == 0 and "from, to, subject" in str(state.text)
        app.query_one("#queue-filter", Input).value = "!from:no-such-sender-anywhere"
        area.submitted()
        await wait_for(pilot, lambda: len(table.rows) == total)
        assert "unknown field" not in str(state.text)


# --- config ------------------------------------------------------------------------------------


def _load(tmp_path: Path, text: str) -> config.LoadedConfig:
    f = tmp_path / "c.yaml"
    f.write_text(text)
    return config.load({"IWTUI_CONFIG": str(f)})


@pytest.mark.parametrize(
    "text",
    [
        "tarpit_minutes: .inf\n",  # OverflowError at the first tarpit add
        "tarpit_minutes: .nan\n",  # accepted
        "refresh_seconds: .nan\n",
        "greylist_pending_hours: 1.0e+300\n",
        "greylist_authorized_days: -.inf\n",
    ],
)
def test_config_numbers_are_finite_and_in_range(tmp_path: Path, text: str) -> None:
    key = text.split(":")[0]
    with pytest.raises(ConfigError, match=f"'{key}' must be greater than 0 and at most"):
        _load(tmp_path, text)


def test_config_theme_must_exist(tmp_path: Path, capsys: Cap, isolated_config: Path) -> None:
    with pytest.raises(ConfigError, match=r"no theme 'nosuch-theme'.*textual-dark"):
        _load(tmp_path, "theme: nosuch-theme\n")
    assert _load(tmp_path, "theme: nord\n").config.theme == "nord"
    isolated_config.write_text(isolated_config.read_text() + "theme: nosuch-theme\n")
    assert "no theme 'nosuch-theme'" in _bad(capsys, "config")


def test_the_theme_list_is_textuals_own() -> None:
    from textual.app import App

    assert set(config.THEMES) == set(App[None]().available_themes)
