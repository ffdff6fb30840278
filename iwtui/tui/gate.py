"""The TUI side of the action gate: refuse in read-only mode, confirm with the count,
run off the UI thread, report the outcome. Every screen's write goes through ``run_plan``.

A running action stops after its current step when its worker is cancelled (the app
quits): the gate closes the journal entry as interrupted, and undo restores what was done.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.worker import get_current_worker

from iwtui.errors import IwtuiError
from iwtui.icewarp.actions import SHOWN_ITEMS, ActionGate, Outcome, Plan
from iwtui.tui.widgets.confirm import ConfirmDialog

if TYPE_CHECKING:
    from textual.app import App

POLL_S = 0.2  # how often a running action looks whether its worker was cancelled


def _stop_when_cancelled() -> tuple[threading.Event, threading.Event]:
    """(stop, finished): ``stop`` is set once the current worker is cancelled; set
    ``finished`` when the action is over."""
    worker = get_current_worker()
    stop, finished = threading.Event(), threading.Event()

    def watch() -> None:
        while not finished.wait(POLL_S):
            if worker.is_cancelled:
                stop.set()
                return

    threading.Thread(target=watch, name="iwtui-action-cancel", daemon=True).start()
    return stop, finished


def undo_hint(app: App[Any], outcome: Outcome, undoable: bool) -> str:
    """What the toast after an action adds: its journal id, and the key that undoes it."""
    if not undoable or not (outcome.done or outcome.interrupted):
        return f"\njournal {outcome.journal_id}"
    key_for = getattr(app, "key_for", None)
    key = key_for("app.undo") if key_for is not None else "u"
    return f"\njournal {outcome.journal_id}: {key} undoes it"


def run_plan(
    app: App[Any],
    gate: ActionGate,
    plan: Plan,
    on_done: Callable[[Outcome], None] | None = None,
    on_declined: Callable[[], None] | None = None,
) -> None:
    """Confirm ``plan`` (its summary, the first items by name, the count), run it off the
    UI thread, report the outcome with its journal id and the undo key. ``on_declined``:
    called when the user answers No (a form stays open to be corrected)."""
    try:
        gate.check(plan.action)
    except IwtuiError as exc:
        app.notify(str(exc), title="Refused", severity="error")
        return

    def answered(yes: bool | None) -> None:
        if yes:
            work = partial(_execute, app, lambda stop: gate.execute(plan, stop=stop),
                           plan.action, plan.undoable, on_done)  # fmt: skip
            app.run_worker(work, thread=True, group="actions", name=plan.action)
        elif on_declined is not None:
            on_declined()

    app.push_screen(
        ConfirmDialog(plan.summary, plan.count, f"Same as: {plan.cli}", plan.items()), answered
    )


def run_undo(
    app: App[Any],
    gate: ActionGate,
    entry: Mapping[str, Any],
    roots: Sequence[Path],
    moves: Sequence[str],
    on_done: Callable[[Outcome], None] | None = None,
) -> None:
    """Confirm the undo of journal ``entry`` listing what moves back (``moves``: one
    line per undo record), then replay it off the UI thread."""
    jid = str(entry["id"])

    def answered(yes: bool | None) -> None:
        if yes:
            work = partial(_execute, app, lambda stop: gate.undo(jid, roots=roots, stop=stop),
                           "undo", False, on_done)  # fmt: skip
            app.run_worker(work, thread=True, group="actions", name="undo")

    shown = list(moves[:SHOWN_ITEMS])
    if len(moves) > SHOWN_ITEMS:
        shown.append(f"and {len(moves) - SHOWN_ITEMS:,} more")
    when = str(entry.get("time", jid)).replace("T", " ")
    summary = f"Undo {entry.get('action', 'the action')} of {when}"
    detail = f"It was: {entry.get('summary', '?')}\nSame as: iwtui undo {jid} --yes"
    app.push_screen(ConfirmDialog(summary, len(moves), detail, shown), answered)


def _execute(
    app: App[Any],
    run: Callable[[threading.Event], Outcome],
    title: str,
    undoable: bool,
    on_done: Callable[[Outcome], None] | None,
) -> None:
    """The worker of an action or an undo: run it until the worker is cancelled, then
    say what happened (with the journal id and the undo key) and call ``on_done``."""
    stop, finished = _stop_when_cancelled()
    try:
        outcome = run(stop)
    except IwtuiError as exc:
        with contextlib.suppress(RuntimeError):
            app.call_from_thread(app.notify, str(exc), title="Refused", severity="error")
        return
    finally:
        finished.set()
    if outcome.interrupted:
        text, severity = outcome.interrupted_message(), "warning"
    else:
        text = outcome.message()
        severity = "information" if outcome.complete else "warning"
    text += undo_hint(app, outcome, undoable)
    with contextlib.suppress(RuntimeError):  # the app may be closing
        app.call_from_thread(app.notify, text, title=title, severity=severity)
        if on_done is not None:
            app.call_from_thread(on_done, outcome)
