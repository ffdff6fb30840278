"""The one safe-open helper: links, FIFOs, devices, folders, size limits, containment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iwtui.icewarp import files
from iwtui.icewarp.files import FileId, Unsafe


def test_regular_file_reads_and_links_fifos_devices_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.tmp").write_bytes(b"Subject: hi\r\n\r\nbody")
    assert files.read_head(tmp_path / "a.tmp", 7) == b"Subject"
    (tmp_path / "secret").write_text("root's secret")
    (tmp_path / "link.tmp").symlink_to(tmp_path / "secret")
    os.mkfifo(tmp_path / "fifo.log")
    (tmp_path / "zero").symlink_to("/dev/zero")
    for name, why in [("link.tmp", "symbolic link"), ("fifo.log", "FIFO"), ("zero", "symbolic")]:
        with pytest.raises(Unsafe, match=why):
            files.read_head(tmp_path / name, 100)  # never blocks on the FIFO
    with pytest.raises(Unsafe, match="device"):
        files.read_head("/dev/zero", 100)
    with pytest.raises(Unsafe, match="folder"):
        files.read_head(tmp_path, 100)
    with pytest.raises(FileNotFoundError):
        files.read_head(tmp_path / "gone", 100)


def test_read_small_refuses_giant_files(tmp_path: Path) -> None:
    big = tmp_path / "path.dat"
    with open(big, "wb") as fh:
        fh.truncate(files.SMALL_LIMIT + 1)
    with pytest.raises(Unsafe, match="over the"):
        files.read_small(big)
    big.write_bytes(b"x\n")
    assert files.read_small(big) == b"x\n"


def test_changed_since_listed(tmp_path: Path) -> None:
    p = tmp_path / "q.tmp"
    p.write_text("one")
    listed = FileId.of(os.stat(p))
    p.unlink()
    p.write_text("another file, same name")
    (tmp_path / "keep").write_text("x")  # keep the old inode number from being reused
    with pytest.raises(Unsafe, match="changed since listed"):
        files.read_head(p, 10, expect=FileId(listed.dev, listed.ino + 10**9))


def test_inside_refuses_names_that_leave_the_folder(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    (mail / "acme.test" / "petr").mkdir(parents=True)
    assert files.inside(mail, "acme.test", "petr") == mail / "acme.test" / "petr"
    assert files.inside(mail, "acme.test", "new") == mail / "acme.test" / "new"  # to create
    for parts in [("..", "etc"), ("acme.test/../..",), ("",), ("a\0b",), (".",)]:
        with pytest.raises(Unsafe, match="not a plain name"):
            files.inside(mail, *parts)
    (tmp_path / "outside").mkdir()
    (mail / "evil.test").symlink_to(tmp_path / "outside")
    with pytest.raises(Unsafe, match="symbolic link"):
        files.inside(mail, "evil.test", "x")


def test_within_checks_recorded_paths(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "mail" / "_outgoing").mkdir(parents=True)
    assert files.within(root, root / "mail" / "_outgoing" / "x.tmp").name == "x.tmp"
    for bad in [Path("/etc/passwd"), root / ".." / "x", root / "mail" / ".." / ".." / "x"]:
        with pytest.raises(Unsafe, match="outside"):
            files.within(root, bad)
    (root / "mail" / "link").symlink_to(tmp_path)
    with pytest.raises(Unsafe, match="symbolic link"):
        files.within(root, root / "mail" / "link" / "x")
    assert files.is_real_dir(root / "mail") and not files.is_real_dir(root / "mail" / "link")
