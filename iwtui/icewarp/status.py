"""The live counts of the Status header: messages per queue, quarantine, tarpitted IPs.

``refresh`` recomputes only the areas a watcher said changed and keeps the rest of the
previous snapshot, so a burst of queue events never re-reads the spam database.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from iwtui.icewarp.install import Install
from iwtui.icewarp.queue import folders as queues
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam import tarpit
from iwtui.icewarp.watch import Area


@dataclass(frozen=True)
class Snapshot:
    queues: dict[str, int] = field(default_factory=dict)
    spam_lists: dict[str, int] | None = None
    spam_error: str = ""
    tarpit_active: int = 0
    tarpit_total: int = 0
    tarpit_note: str = ""
    taken_at: datetime | None = None
    missing: tuple[str, ...] = ()
    """Parts of the install not found at all (``queues``, ``spam database``,
    ``tarpit.dat``): zeros there mean "nothing to count", not "none waiting"."""

    @property
    def spam_missing(self) -> bool:
        return "spam database" in self.missing

    @property
    def queued(self) -> int:
        return sum(self.queues.values())

    def as_json(self) -> dict[str, object]:
        return {
            "queues": self.queues,
            "spam": self.spam_lists,
            "spam_error": self.spam_error or None,
            "tarpit": {
                "active": self.tarpit_active,
                "total": self.tarpit_total,
                "note": self.tarpit_note or None,
            },
            "taken_at": self.taken_at.isoformat(timespec="seconds") if self.taken_at else None,
            "missing": list(self.missing),
        }


ALL_AREAS = frozenset({Area.QUEUES, Area.SPAM, Area.TARPIT})


def refresh(
    inst: Install,
    areas: frozenset[Area] | set[Area] = ALL_AREAS,
    previous: Snapshot | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """A new snapshot: ``areas`` re-read, the rest copied from ``previous``."""
    now = now or datetime.now()
    snap = previous or Snapshot()
    if previous is None:
        areas = ALL_AREAS
    if Area.QUEUES in areas:
        snap = replace(snap, queues=queues.counts(inst))
    if Area.SPAM in areas:
        try:
            snap = replace(snap, spam_lists=spam.list_counts(inst.antispam_db), spam_error="")
        except spam.SpamDbError as exc:
            snap = replace(snap, spam_lists=None, spam_error=str(exc))
    # Expiry moves with the clock, so the tarpit is re-read on every refresh; it is small.
    t = tarpit.read(inst.tarpit_file)
    snap = replace(
        snap,
        tarpit_active=len(t.active(now)),
        tarpit_total=len(t.entries),
        tarpit_note=t.problem,
    )
    return replace(snap, taken_at=now, missing=missing(inst, t))


def missing(inst: Install, tarpit_file: tarpit.TarpitFile | None = None) -> tuple[str, ...]:
    """The parts of the header's counts that are not on disk at all."""
    gone = []
    if not any(p.is_dir() for p in (inst.outgoing_dir, inst.retry_dir, inst.incoming_dir)):
        gone.append("queues")
    if not inst.antispam_db.exists():
        gone.append("spam database")
    t = tarpit_file or tarpit.read(inst.tarpit_file)
    if t.layout == tarpit.MISSING:
        gone.append("tarpit.dat")
    return tuple(gone)
