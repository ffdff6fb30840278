"""``iwtui.tui.heap.settle``: one full collection after a large listing, what lives frozen,
frozen garbage collected at the next settle; Account Statistics settles after a large
report (the re-sort's 190-206 ms outliers were full collections)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from iwtui.icewarp.install import Install
from iwtui.tui import heap

from .test_accounts import install as install
from .test_accounts_tui import SIZE, _open
from .tui_helpers import make_app, wait_for


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the suite collects as usual


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_settle_freezes_the_living_and_frees_frozen_garbage_next_time() -> None:
    node = Node()
    gone = []
    ref = weakref.ref(node, lambda _r: gone.append(1))
    heap.settle()
    assert gc.get_freeze_count() > 0
    del node  # garbage now, but frozen: the collector's passes skip it
    gc.collect()
    assert ref() is not None and not gone
    heap.settle()  # unfrozen first: collected
    assert ref() is None and gone == [1]


async def test_accounts_settle_after_a_large_report(install: Install, isolated_config: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    calls: list[int] = []
    real = heap.settle
    monkeypatch.setattr(heap, "settle", lambda: (calls.append(1), real()))
    app = make_app(install.root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        await pilot.pause()
        assert calls == []  # 4 accounts: no pause worth one
        monkeypatch.setattr(heap, "BIG", 1)
        area.refresh_data()
        await wait_for(pilot, lambda: bool(calls) and not area.busy)
        assert gc.get_freeze_count() > 0


def test_trim_gives_freed_heap_pages_back() -> None:
    """Blocks of the C heap (4 KiB each: not Python's small-object arenas), nine in ten
    freed: glibc keeps the pages mapped until trimmed."""
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's malloc_trim")

    def rss_mb() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    blocks = [bytes(4096 - 33) for _ in range(40_000)]  # ~160 MB in the heap
    kept = blocks[9::10]
    del blocks
    before = rss_mb()
    assert heap.trim() is True
    after = rss_mb()
    assert len(kept) == 4_000
    assert before - after > 50, (before, after)
