"""Issue 9, sections 2 (read side) and 3: root never follows a link it did not expect,
nothing hangs, nothing explodes. Commands that could hang run in a subprocess with a
timeout (on the old code they hung until killed)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from iwtui import config as config_mod
from iwtui.cli import main
from iwtui.errors import ConfigError, InstallNotFound
from iwtui.icewarp import doctor, files
from iwtui.icewarp.install import discover
from iwtui.icewarp.logs import catalog, search
from iwtui.icewarp.queue import deferrals, messages, scanning

TIMEOUT = 30.0


@contextlib.contextmanager
def rescued(fifo: Path, after: float = 5.0) -> Iterator[None]:
    """Opens ``fifo`` for writing after ``after`` seconds (then closes it), so a reader
    blocked on it (the old code) is released and the test fails instead of hanging."""
    done = threading.Event()

    def rescue() -> None:
        if not done.wait(after):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY))

    t = threading.Thread(target=rescue, daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()


def _iwtui(*argv: str, cfg: Path, timeout: float = TIMEOUT) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``python -m iwtui ARGV``; a command still running
    after ``timeout`` seconds fails the test (it hung)."""
    env = {**os.environ, "IWTUI_CONFIG": str(cfg)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "iwtui", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"iwtui {' '.join(argv)} still running after {timeout:.0f} s: it hung")
    return proc.returncode, out.decode(), err.decode()


# Runs the command as its grandchild and reports its peak RSS. Linux carries a process's
# high-water RSS across fork and exec, so a child forked from pytest (hundreds of MB late
# in the suite) would report pytest's own; a child of this small launcher starts clean.
_LAUNCH = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "iwtui", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _peak_rss_kib(*argv: str, cfg: Path, timeout: float = TIMEOUT) -> tuple[int, str, int]:
    """(exit code, stderr, peak RSS in KiB) of one iwtui run, measured with wait4."""
    env = {**os.environ, "IWTUI_CONFIG": str(cfg)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"iwtui {' '.join(argv)} still running after {timeout:.0f} s")
    code, rss = out.decode().split()[-2:]
    return int(code), err.decode(), int(rss)


def _retry_id(root: Path) -> str:
    return sorted((root / "mail" / "_outgoing" / "retry").iterdir())[0].name.split(".")[0]


def _today_smtp(root: Path, suffix: str = "") -> Path:
    return root / "logs" / "smtp" / f"s{date.today():%Y%m%d}{suffix}.log"


# --- section 3: FIFOs, /dev/zero, giant files ---------------------------------------------


def test_a_fifo_named_like_todays_smtp_log_hangs_nothing(
    sim_root: Path, isolated_config: Path
) -> None:
    os.mkfifo(_today_smtp(sim_root))
    os.mkfifo(sim_root / "logs" / "smtp" / "s20260115-07.log")  # a rotation part of the day
    rid = _retry_id(sim_root)
    root = ["--root", str(sim_root)]
    for argv in (
        ["queue", "list", *root],
        ["queue", "show", rid, *root],
        ["queue", "bounce", rid, "--dry-run", *root],
        ["queue", "reasons", *root],
        ["logs", "show", "--service", "smtp", "--count", *root],
        ["logs", "list", *root],
        ["sessions", "list", *root],
        ["doctor", *root],
    ):
        code, _out, err = _iwtui(*argv, cfg=isolated_config)
        assert code in (0, 1), (argv, err)
        assert "Traceback" not in err, (argv, err)
    # the FIFO is not a log: not listed, and doctor says why
    cat = catalog.scan(sim_root / "logs")
    assert all(
        f.path.name != _today_smtp(sim_root).name for d in cat.days.values() for f in d.files
    )
    assert any("FIFO" in why for _p, why in cat.refused)
    rep = doctor.run(discover(sim_root, use_tool_sh=False))["logs"]
    assert "not read" in rep.detail and "FIFO" in rep.detail


