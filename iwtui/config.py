"""One typed config, loaded from YAML and validated once.

Where it comes from: ``$IWTUI_CONFIG`` (a file that must exist), else
``$XDG_CONFIG_HOME/iwtui/config.yaml`` (or ``~/.config/iwtui/config.yaml``) when present,
else the defaults. Command-line flags override the file. Every value remembers its origin
so ``iwtui config`` can say where it came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from iwtui.errors import ConfigError
from iwtui.icewarp import files

# yaml (~15 ms) and the keymap (which loads YAML too) are imported when a file needs them


@dataclass(frozen=True)
class Config:
    root: str | None = None
    """IceWarp install root; discovery rules apply when unset."""
    mail_path: str | None = None
    """Mail folder override (IceWarp: C_System_Storage_Dir_MailPath)."""
    log_path: str | None = None
    """Log folder override (IceWarp: C_System_Storage_Dir_LogPath)."""
    read_only: bool = False
    """Refuse every write: no delete, move, add or undo."""
    refresh_seconds: float = 2.0
    """Fallback poll period for live counts (file watchers refresh sooner)."""
    theme: str = "textual-dark"
    """A Textual theme name."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> keys (comma separated), see `iwtui keys`."""
    greylist_pending_hours: float = 24.0
    """A pending greylist entry older than this is expired (C_AS_SpamGLPending)."""
    greylist_authorized_days: float = 36.0
    """An authorized greylist entry older than this is expired (C_AS_SpamGLAuthorized)."""
    tarpit_minutes: float = 60.0
    """Block period for IPs added by hand (C_Mail_Security_Tarpit_Period)."""
    state_dir: str | None = None
    """Journal and trash; default $XDG_STATE_HOME/iwtui."""
    tool_sh: bool = True
    """Ask <root>/tool.sh for relocated mail and log paths (short timeout)."""
    watch: bool = True
    """File watchers for live updates (off: poll every refresh_seconds)."""
    reverse_lookup: bool = False
    """Account Statistics: resolve Last IP to a host name (short timeout)."""
    analyzer: dict[str, Any] = field(default_factory=dict)
    """Log Analyzer settings (db, server_id, active, ...): checked by iwtui.analyzer."""

    def state_path(self) -> Path:
        if self.state_dir:
            return Path(self.state_dir).expanduser()
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(base) / "iwtui"


# The YAML type each key accepts, for validation and error messages.
_KINDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "root": ((str, type(None)), "a path"),
    "mail_path": ((str, type(None)), "a path"),
    "log_path": ((str, type(None)), "a path"),
    "read_only": (bool, "true or false"),
    "refresh_seconds": ((int, float), "a number of seconds"),
    "theme": (str, "a theme name"),
    "keymap": (dict, "a mapping of binding id to keys"),
    "greylist_pending_hours": ((int, float), "a number of hours"),
    "greylist_authorized_days": ((int, float), "a number of days"),
    "tarpit_minutes": ((int, float), "a number of minutes"),
    "state_dir": ((str, type(None)), "a path"),
    "tool_sh": (bool, "true or false"),
    "watch": (bool, "true or false"),
    "reverse_lookup": (bool, "true or false"),
    "analyzer": (dict, "a mapping of Log Analyzer settings"),
}
_POSITIVE = {
    "refresh_seconds",
    "greylist_pending_hours",
    "greylist_authorized_days",
    "tarpit_minutes",
}
# The largest sane value of each number (issue 14: `.inf` overflowed, `.nan` passed):
# every number is finite, greater than 0 and at most this.
_MAXIMA = {
    "refresh_seconds": 3600.0,  # an hour
    "greylist_pending_hours": 24.0 * 365,  # a year
    "greylist_authorized_days": 3650.0,  # ten years
    "tarpit_minutes": 60.0 * 24 * 3650,  # ten years
}
# Textual 8.2.8's built-in themes (this module does not import Textual; a test checks the
# list against `textual.app.App().available_themes`, so an upgrade cannot drift).
THEMES = (
    "ansi-dark", "ansi-light", "atom-one-dark", "atom-one-light", "catppuccin-frappe",
    "catppuccin-latte", "catppuccin-macchiato", "catppuccin-mocha", "dracula", "flexoki",
    "gruvbox", "monokai", "nord", "rose-pine", "rose-pine-dawn", "rose-pine-moon",
    "solarized-dark", "solarized-light", "textual-dark", "textual-light", "tokyo-night",
)  # fmt: skip

