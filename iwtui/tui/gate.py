"""The TUI side of the action gate: refuse in read-only mode, confirm with the count,
run off the UI thread, report the outcome. Every screen's write goes through ``run_plan``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from iwtui.errors import IwtuiError
from iwtui.icewarp.actions import ActionGate, Outcome, Plan
from iwtui.tui.widgets.confirm import ConfirmDialog

if TYPE_CHECKING:
    from textual.app import App


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
        try:
            outcome = gate.execute(plan)
        except IwtuiError as exc:
            app.call_from_thread(app.notify, str(exc), title="Refused", severity="error")
            return
        severity = "information" if outcome.complete else "warning"
        app.call_from_thread(app.notify, outcome.message(), title=plan.action, severity=severity)
        if on_done is not None:
            app.call_from_thread(on_done, outcome)

    def answered(yes: bool | None) -> None:
        if yes:
            app.run_worker(execute, thread=True, group="actions", name=plan.action)

    app.push_screen(ConfirmDialog(plan.summary, plan.count, f"Same as: {plan.cli}"), answered)