def test_fifos_and_links_given_to_the_log_engine_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "s20260115.log"
    os.mkfifo(fifo)
    link = tmp_path / "s20260116.log"
    link.symlink_to("/dev/zero")
    from iwtui.icewarp.logs.index import LineIndex

    for p in (fifo, link):
        with rescued(fifo), pytest.raises(OSError, match="not read"):
            search.Search(p, search.parse_filter("x"))
        with rescued(fifo), pytest.raises(OSError, match="not read"):
            LineIndex(p)


def test_a_symlink_to_dev_zero_does_not_grow_memory(sim_root: Path, isolated_config: Path) -> None:
    (sim_root / "mail" / "_outgoing" / "retry" / "ZERO000001.tmp").symlink_to("/dev/zero")
    _today_smtp(sim_root).symlink_to("/dev/zero")
    (sim_root / "mail" / "_sms" / "ZERO000002.sms").symlink_to("/dev/zero")
    code, err, rss = _peak_rss_kib("queue", "list", "--root", str(sim_root), cfg=isolated_config)
    assert code == 0, err
    assert rss < 300 * 1024, f"queue list peaked at {rss // 1024} MiB"
    items = scanning.scan(discover(sim_root, use_tool_sh=False))
    assert not any("ZERO" in p for p in items)
    assert deferrals.scan(sim_root / "logs") is not None  # returns (the link is not read)


def test_a_file_swapped_for_a_link_or_fifo_after_listing_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("Subject: root's secret\n\nbody")
    item = tmp_path / "A.tmp"
    item.symlink_to(tmp_path / "secret")
    fifo = tmp_path / "B.tmp"
    os.mkfifo(fifo)
    from iwtui.icewarp.queue.heads import read_blocks

    with rescued(fifo):
        got = read_blocks([str(item), str(fifo)])
    assert all(isinstance(r, str) and r.startswith("refused") for r in got), got
    with rescued(fifo), pytest.raises(files.Unsafe):
        messages.read_sms(fifo)


def test_a_fifo_path_dat_does_not_hang_status(sim_root: Path, isolated_config: Path) -> None:
    (sim_root / "path.dat").unlink()
    os.mkfifo(sim_root / "path.dat")
    code, _out, err = _iwtui("status", "--root", str(sim_root), cfg=isolated_config)
    assert code == 2 and "path.dat" in err and "FIFO" in err and err.count("\n") == 1


def test_a_giant_path_dat_is_refused_without_reading_it(
    sim_root: Path, isolated_config: Path
) -> None:
    path_dat = sim_root / "path.dat"
    with open(path_dat, "wb") as fh:  # just over the limit: the old code read it
        fh.write(b"x" * (files.SMALL_LIMIT + 1))
    with pytest.raises(InstallNotFound, match=r"path\.dat.*over the"):
        discover(sim_root, use_tool_sh=False)
    with open(path_dat, "wb") as fh:  # 1 GB on one line (sparse): never read
        fh.truncate(1 << 30)
    code, err, rss = _peak_rss_kib("status", "--root", str(sim_root), cfg=isolated_config)
    assert code == 2 and "over the" in err, err
    assert rss < 300 * 1024, f"status peaked at {rss // 1024} MiB"


