"""Issue 9, section 5: two writers never duplicate or lose (claims, unique new files,
tarpit.dat rewrites that notice another writer)."""

from __future__ import annotations

import os
import pwd
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from iwtui.errors import Refused
from iwtui.icewarp.actions import ActionGate, Outcome, Plan
from iwtui.icewarp.install import Install
from iwtui.icewarp.queue import actions as queue_actions
from iwtui.icewarp.queue import scanning
from iwtui.icewarp.queue.messages import QueueItem
from iwtui.icewarp.spam import tarpit


def _gate(install: Install, tmp_path: Path) -> ActionGate:
    return ActionGate(tmp_path / "state", read_only=False, roots=[install.root])


def _retry_items(install: Install, n: int) -> list[QueueItem]:
    retry = install.retry_dir
    model = next(p for p in retry.iterdir() if p.is_file()).read_bytes()
    for p in list(retry.iterdir()):
        p.unlink()
    for i in range(n):
        (retry / f"R{i:09d}.tmp").write_bytes(model)
    items = sorted(scanning.scan(install, ("retry",)).values(), key=lambda i: i.id)
    assert len(items) == n and all(i.sender for i in items)
    return items


def test_delete_send_now_and_bounce_together_act_on_each_item_exactly_once(
    sim_install: Install, tmp_path: Path
) -> None:
    items = _retry_items(sim_install, 300)
    names = {i.path.name for i in items}
    out_dir = sim_install.outgoing_dir
    top_before = {p.name for p in out_dir.iterdir() if p.is_file()}
    gate = _gate(sim_install, tmp_path)
    plans = {
        "delete": queue_actions.delete_plan(gate, items, None, sim_install),
        "send-now": queue_actions.send_now_plan(sim_install, items),
        "bounce": queue_actions.bounce_plan(gate, sim_install, items, "mx.example.test"),
    }
    start = threading.Barrier(len(plans))
    outcomes: dict[str, Outcome] = {}

    def run(name: str, plan: Plan) -> None:
        start.wait()
        outcomes[name] = gate.execute(plan)

    threads = [threading.Thread(target=run, args=kv) for kv in plans.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert set(outcomes) == set(plans)
    for name, out in outcomes.items():
        assert out.failed == 0, (name, out.message())
        assert out.done + out.gone + out.taken == 300, (name, out.message())
    assert sum(o.done for o in outcomes.values()) == 300  # each item acted on exactly once
    assert sum(o.taken for o in outcomes.values()) > 0  # they did race for the same files
    top_now = {p.name for p in out_dir.iterdir() if p.is_file()} - top_before
    sent = top_now & names
    dsns = top_now - names
    assert len(sent) == outcomes["send-now"].done
    assert len(dsns) == outcomes["bounce"].done  # no orphan DSN
    trashed = [p.name for p in (tmp_path / "state" / "trash").rglob("R*.tmp")]
    assert len(trashed) == outcomes["delete"].done + outcomes["bounce"].done
    assert sorted(trashed + list(sent)) == sorted(names)  # nothing lost, nothing twice
    assert not list(sim_install.retry_dir.iterdir())  # no claim left behind


def test_two_bounces_of_ids_ending_alike_write_two_dsns(
    sim_install: Install, tmp_path: Path
) -> None:
    retry = sim_install.retry_dir
    model = next(p for p in retry.iterdir() if p.is_file()).read_bytes()
    for name in ("AAAAAA1234", "BBBBBB1234"):
        (retry / f"{name}.tmp").write_bytes(model)
    items = [i for i in scanning.scan(sim_install, ("retry",)).values() if i.id.endswith("1234")]
    before = set(sim_install.outgoing_dir.iterdir())
    gate = _gate(sim_install, tmp_path)
    out = gate.execute(queue_actions.bounce_plan(gate, sim_install, items, "mx.example.test"))
    assert out.done == 2
    assert len(set(sim_install.outgoing_dir.iterdir()) - before) == 2


# --- tarpit.dat ----------------------------------------------------------------------------


def _entries(n: int, prefix: str = "10.1") -> str:
    later = datetime.now() + timedelta(hours=2)
    return "".join(
        tarpit.format_entry(tarpit.TarpitEntry(f"{prefix}.{i // 250}.{i % 250 + 1}", later, "I"))
        for i in range(n)
    )


def test_a_rewrite_keeps_owner_mode_and_comments(sim_install: Install, tmp_path: Path) -> None:
    path = sim_install.tarpit_file
    path.write_text("# blocked by the admin\n" + _entries(3) + "\n# keep me too\n")
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    os.chmod(path, 0o600)
    gate = _gate(sim_install, tmp_path)
    assert gate.execute(tarpit.add_plan(path, "192.0.2.9", 30)).done == 1
    assert gate.execute(tarpit.remove_plan(path, ["10.1.0.2"])).done == 1
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (nobody.pw_uid, nobody.pw_gid, 0o600)
    text = path.read_text()
    assert text.startswith("# blocked by the admin\n") and "# keep me too\n" in text
    assert {e.ip for e in tarpit.read(path).entries} == {"10.1.0.1", "10.1.0.3", "192.0.2.9"}
    gate.undo()
    gate.undo()
    assert {e.ip for e in tarpit.read(path).entries} == {"10.1.0.1", "10.1.0.2", "10.1.0.3"}
    assert path.read_text().startswith("# blocked by the admin\n")


def test_a_symlinked_tarpit_dat_is_neither_replaced_nor_written_through(
    sim_install: Install, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere.dat"
    target.write_text(_entries(2))
    path = sim_install.tarpit_file
    path.unlink()
    path.symlink_to(target)
    original = target.read_bytes()
    with pytest.raises(Refused, match="symbolic link"):
        tarpit.add_plan(path, "192.0.2.9", 30)
    with pytest.raises(Refused, match="symbolic link"):
        tarpit.remove_plan(path, None)
    # a link that appears after the plan was built: the step refuses too
    path.unlink()
    path.write_text(_entries(2))
    plan = tarpit.remove_plan(path, None)
    path.unlink()
    path.symlink_to(target)
    out = _gate(sim_install, tmp_path).execute(plan)
    assert out.failed == 2 and "symbolic link" in out.results[0].detail
    assert path.is_symlink() and target.read_bytes() == original


@pytest.mark.parametrize("writer", ["appends", "iwtui"])
def test_entries_another_writer_adds_during_removals_are_never_lost(
    sim_install: Install, tmp_path: Path, writer: str
) -> None:
    path = sim_install.tarpit_file
    path.write_text(_entries(300))
    gate = _gate(sim_install, tmp_path)
    count = 2000 if writer == "appends" else 60
    added = [f"10.9.{i // 250}.{i % 250 + 1}" for i in range(count)]
    later = datetime.now() + timedelta(hours=2)
    stop = threading.Event()

    def write_entries() -> None:
        other = ActionGate(tmp_path / "state2", read_only=False)
        for ip in added:
            if writer == "appends":  # as a server adding a block to the end of the file
                with open(path, "a") as fh:
                    fh.write(tarpit.format_entry(tarpit.TarpitEntry(ip, later, "I")))
                time.sleep(0.0005)
            else:
                assert other.execute(tarpit.add_plan(path, ip, 60)).done == 1
        stop.set()

    removed: list[str] = []
    t = threading.Thread(target=write_entries)
    t.start()
    n = 0
    while not stop.is_set() and n < 300:
        ip = f"10.1.{n // 250}.{n % 250 + 1}"
        out = gate.execute(tarpit.remove_plan(path, [ip]))
        assert out.done == 1, out.message()
        removed.append(ip)
        n += 1
    t.join(120)
    have = {e.ip for e in tarpit.read(path).entries}
    lost = [ip for ip in added if ip not in have]
    assert lost == [], f"{len(lost)} of {len(added)} added entries lost"
    assert removed and not have & set(removed)
    assert len(removed) >= 5  # the removals really ran while the writer wrote
