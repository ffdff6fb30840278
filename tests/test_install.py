from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from iwtui.errors import InstallNotFound
from iwtui.icewarp.install import (
    discover,
    parse_path_dat,
    query_tool_sh,
    read_etc_conf,
    resolve_root,
)


def _path_dat(root: Path, lines: dict[int, str], eol: str = "\r\n") -> None:
    out = [""] * 13
    for n, v in lines.items():
        out[n - 1] = v
    (root / "path.dat").write_bytes(eol.join(out).encode())


def test_missing_path_dat_gives_all_defaults(tmp_path: Path) -> None:
    inst = discover(tmp_path, use_tool_sh=False)
    assert inst.config_dir == tmp_path / "config"
    assert inst.mail_dir == tmp_path / "mail"
    assert inst.log_dir == tmp_path / "logs"
    assert inst.spam_dir == tmp_path / "spam"
    assert inst.outgoing_dir == tmp_path / "mail" / "_outgoing"
    assert inst.retry_dir == tmp_path / "mail" / "_outgoing" / "retry"
    assert inst.incoming_dir == tmp_path / "mail" / "_incoming"
    assert inst.relocated() == []
    assert inst.server_id == ""


@pytest.mark.parametrize("eol", ["\r\n", "\n"])
def test_path_dat_relocates_queues_crlf_and_lf(tmp_path: Path, eol: str) -> None:
    q = tmp_path / "elsewhere"
    _path_dat(
        tmp_path,
        {
            1: str(tmp_path / "cfg"),
            4: "7",
            6: "spamdata",
            8: str(q / "out"),
            9: str(q / "retry"),
            13: str(q / "in"),
        },
        eol,
    )
    inst = discover(tmp_path, use_tool_sh=False)
    assert inst.config_dir == tmp_path / "cfg"
    assert inst.spam_dir == tmp_path / "spamdata"  # relative to the root
    assert inst.outgoing_dir == q / "out"
    assert inst.retry_dir == q / "retry"
    assert inst.incoming_dir == q / "in"
    assert inst.server_id == "7"
    assert inst.origins["outgoing"] == "path.dat line 8"
    assert inst.origins["retry"] == "path.dat line 9"
    assert inst.origins["incoming"] == "path.dat line 13"
    assert inst.origins["groupware"] == "default"
    assert not any("\r" in str(p) for p in (inst.outgoing_dir, inst.retry_dir, inst.incoming_dir))


def test_path_dat_empty_lines_mean_default_and_retry_follows_outgoing(tmp_path: Path) -> None:
    _path_dat(tmp_path, {8: str(tmp_path / "q")})
    inst = discover(tmp_path, use_tool_sh=False)
    assert inst.outgoing_dir == tmp_path / "q"
    assert inst.retry_dir == tmp_path / "q" / "retry"  # default retry is under outgoing
    assert inst.incoming_dir == tmp_path / "mail" / "_incoming"


def test_path_dat_short_file_bom_and_nul(tmp_path: Path) -> None:
    assert parse_path_dat(b"\xef\xbb\xbf/a\r\n\r\n\x00") == ["/a", "", ""]
    (tmp_path / "path.dat").write_bytes(b"\xef\xbb\xbfconf\r\n")
    inst = discover(tmp_path, use_tool_sh=False)
    assert inst.config_dir == tmp_path / "conf"
    assert inst.outgoing_dir == tmp_path / "mail" / "_outgoing"


def test_config_mail_and_log_paths_override(tmp_path: Path) -> None:
    inst = discover(tmp_path, mail_path="/srv/mail", log_path="lg", use_tool_sh=False)
    assert inst.mail_dir == Path("/srv/mail")
    assert inst.outgoing_dir == Path("/srv/mail/_outgoing")
    assert inst.log_dir == tmp_path / "lg"
    assert inst.origins["mail"] == "config mail_path"


def _tool(root: Path, body: str) -> None:
    tool = root / "tool.sh"
    tool.write_text("#!/bin/sh\n" + body)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)


def test_tool_sh_is_asked_for_storage_paths(tmp_path: Path) -> None:
    _tool(
        tmp_path,
        'case "$3" in C_System_Storage_Dir_MailPath) echo "C_System_Storage_Dir_MailPath: /data/mail/";;\n'
        '*) echo "$3: ";; esac\n',
    )
    inst = discover(tmp_path)
    assert inst.mail_dir == Path("/data/mail")
    assert inst.origins["mail"] == "tool.sh C_System_Storage_Dir_MailPath"
    assert inst.log_dir == tmp_path / "logs"  # empty answer: default


def test_tool_sh_timeout_and_failure_are_silent(tmp_path: Path) -> None:
    _tool(tmp_path, "sleep 5\n")
    assert query_tool_sh(tmp_path, "C_System_Storage_Dir_MailPath", timeout=0.2) is None
    _tool(tmp_path, "exit 3\n")
    assert query_tool_sh(tmp_path, "C_System_Storage_Dir_MailPath") is None


def test_etc_conf_shell_syntax(tmp_path: Path) -> None:
    conf = tmp_path / "icewarp.conf"
    conf.write_text('# comment\nIWS_PROCESS_USER="icewarp"\nIWS_INSTALL_DIR="/srv/ice warp"\n')
    assert read_etc_conf(conf) == Path("/srv/ice warp")
    assert read_etc_conf(tmp_path / "missing") is None


def test_root_resolution_order(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    conf = tmp_path / "icewarp.conf"
    conf.write_text(f"IWS_INSTALL_DIR={b}\n")
    assert resolve_root(a, str(c), conf, tmp_path / "none") == (a, "--root")
    assert resolve_root(None, str(c), conf, tmp_path / "none") == (c, "config root")
    assert resolve_root(None, None, conf, tmp_path / "none")[0] == b
    assert resolve_root(None, None, tmp_path / "no.conf", c) == (c, "default /opt/icewarp")


def test_missing_root_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(InstallNotFound, match="does not exist") as exc:
        discover(tmp_path / "nope")
    assert "\n" not in str(exc.value)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InstallNotFound, match="not a directory"):
        discover(tmp_path / "file")
    with pytest.raises(InstallNotFound, match="no IceWarp install found"):
        discover(None, etc_conf=tmp_path / "none.conf", default_root=tmp_path / "none")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_root(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        with pytest.raises(InstallNotFound, match="not readable"):
            discover(locked)
    finally:
        locked.chmod(0o755)