def test_config_files_over_the_limit_or_fifos_are_refused(
    tmp_path: Path, isolated_config: Path
) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * files.SMALL_LIMIT + "\nread_only: true\n")
    with pytest.raises(ConfigError, match="over the"):
        config_mod.load({"IWTUI_CONFIG": str(big)})
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    code, _out, err = _iwtui("config", cfg=fifo, timeout=20)
    assert code == 2 and "FIFO" in err
    # a config file that is a symlink (dotfiles) is still read: it is the admin's own
    real = tmp_path / "real.yaml"
    real.write_text("read_only: true\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    assert config_mod.load({"IWTUI_CONFIG": str(link)}).config.read_only is True


def test_a_catastrophic_regex_returns_at_once_in_the_cli(
    sim_root: Path, isolated_config: Path
) -> None:
    smtp = next((sim_root / "logs" / "smtp").glob("s*.log"))
    with smtp.open("ab") as fh:
        fh.write(b"1.2.3.4 [0A0A] 14:00:00 " + b"a" * 34 + b"!\n")
    t0 = time.monotonic()
    code, out, err = _iwtui(
        "logs", "show", "--root", str(sim_root), "--service", "smtp",
        "--filter", "re:(a+)+$", cfg=isolated_config, timeout=20,
    )  # fmt: skip
    assert code == 0, err
    assert time.monotonic() - t0 < 10
    assert "a" * 34 + "!" not in out  # (a+)+$ does not match before the "!"
    t0 = time.perf_counter()
    flt = search.parse_filter("re:(a+)+$")
    assert not flt.matches(b"a" * 34 + b"!") and flt.matches(b"x aaaa")
    assert time.perf_counter() - t0 < 0.5


def test_unsupported_regex_syntax_is_a_clear_error(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["logs", "show", "--root", str(sim_root), "--service", "smtp",
                 "--filter", r"re:(a)\1"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "bad regular expression" in err and "back-references" in err
    assert err.count("\n") == 1  # one line, and RE2 wrote nothing of its own
    # what RE2 supports still works, case folding too
    assert search.parse_filter("re:USER [a-z]+", ignore_case=True).matches(b"x user abc")


# --- section 2, read side: links not followed, LocalServerID a plain name ------------------


def _outside_message(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "SECRET0001.tmp").write_text(
        "From: <root@example.com>\r\nSubject: root's secret\r\n\r\nsecret body\r\n"
    )
    return outside


def test_a_priority_4_symlink_lists_nothing_outside(
    sim_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = _outside_message(tmp_path)
    p4 = sim_root / "mail" / "_outgoing" / "priority_4"
    if p4.exists():
        for f in p4.iterdir():
            f.unlink()
        p4.rmdir()
    p4.symlink_to(outside)
    inst = discover(sim_root, use_tool_sh=False)
    items = scanning.scan(inst)
    assert not any(str(outside) in p or "SECRET" in p for p in items)
    assert messages.find(inst, "SECRET0001") is None
    assert main(["queue", "list", "--root", str(sim_root), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert not any("SECRET" in r["id"] or "secret" in r["subject"] for r in listed)
    assert main(["queue", "show", "SECRET0001", "--root", str(sim_root)]) == 2
    rep = doctor.run(inst)["queues"]
    assert "symbolic link" in rep.detail and "priority_4" in rep.detail


def test_a_symlinked_retry_folder_or_mailbox_is_not_followed(
    sim_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = _outside_message(tmp_path)
    retry = sim_root / "mail" / "_outgoing" / "retry"
    retry.rename(tmp_path / "old-retry")
    retry.symlink_to(outside)
    inst = discover(sim_root, use_tool_sh=False)
    assert not any("SECRET" in p for p in scanning.scan(inst, ("retry",)))
    # a mailbox whose user folder is a link: refused with the reason, nothing listed
    domain = next(d for d in (sim_root / "mail").iterdir() if not d.name.startswith("_"))
    (outside / "inbox").mkdir()
    (outside / "inbox" / "1.imap").write_text("Subject: other's mail\r\n\r\n")
    (domain / "evil").symlink_to(outside)
    code = main(["mailbox", "list", "--account", f"evil@{domain.name}", "--root", str(sim_root)])
    err = capsys.readouterr().err
    assert code == 1 and "symbolic link" in err
    rep = doctor.run(inst)
    assert "symbolic link" in rep["queues"].detail
    assert f"{domain.name}/evil" in rep["mailboxes"].detail


def test_a_local_server_id_that_is_not_a_plain_name_is_refused(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [""] * 13
    lines[3] = "../../../../tmp/x-"
    (sim_root / "path.dat").write_text("\r\n".join(lines) + "\r\n")
    inst = discover(sim_root, use_tool_sh=False)
    assert inst.server_id == ""
    assert any("LocalServerID" in p and "not a plain name" in p for p in inst.problems)
    assert main(["doctor", "--root", str(sim_root)]) == 0
    out = capsys.readouterr().out
    assert "refused: path.dat line 4 (LocalServerID) '../../../../tmp/x-'" in out
    lines[3] = "ms1"  # a plain id is kept
    (sim_root / "path.dat").write_text("\r\n".join(lines) + "\r\n")
    assert discover(sim_root, use_tool_sh=False).server_id == "ms1"
