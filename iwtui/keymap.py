"""The keymap: every binding has an id, default keys come from keymaps/default.yaml.

This module only reads data; ``iwtui.tui.bindings`` turns entries into Textual bindings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from iwtui.resources import resource_dir


@dataclass(frozen=True)
class KeySpec:
    id: str
    keys: str
    action: str
    description: str
    show: bool = True


@cache
def default_keymap() -> dict[str, KeySpec]:
    """All bindings by id, in file order."""
    path = resource_dir("keymaps") / "default.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    specs: dict[str, KeySpec] = {}
    for scope, entries in data.items():
        for name, entry in (entries or {}).items():
            bid = f"{scope}.{name}"
            specs[bid] = KeySpec(
                id=bid,
                keys=str(entry["keys"]),
                action=str(entry["action"]),
                description=str(entry.get("description", "")),
                show=bool(entry.get("show", True)),
            )
    return specs


def scope(name: str) -> list[KeySpec]:
    prefix = f"{name}."
    return [s for s in default_keymap().values() if s.id.startswith(prefix)]
