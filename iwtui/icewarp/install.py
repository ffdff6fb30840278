"""Finding an IceWarp install and its folders (spec section 1).

The root comes from, in order: the command line, the config file's ``root:``, the
``IWS_INSTALL_DIR`` line of ``/etc/icewarp/icewarp.conf``, then ``/opt/icewarp``.
Inside the root, ``path.dat`` may relocate the config, spam and groupware folders and
the three mail queues; an empty or missing line means the default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from iwtui.errors import InstallNotFound
from iwtui.icewarp import files

ETC_CONF = Path("/etc/icewarp/icewarp.conf")
DEFAULT_ROOT = Path("/opt/icewarp")
TOOL_SH_TIMEOUT = 2.0

# path.dat line numbers (1-based) that iwtui reads.
PATH_DAT_LINES: dict[str, int] = {
    "config": 1,
    "server_id": 4,
    "spam": 6,
    "groupware": 7,
    "outgoing": 8,
    "retry": 9,
    "incoming": 13,
}


@dataclass(frozen=True)
class Install:
    """Where every part of one IceWarp install lives.

    ``origins`` says, per folder, where the value came from (``default``,
    ``path.dat line 8``, ``config mail_path``, ``tool.sh``...), for ``doctor`` and
    ``iwtui config``.
    """

    root: Path
    root_origin: str
    config_dir: Path
    mail_dir: Path
    log_dir: Path
    temp_dir: Path
    spam_dir: Path
    status_dir: Path
    groupware_dir: Path
    outgoing_dir: Path
    retry_dir: Path
    incoming_dir: Path
    sms_dir: Path
    server_id: str = ""
    origins: Mapping[str, str] = field(default_factory=dict)
    # what discovery refused and worked around (a LocalServerID that is not a plain
    # name...): ``doctor`` shows these.
    problems: tuple[str, ...] = ()

    @property
    def antispam_db(self) -> Path:
        return self.spam_dir / "antispam.db"

    @property
    def tarpit_file(self) -> Path:
        return self.config_dir / "tarpit.dat"

    def priority_dir(self, n: int) -> Path:
        return self.outgoing_dir / f"priority_{n}"

    def relocated(self) -> list[str]:
        """Names of the folders that path.dat or the config moved away from the default."""
        return sorted(k for k, v in self.origins.items() if v != "default")


def read_etc_conf(path: Path = ETC_CONF) -> Path | None:
    """The ``IWS_INSTALL_DIR`` value of icewarp.conf (shell syntax), or None."""
    try:  # root's file: a link is followed; a FIFO or a giant file is not read
        text = files.read_small(path, follow=True).decode("utf-8", errors="replace")
    except (OSError, files.Unsafe):
        return None
    for line in text.splitlines():
        m = re.match(r"\s*(?:export\s+)?IWS_INSTALL_DIR\s*=\s*(.*)$", line)
        if not m:
            continue
        try:
            import shlex  # start-up: only this file's line needs it

            parts = shlex.split(m.group(1), comments=True)
        except ValueError:
            parts = [m.group(1).strip().strip("\"'")]
        if parts and parts[0]:
            return Path(parts[0])
    return None


def parse_path_dat(data: bytes) -> list[str]:
    """Lines of path.dat, CRLF or LF, stripped; a BOM and NUL bytes are tolerated."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff").replace("\x00", "")
    return [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


# A LocalServerID is the prefix of queue file names (spec 2): a plain file-name prefix.
_SERVER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_server_id(value: str) -> str | None:
    """Why path.dat's LocalServerID ``value`` is refused, or None when it is usable: it
    becomes part of file names iwtui writes (a DSN in the queue), so it must be a plain
    name (``../../tmp/x-`` would write outside the queue)."""
    if not value or _SERVER_ID.fullmatch(value):
        return None
    return (
        f"path.dat line {PATH_DAT_LINES['server_id']} (LocalServerID) {value!r} refused: "
        "not a plain name (letters, digits, '_', '.', '-'); used as none"
    )


def read_path_dat(root: Path) -> list[str]:
    """path.dat's lines; [] when there is none. Refused (InstallNotFound, with the
    reason) when it is not a regular file (a FIFO would hang, a link could point
    anywhere) or is larger than 1 MiB (it holds a few short paths)."""
    path = root / "path.dat"
    try:
        return parse_path_dat(files.read_small(path))
    except FileNotFoundError:
        return []
    except files.Unsafe as exc:
        raise InstallNotFound(str(exc).replace("refused ", "refused path.dat ", 1)) from exc
    except OSError as exc:
        raise InstallNotFound(f"{path} is not readable: {exc.strerror or exc}") from exc


def query_tool_sh(root: Path, variable: str, timeout: float = TOOL_SH_TIMEOUT) -> str | None:
    """Ask ``<root>/tool.sh get system VARIABLE``; None when absent, slow or unclear.

    tool.sh prints ``VARIABLE: value``. It is never required: any failure is silent.
    """
    tool = root / "tool.sh"
    if not os.access(tool, os.X_OK):
        return None
    import subprocess  # start-up: most installs have no tool.sh to ask

    try:
        proc = subprocess.run(
            [str(tool), "get", "system", variable],
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    for line in proc.stdout.decode("utf-8", errors="replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == variable.lower():
            value = value.strip()
            return value or None
    return None


def resolve_root(
    cli_root: str | os.PathLike[str] | None,
    config_root: str | None,
    etc_conf: Path = ETC_CONF,
    default_root: Path = DEFAULT_ROOT,
) -> tuple[Path, str]:
    """The install root and where it came from. Raises InstallNotFound."""
    candidates: list[tuple[Path, str]] = []
    if cli_root:
        candidates.append((Path(cli_root), "--root"))
    elif config_root:
        candidates.append((Path(config_root).expanduser(), "config root"))
    else:
        conf = read_etc_conf(etc_conf)
        if conf is not None:
            candidates.append((conf, f"{etc_conf} IWS_INSTALL_DIR"))
        candidates.append((default_root, "default /opt/icewarp"))
    for path, origin in candidates:
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise InstallNotFound(f"install root {path} ({origin}) is not readable")
            return path, origin
    if cli_root or config_root:
        path, origin = candidates[0]
        what = "is not a directory" if path.exists() else "does not exist"
        raise InstallNotFound(f"install root {path} ({origin}) {what}")
    tried = ", ".join(f"{p} ({o})" for p, o in candidates)
    raise InstallNotFound(f"no IceWarp install found (tried {tried}); pass --root")


def _relative_to(root: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else root / p


def discover(
    cli_root: str | os.PathLike[str] | None = None,
    *,
    config_root: str | None = None,
    mail_path: str | None = None,
    log_path: str | None = None,
    use_tool_sh: bool = True,
    tool_sh_timeout: float = TOOL_SH_TIMEOUT,
    etc_conf: Path = ETC_CONF,
    default_root: Path = DEFAULT_ROOT,
) -> Install:
    """Locate the install and every folder iwtui reads (spec section 1)."""
    root, root_origin = resolve_root(cli_root, config_root, etc_conf, default_root)
    origins: dict[str, str] = {}

    lines = read_path_dat(root)

    def line(name: str) -> str:
        n = PATH_DAT_LINES[name]
        return lines[n - 1] if len(lines) >= n else ""

    def pick(name: str, default: Path) -> Path:
        value = line(name)
        if value:
            origins[name] = f"path.dat line {PATH_DAT_LINES[name]}"
            return _relative_to(root, value)
        origins[name] = "default"
        return default

    def storage(name: str, configured: str | None, variable: str, default: Path) -> Path:
        if configured:
            origins[name] = f"config {name}_path"
            return _relative_to(root, configured)
        if use_tool_sh:
            value = query_tool_sh(root, variable, tool_sh_timeout)
            if value:
                origins[name] = f"tool.sh {variable}"
                return _relative_to(root, value)
        origins[name] = "default"
        return default

    mail_dir = storage("mail", mail_path, "C_System_Storage_Dir_MailPath", root / "mail")
    log_dir = storage("log", log_path, "C_System_Storage_Dir_LogPath", root / "logs")
    config_dir = pick("config", root / "config")
    spam_dir = pick("spam", root / "spam")
    groupware_dir = pick("groupware", root / "groupware")
    outgoing_dir = pick("outgoing", mail_dir / "_outgoing")
    retry_dir = pick("retry", outgoing_dir / "retry")
    incoming_dir = pick("incoming", mail_dir / "_incoming")
    server_id = line("server_id")
    problems: list[str] = []
    if (why := check_server_id(server_id)) is not None:
        problems.append(why)
        server_id = ""

    return Install(
        root=root,
        root_origin=root_origin,
        config_dir=config_dir,
        mail_dir=mail_dir,
        log_dir=log_dir,
        temp_dir=root / "temp",
        spam_dir=spam_dir,
        status_dir=root / "status",
        groupware_dir=groupware_dir,
        outgoing_dir=outgoing_dir,
        retry_dir=retry_dir,
        incoming_dir=incoming_dir,
        sms_dir=mail_dir / "_sms",
        server_id=server_id,
        origins=origins,
        problems=tuple(problems),
    )