assert set(_KINDS) == {f.name for f in fields(Config)}, "every Config field needs a kind"


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path | None
    origins: Mapping[str, str]

    def with_overrides(self, **values: Any) -> LoadedConfig:
        """Apply command-line values (None means "not given")."""
        given = {k: v for k, v in values.items() if v is not None}
        if not given:
            return self
        origins = dict(self.origins)
        origins.update(dict.fromkeys(given, "command line"))
        return LoadedConfig(replace(self.config, **given), self.path, origins)


def config_path(env: Mapping[str, str] | None = None) -> tuple[Path | None, bool]:
    """The file to read and whether it must exist (True for $IWTUI_CONFIG)."""
    env = os.environ if env is None else env
    explicit = env.get("IWTUI_CONFIG")
    if explicit:
        return Path(explicit).expanduser(), True
    xdg = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".config")
    return Path(xdg) / "iwtui" / "config.yaml", False


def _check(key: str, value: Any, where: str) -> Any:
    kinds, words = _KINDS[key]
    # YAML booleans are ints in Python: never accept True for a number or 1 for a bool.
    wrong = not isinstance(value, kinds) or (
        isinstance(value, bool) and bool not in _as_tuple(kinds)
    )
    if wrong:
        raise ConfigError(f"{where}: key '{key}' must be {words}, got {value!r}")
    if key in _POSITIVE and not (0 < value <= _MAXIMA[key]):  # NaN fails this too
        raise ConfigError(
            f"{where}: key '{key}' must be greater than 0 and at most {_MAXIMA[key]:g}, got {value!r}"
        )
    if key == "theme" and value not in THEMES:
        raise ConfigError(f"{where}: key 'theme': no theme {value!r} (themes: {', '.join(THEMES)})")
    if key == "keymap":
        from iwtui.keymap import conflicts, default_keymap

        known = default_keymap()
        for bid, keys in value.items():
            if bid not in known:
                raise ConfigError(
                    f"{where}: keymap: unknown binding id '{bid}' (see `iwtui keys` for the ids)"
                )
            if not isinstance(keys, str) or not keys.strip():
                raise ConfigError(f"{where}: keymap: '{bid}' must be keys like \"ctrl+r,f5\"")
        keymap = {str(k): str(v) for k, v in value.items()}
        clashes = conflicts(keymap)
        if clashes:
            raise ConfigError(f"{where}: keymap: {clashes[0]} (each key does one thing)")
        return keymap
    if isinstance(value, int) and float in _as_tuple(kinds):
        return float(value)
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def parse(data: Any, where: str) -> dict[str, Any]:
    """Validate a loaded YAML document; the returned keys are all known and well typed."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the file must be a mapping of keys, got {type(data).__name__}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _KINDS:
            known = ", ".join(sorted(_KINDS))
            raise ConfigError(f"{where}: unknown key '{key}' (known keys: {known})")
        values[key] = _check(key, value, where)
    return values


# A line ``key: value`` whose value YAML reads as the same text (a path from / or ~/) or
# as a boolean, and the key one of ours: a file made of such lines (and comments) is read
# without importing YAML; any other line and YAML reads the file.
_FLAT_LINE = re.compile(r"([a-z_]+): +(true|false|(?:/|~/)[A-Za-z0-9_./~+@-]*)")


def _flat(text: str) -> dict[str, Any] | None:
    """What ``yaml.safe_load`` gives for a file of flat lines (see _FLAT_LINE), or None."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _FLAT_LINE.fullmatch(line)
        if m is None or m.group(1) not in _KINDS:
            return None
        value = m.group(2)
        out[m.group(1)] = value == "true" if value in ("true", "false") else value
    return out


def load(env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read the config file (if any) and return it with the origin of every value."""
    path, required = config_path(env)
    origins = {f.name: "default" for f in fields(Config)}
    if path is None:
        return LoadedConfig(Config(), None, origins)
    try:  # the admin's own file: a link is followed; a FIFO or a giant file is not read
        text = files.read_small(path, follow=True).decode("utf-8")
    except files.Unsafe as exc:
        raise ConfigError(f"cannot read the config file: {exc}") from None
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: config file not found (named by IWTUI_CONFIG)") from None
        return LoadedConfig(Config(), None, origins)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    data: Any = _flat(text)
    if data is None:
        data = _yaml(text, path)
    values = parse(data, str(path))
    origins.update(dict.fromkeys(values, str(path)))
    return LoadedConfig(Config(**values), path, origins)


def _yaml(text: str, path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}: {problem}{at}") from exc


def describe(loaded: LoadedConfig) -> list[tuple[str, Any, str]]:
    """(key, value, origin) for every key, for `iwtui config`."""
    return [
        (f.name, getattr(loaded.config, f.name), loaded.origins.get(f.name, "default"))
        for f in fields(Config)
    ]
