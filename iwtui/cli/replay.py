"""A warm ``iwtui charts show`` answered from its last run, when nothing it depends on changed.

``charts show`` is a function of its command line, the config, the install's ``path.dat``,
the log files (the store is built from them alone: deleted and rebuilt, it gives the same
numbers), the date (``--date`` defaults to today), the time zone and iwtui's own code. A
run that read the logs writes its answer here together with all of these; the next run
with the same command line compares them (a ``stat`` each, no parser, no store, no YAML)
and prints the answer when every one is the same. Anything different, missing or
unreadable, and the command runs in full (and writes a new answer). ``IWTUI_NO_REPLAY=1``
turns this off.

Nothing is remembered when the answer is not only stdout (``--svg``, a note on stderr), not
ASCII, large, or depends on what a ``stat`` cannot see: a root found by discovery (not
``--root`` or the config's ``root``), folders asked of ``tool.sh``, logs that changed while
the command ran. The answers live in ``<state_dir>/traffic/answers/``.

This module imports nothing but ``os`` and ``sys`` (``iwtui --version`` is the yardstick).
"""

from __future__ import annotations

import os
import sys

from iwtui.icewarp.traffic.entries import walk  # the ingest's own view of a log folder

TYPE_CHECKING = False  # not `typing`: start-up
if TYPE_CHECKING:
    from collections.abc import Sequence

