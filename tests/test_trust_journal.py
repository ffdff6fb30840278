"""Issue 9, section 1: the journal is written ahead, and undo works from any interruption
(a stop request, a kill -9 between a move and its journal line, a full disk, a torn line)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from iwtui.errors import Refused
from iwtui.icewarp import moves
from iwtui.icewarp.actions import ActionGate, Plan, StepResult, TrashMover
from iwtui.icewarp.files import Unsafe
from iwtui.icewarp.install import Install
from iwtui.icewarp.queue import actions as queue_actions
from iwtui.icewarp.queue import scanning


def _queue(tmp_path: Path, n: int) -> tuple[dict[str, Path], dict[str, bytes]]:
    q = tmp_path / "root" / "queue"
    q.mkdir(parents=True)
    paths = {}
    for i in range(n):
        p = q / f"M{i:05d}.tmp"
        p.write_bytes(f"message {i}".encode())
        paths[p.stem] = p
    return paths, {k: p.read_bytes() for k, p in paths.items()}


def _gate(tmp_path: Path) -> ActionGate:
    return ActionGate(tmp_path / "state", read_only=False, roots=[tmp_path / "root"])


def _plan(gate: ActionGate, paths: dict[str, Path], **kw: object) -> Plan:
    mover = TrashMover(gate, "queue", paths, base=next(iter(paths.values())).parent.parent)
    return Plan("queue delete", tuple(paths), f"Delete {len(paths)}", "iwtui queue delete",
                mover.step, undoable=True, intent=mover.intent(), **kw)  # type: ignore[arg-type]  # fmt: skip


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()  # reaped: that pid is no process now
    return proc.pid


def _lines(gate: ActionGate) -> list[dict[str, object]]:
    return [json.loads(x) for x in gate.journal_path.read_text().splitlines() if x.strip()]


def test_the_plan_is_journaled_before_the_first_step(tmp_path: Path) -> None:
    paths, _ = _queue(tmp_path, 3)
    gate = _gate(tmp_path)
    seen: list[dict[str, object]] = []
    plan = _plan(gate, paths)

    def step(target: str) -> StepResult:
        if not seen:
            seen.extend(_lines(gate))  # what a kill -9 at the first step would leave
        return plan.step(target)

    gate.execute(Plan(plan.action, plan.targets, plan.summary, plan.cli, step, True, plan.intent))
    assert [line["kind"] for line in seen] == ["plan"]
    head = seen[0]
    assert head["targets"] == list(paths)
    intent = head["intent"]
    assert isinstance(intent, dict)
    assert intent["M00001"][0]["to"] == str(paths["M00001"])  # the exact original path
    assert "/trash/" in intent["M00001"][0]["from"]  # and where it was going
    assert [line["kind"] for line in _lines(gate)][-1] == "end"


def test_a_stop_request_ends_after_the_current_step_and_undo_restores_exactly_that(
    tmp_path: Path,
) -> None:
    paths, before = _queue(tmp_path, 50)
    gate = _gate(tmp_path)
    stop = threading.Event()
    plan = _plan(gate, paths)

    def step(target: str) -> StepResult:
        if target == "M00020":
            stop.set()  # SIGINT arrives during step 21
        return plan.step(target)

    out = gate.execute(
        Plan(plan.action, plan.targets, plan.summary, plan.cli, step, True, plan.intent),
        stop=stop,
    )
    assert out.interrupted and out.done == 21 and out.total == 50
    assert out.interrupted_message() == (
        f"interrupted: 21 of 50 done; undo with: iwtui undo {out.journal_id}"
    )
    entry = gate.entries()[-1]
    assert entry["state"] == "interrupted" and len(entry["done"]) == 21
    assert sum(p.exists() for p in paths.values()) == 29
    undo = gate.undo(out.journal_id)
    assert undo.done == 21 and undo.failed == 0
    assert {k: p.read_bytes() for k, p in paths.items()} == before


def test_killed_between_a_move_and_its_journal_line_undo_still_finds_every_file(
    tmp_path: Path,
) -> None:
    """kill -9: the steps line of the last batch never reached the disk; files moved
    (and one left claimed) are found where the written-ahead plan said they would go."""
    paths, before = _queue(tmp_path, 40)
    gate = _gate(tmp_path)
    out = gate.execute(_plan(gate, paths, batch=1000))
    assert out.done == 40
    # what the disk holds after a kill -9 before the first batch was journaled
    plan_line = json.loads(gate.journal_path.read_text().splitlines()[0])
    plan_line["pid"] = _dead_pid()  # the killed process
    gate.journal_path.write_text(json.dumps(plan_line) + "\n")
    # and one file was claimed (renamed in its folder) but not yet moved
    trashed = next(iter((tmp_path / "state" / "trash").rglob("M00007.tmp")))
    os.rename(trashed, moves.claim_path(paths["M00007"]))
    entry = gate.entries()[-1]
    assert entry["state"] == "interrupted" and entry["done"] == []
    assert gate.undoable() and gate.undoable()[-1]["id"] == out.journal_id
    undo = gate.undo()
    assert undo.done == 40 and undo.failed == 0
    assert {k: p.read_bytes() for k, p in paths.items()} == before
    assert sorted(os.listdir(paths["M00000"].parent)) == sorted(p.name for p in paths.values())


def test_a_torn_last_line_is_skipped_reported_and_never_glued(tmp_path: Path) -> None:
    paths, _ = _queue(tmp_path, 2)
    gate = _gate(tmp_path)
    gate.execute(_plan(gate, {"M00000": paths["M00000"]}))
    with open(gate.journal_path, "ab") as fh:
        fh.write(b'{"kind": "steps", "id": "x", "resu')  # killed mid-write
    second = gate.execute(_plan(gate, {"M00001": paths["M00001"]}))
    view = gate.view()
    assert [e["id"] for e in view.entries][-1] == second.journal_id
    assert len(view.damaged) == 1
    assert gate.undo().done == 1 and paths["M00001"].exists()


@pytest.mark.parametrize("how", ["cannot-create", "file-not-dir", "full", "enospc"])
def test_no_room_for_the_journal_refuses_before_touching_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    paths, before = _queue(tmp_path, 3)
    state = tmp_path / "state"
    if how == "cannot-create":
        (tmp_path / "blocker").write_text("a file")
        state = tmp_path / "blocker" / "state"
    elif how == "file-not-dir":
        state.write_text("a file where the state dir should be")
    elif how == "full":
        real = os.statvfs

        class Full:
            def __init__(self, st: os.statvfs_result) -> None:
                self.f_frsize, self.f_bavail = st.f_frsize, 3

        monkeypatch.setattr(os, "statvfs", lambda p: Full(real(p)))
    else:
        real_write = os.write

        def write(fd: int, data: bytes) -> int:
            if os.readlink(f"/proc/self/fd/{fd}").endswith("journal.jsonl"):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", write)
    gate = ActionGate(state, read_only=False, roots=[tmp_path / "root"])
    with pytest.raises(Refused) as info:
        gate.execute(_plan(gate, paths))
    message = str(info.value)
    assert "\n" not in message and "nothing was changed" in message
    assert {"cannot-create": "cannot be created", "file-not-dir": "not a folder",
            "full": "disk full", "enospc": "No space left"}[how] in message  # fmt: skip
    assert {k: p.read_bytes() for k, p in paths.items()} == before


def test_a_full_trash_filesystem_leaves_no_temp_file_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, before = _queue(tmp_path, 30)
    gate = _gate(tmp_path)
    real_rename = os.rename
    real_write = os.write

    def rename(a: str | Path, b: str | Path) -> None:
        if "/trash/" in str(b):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(a, b)

    def write(fd: int, data: bytes) -> int:
        if ".iwtui-tmp" in os.readlink(f"/proc/self/fd/{fd}"):
            real_write(fd, bytes(data)[:3])  # a partial copy, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "write", write)
    out = gate.execute(_plan(gate, paths))
    monkeypatch.undo()
    assert out.failed == 1 and out.done == 0 and "No space left" in out.stopped
    assert "29 not attempted" in out.message()
    leftovers = [p for p in tmp_path.rglob("*") if "iwtui-tmp" in p.name or "claim" in p.name]
    assert leftovers == []
    assert {k: p.read_bytes() for k, p in paths.items()} == before
    assert gate.entries()[-1]["state"] == "complete" and gate.entries()[-1]["stopped"]


def test_the_trash_keeps_each_queue_folder_and_undo_puts_files_back(
    sim_install: Install, tmp_path: Path
) -> None:
    items = list(scanning.scan(sim_install).values())
    by_folder: dict[Path, object] = {}
    for i in items:
        by_folder.setdefault(i.path.parent, i)
    chosen = list(by_folder.values())
    assert len(chosen) >= 4  # outgoing, priority_N, retry, incoming, sms ...
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    before = {i.path: i.path.read_bytes() for i in chosen}  # type: ignore[attr-defined]
    out = gate.execute(queue_actions.delete_plan(gate, chosen, None, sim_install))  # type: ignore[arg-type]
    assert out.done == len(chosen)
    for r in out.results:
        trashed = Path(r.detail)
        original = Path(r.undo[0]["to"])
        rel = original.parent.relative_to(sim_install.root)
        assert trashed.parent == gate.trash_dir("queue") / rel
    gate.undo()
    assert {p: p.read_bytes() for p in before} == before


def test_a_planted_journal_line_pointing_outside_is_refused(
    sim_install: Install, tmp_path: Path
) -> None:
    victim = tmp_path / "outside" / "secret"
    victim.parent.mkdir()
    victim.write_text("not iwtui's")
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    gate.journal_path.parent.mkdir(parents=True)
    planted = {"id": "20260101-000000-evil00", "action": "queue delete", "summary": "x",
               "undo": [{"op": "move", "from": str(victim),
                         "to": str(sim_install.outgoing_dir / "x.tmp")}]}  # fmt: skip
    gate.journal_path.write_text(json.dumps(planted) + "\n")
    out = gate.undo()
    assert out.failed == 1 and "outside the install" in out.results[0].detail
    assert victim.exists() and not (sim_install.outgoing_dir / "x.tmp").exists()
    # a path inside the install through a symlinked folder is refused too
    (sim_install.mail_dir / "evil").symlink_to(tmp_path / "outside")
    with pytest.raises(Unsafe, match="symbolic link"):
        gate.check_record({"from": str(sim_install.mail_dir / "evil" / "secret")},
                          gate.allowed_roots())  # fmt: skip


def _many_retry_items(root: Path, n: int) -> list[str]:
    retry = root / "mail" / "_outgoing" / "retry"
    model = next(p for p in retry.iterdir() if p.is_file()).read_bytes()
    ids = []
    for i in range(n):
        name = f"T{i:010x}"
        (retry / f"{name}.tmp").write_bytes(model)
        ids.append(name)
    return ids


def _start_delete(root: Path, ids: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "iwtui", "queue", "delete", "--root", str(root), *ids, "--yes"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def _wait_for_steps(journal: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and b'"kind":"steps"' in journal.read_bytes():
            return
        time.sleep(0.02)
    raise AssertionError("the delete never journaled a step")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_real_queue_delete_interrupted_or_killed_is_undone_completely(
    sim_root: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    ids = _many_retry_items(sim_root, 3000)
    retry = sim_root / "mail" / "_outgoing" / "retry"
    before = {p.name: p.read_bytes() for p in retry.iterdir()}
    journal = tmp_path / "state" / "journal.jsonl"
    proc = _start_delete(sim_root, ids)
    _wait_for_steps(journal, proc)
    os.kill(proc.pid, sig)
    _out, err = proc.communicate(timeout=60)
    moved = len(before) - len(os.listdir(retry))
    assert 0 < moved < 3000
    gate = ActionGate(tmp_path / "state", read_only=False)
    entry = gate.entries()[-1]
    assert entry["state"] == "interrupted"
    if sig != signal.SIGKILL:
        assert proc.returncode == 130
        done = len(entry["done"])
        assert (
            err.decode()
            .strip()
            .endswith(f"interrupted: {done} of 3000 done; undo with: iwtui undo {entry['id']}")
        )
        assert done == moved  # the current step finished and was journaled
    else:
        assert proc.returncode == -signal.SIGKILL
    listing = subprocess.run(
        [sys.executable, "-m", "iwtui", "journal"], capture_output=True, text=True, check=True
    )
    assert f"interrupted: {len(entry['done'])} of 3000 done" in listing.stdout
    undo = subprocess.run(
        [sys.executable, "-m", "iwtui", "undo", "--root", str(sim_root), entry["id"], "--yes"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert {p.name: p.read_bytes() for p in retry.iterdir()} == before


def test_tarpit_remove_all_killed_at_any_moment_is_undone(sim_root: Path, tmp_path: Path) -> None:
    """kill -9 of `tarpit remove-all` at random moments: whatever the moment, the file is
    whole, or emptied with a journal entry whose undo puts every entry back."""
    import random

    from iwtui.icewarp.spam import tarpit

    path = sim_root / "config" / "tarpit.dat"
    later = datetime.now() + timedelta(hours=2)
    path.write_text("".join(tarpit.format_entry(tarpit.TarpitEntry(f"10.7.{i // 250}.{i % 250 + 1}", later, "I")) for i in range(2000)))  # fmt: skip
    original = {e.ip for e in tarpit.read(path).entries}
    # killed right after the rewrite, before its step reached the journal
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from iwtui.icewarp.actions import ActionGate, Plan\n"
        "from iwtui.icewarp.spam import tarpit\n"
        "gate = ActionGate(Path(sys.argv[1]), read_only=False)\n"
        "plan = tarpit.remove_plan(Path(sys.argv[2]), None)\n"
        "def step(t):\n"
        "    r = plan.step(t)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "gate.execute(Plan(plan.action, plan.targets, plan.summary, plan.cli, step,"
        " True, plan.intent))\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path / "state"), str(path)], check=False)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL and tarpit.read(path).entries == ()
    undo = subprocess.run(
        [sys.executable, "-m", "iwtui", "undo", "--root", str(sim_root), "--yes"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert {e.ip for e in tarpit.read(path).entries} == original
    rng = random.Random(9)
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "iwtui", "tarpit", "remove-all", "--root", str(sim_root), "--yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.2, 1.2))
        proc.kill()
        proc.wait()
        if {e.ip for e in tarpit.read(path).entries} != original:
            undo = subprocess.run(
                [sys.executable, "-m", "iwtui", "undo", "--root", str(sim_root), "--yes"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert undo.returncode == 0, undo.stdout + undo.stderr
        assert {e.ip for e in tarpit.read(path).entries} == original
        assert not [p for p in path.parent.iterdir() if "iwtui-tmp" in p.name]


async def test_the_console_stops_a_running_action_when_its_worker_is_cancelled(
    sim_root: Path, isolated_config: Path
) -> None:
    from iwtui.tui.gate import run_plan

    from .tui_helpers import make_app, wait_for

    app = make_app(sim_root, isolated_config)
    paths = {p.stem: p for p in sorted((sim_root / "mail/_outgoing").glob("*.tmp"))[:20]}
    before = {k: p.read_bytes() for k, p in paths.items()}
    async with app.run_test(size=(160, 48)) as pilot:
        mover = TrashMover(app.gate, "queue", paths, base=sim_root)
        slow_started = threading.Event()

        def step(target: str) -> StepResult:
            slow_started.set()
            time.sleep(0.1)
            return mover.step(target)

        plan = Plan("queue delete", tuple(paths), "Delete 20", "iwtui queue delete", step,
                    True, mover.intent())  # fmt: skip
        run_plan(app, app.gate, plan)
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, slow_started.is_set)
        app.workers.cancel_group(app, "actions")
        await wait_for(pilot, lambda: bool(app.gate.entries()) and app.gate.entries()[-1]["state"] != "running")  # fmt: skip
        entry = app.gate.entries()[-1]
        assert entry["state"] == "interrupted" and 0 < len(entry["done"]) < 20
        await wait_for(pilot, lambda: any("interrupted:" in str(n.message) for n in app._notifications))  # fmt: skip
    gate = ActionGate(app.gate.state_dir, read_only=False, roots=[sim_root])
    assert gate.undo().done == len(entry["done"])
    assert {k: p.read_bytes() for k, p in paths.items()} == before


def test_undo_lists_the_moves_it_will_make_before_confirming(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from iwtui.cli import main

    ids = _many_retry_items(sim_root, 12)
    assert main(["queue", "delete", "--root", str(sim_root), *ids, "--yes"]) == 0
    capsys.readouterr()
    assert main(["undo", "--root", str(sim_root), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    moves = [line for line in out if line.startswith("  move: ")]
    assert len(moves) == 5 and "  ... and 7 more" in out
    # each move names the file, the folder it goes back to, and where it is now
    assert all(m.split(" back to ")[1].split(" (from ")[0].endswith("/retry/") for m in moves)
    assert all("/trash/" in m.split(" (from ")[1] for m in moves)
    assert any(line.startswith("dry run: would undo") for line in out)


@pytest.mark.parametrize("how", ["file-not-dir", "full"])
def test_tarpit_add_and_spam_delete_refuse_without_a_writable_journal(
    sim_root: Path,
    isolated_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    import asyncio
    import hashlib

    from iwtui.cli import main
    from iwtui.icewarp.spam import lists as spam

    state = isolated_config.parent / "state"
    if how == "file-not-dir":
        state.write_text("not a folder")
    else:
        real = os.statvfs

        class Full:
            def __init__(self, st: os.statvfs_result) -> None:
                self.f_frsize, self.f_bavail = st.f_frsize, 0

        monkeypatch.setattr(os, "statvfs", lambda p: Full(real(p)))
    db, tp = sim_root / "spam" / "antispam.db", sim_root / "config" / "tarpit.dat"

    def digest() -> tuple[str, str]:
        return tuple(hashlib.sha256(p.read_bytes()).hexdigest() for p in (db, tp))  # type: ignore[return-value]

    before = digest()
    rows, _ = asyncio.run(spam.list_senders(db, "quarantine"))
    root = ["--root", str(sim_root)]
    for argv in (["tarpit", "add", "10.0.0.9", *root, "--yes"],
                 ["spam", "delete", "--list", "quarantine", str(rows[0].id), *root, "--yes"]):  # fmt: skip
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "nothing was changed" in err
        assert ("not a folder" if how == "file-not-dir" else "disk full") in err
    assert digest() == before
