"""The TUI side of the action gate: refuse in read-only mode, confirm with the count,
run off the UI thread, report the outcome. Every screen's write goes through ``run_plan``.

A running action stops after its current step when its worker is cancelled (the app
quits): the gate closes the journal entry as interrupted, and undo restores what was done.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.worker import get_current_worker

from iwtui.errors import IwtuiError
from iwtui.icewarp.actions import ActionGate, Outcome, Plan
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


def run_plan(
    app: App[object],
    gate: ActionGate,
    plan: Plan,
    on_done: Callable[[Outcome], None] | None = None,
) -> None:
    try:
        gate.check(plan.action)
    except IwtuiError as exc:
        app.notify(str(exc), title="Refused", severity="error")
        return

    def execute() -> None:
        stop, finished = _stop_when_cancelled()
        try:
            outcome = gate.execute(plan, stop=stop)
        except IwtuiError as exc:
            app.call_from_thread(app.notify, str(exc), title="Refused", severity="error")
            return
        finally:
            finished.set()
        if outcome.interrupted:
            text, severity = outcome.interrupted_message(), "warning"
        else:
            text = outcome.message()
            severity = "information" if outcome.complete else "warning"
        with contextlib.suppress(RuntimeError):  # the app may be closing
            app.call_from_thread(app.notify, text, title=plan.action, severity=severity)
            if on_done is not None:
                app.call_from_thread(on_done, outcome)

    def answered(yes: bool | None) -> None:
        if yes:
            app.run_worker(execute, thread=True, group="actions", name=plan.action)

    app.push_screen(ConfirmDialog(plan.summary, plan.count, f"Same as: {plan.cli}"), answered)