FORMAT = "iwtui-answer 1"
MAX_ANSWER = 2 << 20  # bytes of output kept; a larger answer is printed, not kept
MAX_ENTRY = MAX_ANSWER + (4 << 20)  # the whole file: the answer and what it depends on
ENV = ("IWTUI_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "HOME", "TZ")
# iwtui's own files the answer depends on (relative to the package): their folders' entries
_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE_DIRS = [os.path.join(_HERE, *p) for p in
             ((), ("cli",), ("icewarp",), ("icewarp", "traffic"), ("icewarp", "logs"))]  # fmt: skip


def enabled() -> bool:
    return not os.environ.get("IWTUI_NO_REPLAY")


def _ident(path: str, follow: bool = False) -> str:
    """A file's identity as a ``stat`` sees it, or ``-`` when there is none."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return "-"
    return f"{st.st_mode:o} {st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns}"


def logs_state(log_dir: str) -> str:
    """The log folder as one text: equal texts, equal logs (every file's device, inode,
    size and modification time, and the folder's own identity)."""
    parts = [_ident(log_dir)]
    for path, st in sorted(walk(log_dir)):  # (names hold no NUL: the text is unambiguous)
        parts.append(f"{path}\0{st.st_mode:o} {st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns}")  # fmt: skip
    return "\n".join(parts)


def config_file(argv: Sequence[str], env: dict[str, str] | os._Environ[str]) -> str:
    """The config file a run with ``argv`` reads (as ``iwtui.config.config_path``, with
    ``--config`` first); the full run checks that it names the same file."""
    for i, word in enumerate(argv):
        if word == "--config" and i + 1 < len(argv):
            return os.path.expanduser(argv[i + 1])
        if word.startswith("--config="):
            return os.path.expanduser(word.partition("=")[2])
    explicit = env.get("IWTUI_CONFIG")
    if explicit:
        return os.path.expanduser(explicit)
    home = env.get("HOME") or os.path.expanduser("~")
    xdg = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return os.path.join(xdg, "iwtui", "config.yaml")


def state_dir(config_text: str | None, env: dict[str, str] | os._Environ[str]) -> str | None:
    """The state folder a config of this text names (as ``Config.state_path``), or None
    when this reading is not sure (then nothing is replayed; the full run checks that it
    names the same folder before it writes)."""
    value = None
    for line in (config_text or "").splitlines():
        if line.startswith("state_dir:"):
            value = line[len("state_dir:") :].strip()
            if value == "~":  # YAML's null: the default
                value = None
                continue
            if not value or value[0] not in "/~" or "#" in value or ":" in value:
                return None  # quoted, a comment, a YAML form: the parser decides
    if value:
        return os.path.expanduser(value)
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "iwtui")


def _read(path: str, limit: int) -> bytes | None:
    """A regular file's bytes (no link followed, no FIFO waited on), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (st.st_mode & 0o170000) != 0o100000 or st.st_size > limit:
            return None
        chunks, left = [], st.st_size + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _code() -> str:
    from iwtui import __version__

    parts = [__version__]
    for d in CODE_DIRS:
        try:
            with os.scandir(d) as it:
                names = sorted(e.name for e in it if e.name.endswith(".py"))
        except OSError:
            names = []
        parts += [f"{n} {_ident(os.path.join(d, n))}" for n in names]
    return "\n".join(parts)


def _today() -> str:
    import time

    return time.strftime("%Y-%m-%d %z")


def key(argv: Sequence[str]) -> tuple[str, str] | None:
    """(the text every input outside the logs makes, the state folder), or None."""
    env = os.environ
    cfg = config_file(argv, env)
    text = None
    raw = _read(cfg, 1 << 20) if os.path.exists(cfg) else b""
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    state = state_dir(text, env)
    if state is None:
        return None
    lines = [FORMAT, "\0".join(argv), os.getcwd(), str(os.isatty(1))]
    lines += [f"{n}={env.get(n, '')}" for n in ENV]
    lines += [cfg, _ident(cfg, follow=True), text, _today(), _ident("/etc/localtime", follow=True)]
    lines.append(_code())
    return "\n".join(lines), state


def _entry_path(state: str, key_text: str) -> str:
    import zlib

    name = f"{zlib.crc32(key_text.encode('utf-8', 'surrogateescape')):08x}"
    return os.path.join(state, "traffic", "answers", name)


def replay(argv: Sequence[str]) -> bool:
    """Print the remembered answer of ``argv`` when nothing it depends on changed."""
    if not enabled():
        return False
    made = key(argv)
    if made is None:
        return False
    key_text, state = made
    data = _read(_entry_path(state, key_text), MAX_ENTRY)
    if data is None:
        return False
    head, sep, answer = data.partition(b"\0\0\0\n")
    try:
        fields = head.decode("utf-8", "surrogateescape").split("\0\1\n")
    except UnicodeDecodeError:
        return False
    if not sep or len(fields) != 4 or fields[0] != key_text:
        return False
    root, log_dir, logs = fields[1], fields[2], fields[3]
    if _install_state(root) != _first_line(logs) or logs_state(log_dir) != _rest(logs):
        return False
    out = sys.stdout.buffer
    out.write(answer)
    out.flush()
    return True


def _first_line(text: str) -> str:
    return text.partition("\n\0\n")[0]


def _rest(text: str) -> str:
    return text.partition("\n\0\n")[2]


def _install_state(root: str) -> str:
    """The install's files the answer reads outside the logs: ``path.dat`` (the server
    ID) and ``tool.sh`` (its coming or going changes how folders are found)."""
    return f"{_ident(os.path.join(root, 'path.dat'))} {_ident(os.path.join(root, 'tool.sh'))}"


class Recorder:
    """The full run's side: what the logs were before the store was brought up to date,
    then the answer, kept when they are still the same after it."""

    def __init__(self, argv: Sequence[str], root: str, log_dir: str) -> None:
        self.argv, self.root, self.log_dir = list(argv), root, log_dir
        self.before = logs_state(log_dir)
        self.install = _install_state(root)

    def keep(self, answer: str, *, config_path: str | None, state: str) -> bool:
        """Write the answer for the next run; False when it is not kept (not sure, or the
        state folder refuses it: the answer was printed all the same)."""
        if not enabled() or not answer.isascii() or len(answer) > MAX_ANSWER:
            return False
        made = key(self.argv)
        if made is None:
            return False
        key_text, lean_state = made
        lean_cfg = config_file(self.argv, os.environ)
        same_cfg = (config_path is None and not os.path.exists(lean_cfg)) or (
            config_path is not None and os.path.abspath(config_path) == os.path.abspath(lean_cfg)
        )
        if not same_cfg or os.path.abspath(lean_state) != os.path.abspath(state):
            return False  # this module would look for it elsewhere: no use keeping it
        if logs_state(self.log_dir) != self.before or _install_state(self.root) != self.install:
            return False  # the logs changed while the command ran
        head = "\0\1\n".join((key_text, self.root, self.log_dir, f"{self.install}\n\0\n{self.before}"))  # fmt: skip
        data = head.encode("utf-8", "surrogateescape") + b"\0\0\0\n" + answer.encode("ascii")
        path = _entry_path(state, key_text)
        return _write(path, data)


def _write(path: str, data: bytes) -> bool:
    """Written whole under a temporary name, then renamed over the old answer."""
    folder = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.path.islink(folder) or not os.path.isdir(folder):
            return False
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)  # fmt: skip
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return True
    except OSError:
        import contextlib  # (the rare path)

        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
