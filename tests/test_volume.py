"""Volume: totals equal to a plain independent walk (hard links once, symlinks neither
followed nor counted), files and folders vanishing mid-walk, unreadable folders reported,
cancel keeping partial totals, the cache, the previous counter, the ncdu export."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.errors import BadInput
from iwtui.icewarp.install import Install, discover
from iwtui.icewarp.volume import ncdu, targets, walk
from iwtui.icewarp.volume.measure import measure
from iwtui.icewarp.volume.walk import Progress, Unit, Walker


def plain_walk(top: Path) -> tuple[int, int]:
    """The reference: os.walk without links, lstat, regular files, (dev, ino) once."""
    seen: set[tuple[int, int]] = set()
    nbytes = nfiles = 0
    for folder, _dirs, files in os.walk(top, followlinks=False):
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            if st.st_mode & 0o170000 != 0o100000:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            nbytes += st.st_size
            nfiles += 1
    return nbytes, nfiles


def _tree(top: Path, outside: Path) -> None:
    (top / "a" / "b" / "c").mkdir(parents=True)
    (top / "d").mkdir()
    for i, folder in enumerate(["", "a", "a/b", "a/b/c", "d"]):
        for j in range(3):
            (top / folder / f"f{j}.imap").write_bytes(b"x" * (100 * i + 7 * j + 1))
    os.link(top / "a" / "f0.imap", top / "d" / "hard.imap")  # the same file twice
    os.link(top / "a" / "f1.imap", outside / "hard-outside.imap")  # linked from outside
    (outside / "big.bin").write_bytes(b"y" * 50_000)
    (top / "d" / "to-file").symlink_to(outside / "big.bin")
    (top / "d" / "to-dir").symlink_to(outside)
    (top / "a" / "dangling").symlink_to(top / "nowhere")
    os.mkfifo(top / "a" / "fifo")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    top = tmp_path / "top"
    top.mkdir()
    _tree(top, outside)
    return top


def test_equal_to_plain_walk_hard_links_once_symlinks_not_followed(tree: Path) -> None:
    w = Walker(helpers=False)
    stats = w.run([Unit("top", str(tree))])
    assert (stats.bytes, stats.files) == plain_walk(tree)
    assert stats.files == 15  # 5 folders x 3 files; the hard link once, no link, no fifo
    assert stats.symlinks == 3 and not stats.errors
    # du agrees on the regular files: its total minus the folders' own sizes
    du = int(subprocess.run(["du", "-s", "-b", "--apparent-size", str(tree)],
                            capture_output=True, text=True, check=True).stdout.split()[0])  # fmt: skip
    dirs = [os.lstat(os.path.join(f, d)) for f, ds, _ in os.walk(tree) for d in ds]
    own = sum(st.st_size for st in dirs if st.st_mode & 0o170000 == 0o040000)
    links = sum(os.lstat(tree / p).st_size for p in ("d/to-file", "d/to-dir", "a/dangling"))
    assert du - own - os.lstat(tree).st_size - links == stats.bytes


def test_big_tree_with_the_helper_process_equals_plain_walk(tmp_path: Path) -> None:
    top = tmp_path / "big"
    for d in range(60):
        folder = top / f"d{d:02d}" / "inbox"
        folder.mkdir(parents=True)
        for f in range(40):
            (folder / f"{f}.imap").write_bytes(b"z" * (d * 40 + f))
    os.link(top / "d00" / "inbox" / "5.imap", top / "d59" / "inbox" / "linked.imap")
    w = Walker(helpers=True)
    walk_after, spare = walk.HELPER_AFTER, walk.spare_core
    try:
        walk.spare_core = lambda: True  # whatever the machine's load
        walk.HELPER_AFTER = 0.0  # the helper starts at once, whatever the machine's speed
        stats = w.run([Unit("big", str(top))])
    finally:
        walk.HELPER_AFTER, walk.spare_core = walk_after, spare
    assert w._helper is not None, "the helper process took part"
    assert (stats.bytes, stats.files) == plain_walk(top)
    assert len(w.fresh) == 121  # every folder cached, whichever process walked it


def test_helper_starts_during_the_first_job_not_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five top folders, the first of them big: the parent's first job is most of the walk,
    # so the helper must be asked for while it runs (it used to be only between jobs).
    top = tmp_path / "top"
    for d in range(60):
        (top / "a" / f"u{d:02d}").mkdir(parents=True)
    for name in "bcde":
        (top / name).mkdir()
    real = walk.list_folder

    def slow(fd: int) -> object:
        time.sleep(0.002)  # 2 ms a folder: the first job takes over 0.1 s
        return real(fd)

    asked: list[int] = []

    def start(w: Walker, jobs: object) -> None:
        asked.append(w.stats.folders)
        return None  # no process: the walk goes on here alone

    monkeypatch.setattr(walk, "list_folder", slow)
    monkeypatch.setattr(walk, "HELPER_AFTER", 0.01)
    monkeypatch.setattr(walk, "spare_core", lambda: True)
    from iwtui.icewarp.volume import helper

    monkeypatch.setattr(helper, "start", start)
    stats = Walker(helpers=True).run([Unit("top", str(top))])
    assert stats.folders == 66
    assert len(asked) == 1 and asked[0] < 40, asked  # inside "a" (61 folders)


def test_no_helper_when_no_core_is_spare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = tmp_path / "top"
    for d in range(80):
        (top / f"d{d:02d}" / "inbox").mkdir(parents=True)
    started: list[object] = []
    from iwtui.icewarp.volume import helper

    monkeypatch.setattr(helper, "start", lambda *a: started.append(a))
    monkeypatch.setattr(walk, "HELPER_AFTER", 0.0)
    monkeypatch.setattr(os, "getloadavg", lambda: (4.0, 4.0, 4.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    stats = Walker(helpers=True).run([Unit("top", str(top))])
    assert stats.folders == 161 and not started  # a busy machine: all of it here
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    Walker(helpers=True).run([Unit("top", str(top))])
    assert len(started) == 1  # a core free: the helper is asked for


def _scandir_then(action: dict[str, object]) -> object:
    """A list_folder that runs ``action[path]`` after listing that folder starts."""
    real = os.scandir

    class Listing:
        def __init__(self, fd: int) -> None:
            self.path = os.readlink(f"/proc/self/fd/{fd}")
            self.it = real(fd)

        def __enter__(self) -> Iterator[os.DirEntry[str]]:
            entries = list(self.it)
            hook = action.get(self.path)
            if callable(hook):
                hook()
            return iter(entries)

        def __exit__(self, *exc: object) -> None:
            self.it.close()

    return Listing


def test_files_and_folders_vanishing_mid_walk(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def vanish() -> None:
        (tree / "a" / "f2.imap").unlink()
        shutil.rmtree(tree / "a" / "b")

    monkeypatch.setattr(walk, "list_folder", _scandir_then({str(tree / "a"): vanish}))
    stats = Walker(helpers=False).run([Unit("top", str(tree))])
    assert (stats.bytes, stats.files) == plain_walk(tree)  # the tree as it is now
    assert stats.vanished == 2 and not stats.errors


def test_folder_replaced_by_a_link_mid_walk_is_not_entered(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def swap() -> None:
        shutil.rmtree(tree / "a" / "b")
        (tree / "a" / "b").symlink_to(tmp_path / "outside")

    monkeypatch.setattr(walk, "list_folder", _scandir_then({str(tree / "a"): swap}))
    stats = Walker(helpers=False).run([Unit("top", str(tree))])
    assert (stats.bytes, stats.files) == plain_walk(tree)
    assert stats.bytes < 50_000  # big.bin outside was never counted


def test_unreadable_folder_is_reported(
    sim_install: Install, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, where chmod 000 still reads: the listing itself fails instead.
    bad = os.path.realpath(sim_install.mail_dir / "acme-corp.test" / "petr" / "inbox")
    real = walk.list_folder

    def refusing(fd: int) -> object:
        if os.readlink(f"/proc/self/fd/{fd}") == bad:
            raise PermissionError(13, "Permission denied")
        return real(fd)

    monkeypatch.setattr(walk, "list_folder", refusing)
    r = measure(sim_install, "acme-corp.test", tmp_path / "state", helpers=False)
    assert r.errors == [(bad, "Permission denied")]
    full = plain_walk(sim_install.mail_dir / "acme-corp.test")
    lost = plain_walk(Path(bad))
    assert (r.bytes, r.files) == (full[0] - lost[0], full[1] - lost[1])
    out = r.to_json()
    assert out["errors"] == [{"path": bad, "error": "Permission denied"}]


def test_server_equals_plain_walk_of_the_root_with_rows(
    sim_install: Install, tmp_path: Path
) -> None:
    r = measure(sim_install, "server", tmp_path / "state")
    assert (r.bytes, r.files) == plain_walk(sim_install.root)
    names = {c.name for c in r.children}
    assert {"logs", "spam", "config", "mail/_outgoing", "mail/acme-corp.test"} <= names
    assert "mail" not in names
    assert sum(c.bytes for c in r.children) == r.bytes
    assert sum(c.files for c in r.children) == r.files
    dom = next(c for c in r.children if c.name == "mail/acme-corp.test")
    assert (dom.bytes, dom.files) == plain_walk(sim_install.mail_dir / "acme-corp.test")


def test_cancel_keeps_partial_totals_within_100_ms(tmp_path: Path) -> None:
    top = tmp_path / "many"
    for d in range(200):
        folder = top / f"u{d:03d}"
        folder.mkdir(parents=True)
        for f in range(100):
            (folder / f"{f}").write_bytes(b"q" * 10)
    cancel = threading.Event()
    seen: list[Progress] = []
    set_at: list[float] = []

    def progress(p: Progress) -> None:
        seen.append(p)
        if p.files > 2000 and not cancel.is_set():
            cancel.set()
            set_at.append(time.monotonic())

    walk_every = walk.PROGRESS_EVERY
    try:
        walk.PROGRESS_EVERY = 0.0  # report at every folder: cancel lands mid-walk
        stats = Walker(helpers=False, progress=progress, cancel=cancel).run(
            [Unit("many", str(top))]
        )
    finally:
        walk.PROGRESS_EVERY = walk_every
    assert stats.cancelled
    assert time.monotonic() - set_at[0] < 0.1
    assert 2000 < stats.files < 20_000
    assert stats.bytes == stats.files * 10  # partial totals, consistent


def test_cancel_through_measure_not_stored_as_previous(
    sim_install: Install, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    cancel = threading.Event()
    cancel.set()
    r = measure(sim_install, "server", state, cancel=cancel)
    assert not r.complete and r.files < plain_walk(sim_install.root)[1]
    again = measure(sim_install, "server", state)
    assert again.complete and again.previous is None


def test_previous_counter_and_difference(sim_install: Install, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = measure(sim_install, "john.doe@acme-corp.test", state)
    assert first.previous is None and first.to_json()["previous"] is None
    box = sim_install.mail_dir / "acme-corp.test" / "john.doe" / "inbox"
    (box / "new.imap").write_bytes(b"n" * 1234)
    second = measure(sim_install, "John.Doe@Acme-Corp.test", state)
    assert second.target == "john.doe@acme-corp.test"
    assert second.previous is not None
    assert (second.previous.bytes, second.previous.files) == (first.bytes, first.files)
    assert second.previous.at == first.at
    assert second.difference == (1234, 1)
    assert second.to_json()["previous"] == {"bytes": first.bytes, "files": first.files,
                                            "at": first.at}  # fmt: skip


def _age(top: Path, days: float) -> None:
    when = time.time() - days * 86400
    for folder, _dirs, files in os.walk(top):
        for name in files:
            os.utime(os.path.join(folder, name), (when, when), follow_symlinks=False)


def test_rescan_reuses_unchanged_folders_and_sees_changes(tree: Path, tmp_path: Path) -> None:
    _age(tree, 3)
    w1 = Walker(helpers=False)
    s1 = w1.run([Unit("top", str(tree))])
    w2 = Walker(dict(w1.fresh), helpers=False)
    s2 = w2.run([Unit("top", str(tree))])
    assert (s2.bytes, s2.files) == (s1.bytes, s1.files)
    assert s2.reused == s1.folders == 5
    (tree / "a" / "b" / "new").write_bytes(b"1" * 10)  # a new entry moves the folder's mtime
    shutil.rmtree(tree / "d")
    s3 = Walker(dict(w2.fresh), helpers=False).run([Unit("top", str(tree))])
    assert (s3.bytes, s3.files) == plain_walk(tree)
    assert s3.reused == 2  # "a/b/c" and "a" (whose entries did not change)


def test_hot_folder_is_read_again_for_appends(tree: Path) -> None:
    """Appending to a file does not move its folder's mtime: a folder holding a file written
    within the last day is listed again (today's log)."""
    w1 = Walker(helpers=False)
    w1.run([Unit("top", str(tree))])
    with open(tree / "d" / "f0.imap", "ab") as fh:
        fh.write(b"appended")
    s2 = Walker(dict(w1.fresh), helpers=False).run([Unit("top", str(tree))])
    assert (s2.bytes, s2.files) == plain_walk(tree)
    assert s2.reused == 0


def test_cache_persisted_in_state_dir(sim_install: Install, tmp_path: Path) -> None:
    state = tmp_path / "state"
    _age(sim_install.root, 2)
    first = measure(sim_install, "server", state)
    again = measure(sim_install, "server", state)
    assert again.reused == first.folders and (again.bytes, again.files) == (first.bytes,
                                                                            first.files)  # fmt: skip
    assert list((state / "volume").glob("cache-*.bin"))
    from iwtui.icewarp.volume.folders import FolderCache

    held = FolderCache()  # the screen's: read from the state dir once, then kept packed
    measure(sim_install, "acme-corp.test", state, cache=held)
    (sim_install.mail_dir / "acme-corp.test" / "new-folder").mkdir()
    changed = measure(sim_install, "acme-corp.test", state, cache=held)
    assert held.packed is not None and not held.folders  # the fast path's form
    again = measure(sim_install, "acme-corp.test", state, cache=held)
    assert again.reused == again.folders == changed.folders
    assert (again.bytes, again.files) == plain_walk(sim_install.mail_dir / "acme-corp.test")


def _ncdu_totals(node: object, seen: set[tuple[int, int]]) -> tuple[int, int]:
    if isinstance(node, list):
        b = f = 0
        for child in node[1:]:
            cb, cf = _ncdu_totals(child, seen)
            b, f = b + cb, f + cf
        return b, f
    assert isinstance(node, dict)
    if node.get("notreg") or "asize" not in node:
        return 0, 0
    if node.get("hlnkc"):
        key = (node.get("dev", 0), node["ino"])  # ncdu omits a dev equal to its parent's
        if key in seen:
            return 0, 0
        seen.add(key)
    return int(node["asize"]), 1


def test_ncdu_export_parses_back_to_the_same_totals(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    totals = ncdu.export(str(tree), out)
    data = json.loads(out.read_bytes())
    assert data[:2] == [1, 2] and data[2]["progname"] == "iwtui"
    assert isinstance(data[2]["timestamp"], int)
    root = data[3]
    assert root[0]["name"] == str(tree)
    assert _ncdu_totals(root, set()) == totals == plain_walk(tree)
    names = {n["name"] if isinstance(n, dict) else n[0]["name"] for n in root[1:]}
    assert {"a", "d", "f0.imap"} <= names


@pytest.mark.skipif(shutil.which("ncdu") is None, reason="ncdu not installed")
def test_ncdu_itself_reads_the_export(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    ncdu.export(str(tree), out)
    again = subprocess.run(["ncdu", "-f", str(out), "-o-"], capture_output=True, check=True)
    assert _ncdu_totals(json.loads(again.stdout)[3], set()) == plain_walk(tree)


def test_target_names_from_the_mail_store_only(sim_install: Install, tmp_path: Path) -> None:
    mail = sim_install.mail_dir
    (mail / "evil.test").symlink_to(tmp_path)  # a domain folder that is a link
    os.symlink(tmp_path, mail / "acme-corp.test" / "link-user")
    for bad in ["../etc", "a/b@acme-corp.test", "..@acme-corp.test", "x@..", "evil.test",
                "link-user@acme-corp.test", "nobody@acme-corp.test", "none.test", "@acme-corp.test"]:  # fmt: skip
        with pytest.raises(BadInput):
            targets.resolve(sim_install, bad)
    t = targets.resolve(sim_install, "ACME-CORP.TEST")
    assert (t.name, t.kind) == ("acme-corp.test", "domain")
    assert "server" in targets.completions(mail, "s")
    assert "john.doe@acme-corp.test" in targets.completions(mail, "john.doe@acme")
    assert "acme-corp.test" in targets.completions(mail, "acme")


def test_cli_volume_json_contract(sim_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["volume", "--root", str(sim_root), "acme-corp.test", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"target", "kind", "bytes", "files", "children", "previous", "at"} <= set(out)
    assert out["kind"] == "domain" and out["previous"] is None
    assert (out["bytes"], out["files"]) == plain_walk(sim_root / "mail" / "acme-corp.test")
    assert all(set(c) >= {"name", "bytes", "files"} for c in out["children"])
    assert main(["volume", "--root", str(sim_root), "acme-corp.test", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["previous"] == {"bytes": out["bytes"], "files": out["files"], "at": out["at"]}
    assert main(["volume", "--root", str(sim_root), "nobody@acme-corp.test"]) == 2
    inst = discover(sim_root, use_tool_sh=False)
    assert main(["volume", "--root", str(sim_root), "--json"]) == 0
    server = json.loads(capsys.readouterr().out)
    assert server["kind"] == "server" and server["target"] == "server"
    assert (server["bytes"], server["files"]) == plain_walk(inst.root)


def test_cli_volume_ncdu_file(sim_root: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "vol.ncdu"
    assert main(["volume", "--root", str(sim_root), "--ncdu", str(out)]) == 0
    assert "ncdu -f" in capsys.readouterr().out
    data = json.loads(out.read_bytes())
    assert _ncdu_totals(data[3], set()) == plain_walk(sim_root)


def _units(top: Path) -> list[Unit]:
    return [Unit("(files)", str(top), recursive=False)] + [
        Unit(p.name, str(p)) for p in sorted(top.iterdir()) if p.is_dir() and not p.is_symlink()
    ]


def test_packed_cache_round_trip_and_damage(tree: Path, tmp_path: Path) -> None:
    from iwtui.icewarp.volume import store

    _age(tree, 3)
    odd = tree / "d" / os.fsdecode(b"caf\xe9")  # a name that is not UTF-8
    odd.mkdir()
    (odd / "f").write_bytes(b"12345")
    _age(tree, 3)
    w = Walker(helpers=False)
    w.run(_units(tree))
    records = dict(w.fresh)
    records[str(tree / "a" / "b")] = records[str(tree / "a" / "b")]._replace(
        subdirs=("c", "not-cached")  # a subfolder without a record: an incomplete folder
    )
    state = tmp_path / "state"
    store.save_cache(state, tree, records)
    back = store.load_cache(state, tree)
    assert back.packed is not None and len(back.packed) == len(records)
    assert back.packed.subs and back.packed.links  # both kinds of record were kept
    assert {p: back.get(p) for p in records} == records
    assert back.as_dict() == records
    path = store.cache_path(state, tree)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not store.load_cache(state, tree)  # damaged: ignored, the next walk rebuilds it
    path.write_bytes(b"{}")
    assert not store.load_cache(state, tree)


def test_rescan_from_the_packed_cache_equals_plain_walk(tree: Path, tmp_path: Path) -> None:
    """Units reused whole from the cache read back from disk (the fast path), hard links
    shared by two units counted once, a unit that changed walked again, cancel."""
    from iwtui.icewarp.volume import store

    _age(tree, 3)
    state = tmp_path / "state"
    first = Walker(helpers=False)
    s1 = first.run(_units(tree))
    store.save_cache(state, tree, first.fresh)
    units = _units(tree)
    again = Walker(store.load_cache(state, tree), helpers=False)
    s2 = again.run(units)
    assert (s2.bytes, s2.files) == (s1.bytes, s1.files) == plain_walk(tree)
    assert s2.reused == s2.folders == s1.folders and again.kept and not again.fresh
    by_name = {u.name: (u.bytes, u.files, u.oldest) for u in units}
    assert by_name == {u.name: (u.bytes, u.files, u.oldest) for u in first.units}
    assert again.seen_folders() == first.fresh
    (tree / "a" / "b" / "c" / "new.imap").write_bytes(b"n" * 33)
    units = _units(tree)
    third = Walker(store.load_cache(state, tree), helpers=False)
    s3 = third.run(units)
    assert (s3.bytes, s3.files) == plain_walk(tree)
    assert s3.reused == s3.folders - 1  # only "a/b/c" listed again
    assert [u.name for u in units if u.bytes != by_name[u.name][0]] == ["a"]
    cancel = threading.Event()
    cancel.set()
    s4 = Walker(store.load_cache(state, tree), helpers=False, cancel=cancel).run(_units(tree))
    assert s4.cancelled and s4.files == 0


def test_helper_speaking_garbage_is_stopped_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A helper that answers with something that is not a frame (another version of it,
    # say) must not leave the walk waiting for it: stopped, the totals reported short.
    top = tmp_path / "top"
    for d in range(70):
        (top / f"d{d:02d}" / "inbox").mkdir(parents=True)
    from iwtui.icewarp.volume import helper

    real_popen = subprocess.Popen

    def talking_nonsense(*args: object, **kwargs: object) -> object:
        script = "import sys, time; sys.stdout.write('not a frame at all\\n'); sys.stdout.flush(); time.sleep(60)"
        return real_popen([sys.executable, "-c", script], **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(helper.subprocess, "Popen", talking_nonsense)
    monkeypatch.setattr(walk, "spare_core", lambda: True)
    monkeypatch.setattr(walk, "HELPER_AFTER", 0.0)
    t0 = time.monotonic()
    stats = Walker(helpers=True).run([Unit("top", str(top))])
    assert time.monotonic() - t0 < 30  # not the helper's 60 s
    assert ("(helper process)", "ended early: totals may be short") in stats.errors


@pytest.mark.parametrize("where", ["first half", "second half", "a folder gone"])
def test_rescan_on_two_threads_equals_one_and_sees_each_half(where: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A large unit's folders are checked on two threads (restat.Pair): the same totals,
    all reused; a change in the half either thread checks, or a folder removed, makes
    that unit walked again, right."""
    from iwtui.icewarp.volume import restat, store

    top = tmp_path / "top"
    boxes = [top / "mail" / f"u{k:03d}" / "inbox" for k in range(60)]
    for box in boxes:
        box.mkdir(parents=True)
        (box / "m.imap").write_bytes(b"m" * 10)
    _age(top, 3)
    monkeypatch.setattr(restat, "PAIR_MIN", 16)
    monkeypatch.setattr(restat, "RUN", 40)  # several runs, each split between the threads
    monkeypatch.setattr(walk, "spare_core", lambda: True)
    made: list[int] = []
    real = restat.Pair.__init__
    monkeypatch.setattr(restat.Pair, "__init__", lambda self: (made.append(1), real(self))[1])
    state = tmp_path / "state"
    first = Walker(helpers=False)
    s1 = first.run(_units(top))
    store.save_cache(state, top, first.fresh)
    again = Walker(store.load_cache(state, top), helpers=False)
    s2 = again.run(_units(top))
    assert made and (s2.bytes, s2.files) == (s1.bytes, s1.files) == plain_walk(top)
    assert s2.reused == s2.folders == s1.folders
    # the packed order is the folders' pre-order: a late mailbox lies in the second half of
    # a run, an early one in the first
    box = boxes[5] if where == "first half" else boxes[-3]
    if where == "a folder gone":
        (box / "m.imap").unlink()
        box.rmdir()
    else:
        (box / "new.imap").write_bytes(b"n" * 33)
    third = Walker(store.load_cache(state, top), helpers=False)
    s3 = third.run(_units(top))
    assert (s3.bytes, s3.files) == plain_walk(top)
    assert s3.reused < s3.folders or where == "a folder gone"
