"""What Volume measures: the server, a domain or an account, as units (its rows).

- ``server``: the whole install root. Its top folders are its rows, except the mail store,
  whose folders (each domain, ``_outgoing``, ``_incoming``, ...) are rows of their own as
  ``mail/<name>``; files directly in a folder are a ``(files)`` row. A mail or log folder
  relocated outside the root is walked too (it belongs to the server).
- a domain ``<mail>/<domain>/``: one row per account folder, and ``(files)``.
- an account ``user@domain`` -> ``<mail>/<domain>/<user>/``: one row per top folder
  (``inbox``, ``~spam``, ...), and ``(files)``.

Names come from the mail store, never from the text typed: a domain or user must be an
existing real folder (``lstat``, not a link) of the mail folder, matched without regard to
case; a name with ``/``, ``..`` or NUL is refused.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from iwtui.errors import BadInput
from iwtui.icewarp.install import Install
from iwtui.icewarp.volume.walk import Unit

FILES_ROW = "(files)"


@dataclass
class Target:
    name: str  # "server", "acme.test", "john@acme.test"
    kind: str  # "server" | "domain" | "account"
    path: str
    units: list[Unit] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def subdirs(path: str) -> list[str]:
    """The real subfolders of a folder (not links), sorted; none when it cannot be read."""
    try:
        with os.scandir(path) as it:
            return sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _is_domain_name(name: str) -> bool:
    return "." in name and not name.startswith(("_", ".", "~"))


def domains(mail_dir: Path) -> list[str]:
    """The domain folders of the mail store."""
    return [d for d in subdirs(str(mail_dir)) if _is_domain_name(d)]


def accounts(mail_dir: Path, domain: str) -> list[str]:
    """``user@domain`` for every account folder of a domain."""
    return [
        f"{u}@{domain}"
        for u in subdirs(str(mail_dir / domain))
        if not u.startswith(("_", ".", "~"))
    ]


def completions(mail_dir: Path, prefix: str, limit: int = 50) -> list[str]:
    """Targets starting with ``prefix`` (any case): ``server`` and domains, then accounts
    (of the domain typed after ``@``, else of every domain), at most ``limit``."""
    p = prefix.lower()
    doms = domains(mail_dir)
    out = [t for t in ["server", *doms] if t.startswith(p)]
    user, at, dom = p.partition("@")
    for d in doms:
        if len(out) >= limit:
            break
        if at and not d.startswith(dom):
            continue
        out += [a for a in accounts(mail_dir, d) if a.lower().startswith(p if at else user)]
    return out[:limit]


def _check_name(name: str, what: str) -> None:
    if not name or "/" in name or "\x00" in name or ".." in name or name in (".", ".."):
        raise BadInput(f"bad {what} name {name!r}")


def _find(parent: Path, name: str, what: str) -> str:
    """The real folder of ``parent`` named ``name`` (any case), or BadInput."""
    _check_name(name, what)
    exact = parent / name
    if _real_dir(exact):
        return name
    low = name.lower()
    for sub in subdirs(str(parent)):
        if sub.lower() == low:
            return sub
    raise BadInput(f"no {what} folder {name!r} in {parent}")


def _rows(path: str, prefix: str = "") -> list[Unit]:
    units = [Unit(f"{prefix}{FILES_ROW}", path, recursive=False)]
    units += [Unit(f"{prefix}{s}", f"{path}/{s}") for s in subdirs(path)]
    return units


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve(install: Install, text: str | None) -> Target:
    """The target for ``server``, ``DOMAIN`` or ``USER@DOMAIN`` (default: server)."""
    raw = (text or "server").strip()
    mail = Path(os.path.realpath(install.mail_dir))
    if raw.lower() == "server":
        root = Path(os.path.realpath(install.root))
        target = Target("server", "server", str(root))
        mail_in_root = _inside(mail, root)
        for unit in _rows(str(root)):
            if unit.recursive and mail_in_root and _inside(mail, Path(unit.path)):
                if Path(unit.path) != mail:
                    target.units.append(unit)  # the mail store's parent, minus the store
                    target.exclude.append(str(mail))
                continue
            target.units.append(unit)
        target.units += _rows(str(mail), "mail/")
        logs = Path(os.path.realpath(install.log_dir))
        if not _inside(logs, root) and not _inside(logs, mail) and _real_dir(logs):
            target.units.append(Unit("logs", str(logs)))
        return target
    if not _real_dir(mail):
        raise BadInput(f"mail folder not found: {install.mail_dir}")
    if "@" in raw:
        user, _, dom = raw.rpartition("@")
        if not user:
            raise BadInput(f"bad account {raw!r}: use user@domain")
        dom_name = _find(mail, dom, "domain")
        user_name = _find(mail / dom_name, user, "account")
        path = str(mail / dom_name / user_name)
        return Target(f"{user_name}@{dom_name}", "account", path, _rows(path))
    dom_name = _find(mail, raw, "domain")
    path = str(mail / dom_name)
    return Target(dom_name, "domain", path, _rows(path))
