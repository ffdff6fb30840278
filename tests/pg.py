"""A throw-away PostgreSQL server for the analyzer tests (session-scoped).

``initdb`` refuses root, so the cluster lives in a temp folder owned by the ``postgres``
system user and every server command runs through ``runuser -u postgres --``. The server
listens on a free port of 127.0.0.1 and on a socket in that folder; it is stopped and
removed at the end. Without the binaries the tests fail under CI (``CI=true``) and skip
elsewhere, saying why.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(os.environ.get("IWTUI_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "postgres"


def _missing(why: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL tests cannot run under CI: {why}")
    pytest.skip(f"PostgreSQL tests skipped: {why}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*cmd: str) -> list[str]:
    if os.geteuid() != 0:
        return list(cmd)
    return ["runuser", "-u", USER, "--", *cmd]


class ClusterError(RuntimeError):
    pass


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """A running server on a free local port; its URL. Stopped and removed afterwards."""
    if not (BIN / "initdb").is_file() or not (BIN / "pg_ctl").is_file():
        raise ClusterError(f"no initdb/pg_ctl in {BIN} (Debian package postgresql)")
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam(USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", USER], check=True)
            pw = pwd.getpwnam(USER)
        uid, gid = pw.pw_uid, pw.pw_gid
    else:
        uid, gid = os.getuid(), os.getgid()
    base = Path(tempfile.mkdtemp(prefix="iwtui-pg-"))
    os.chmod(base, 0o700)
    os.chown(base, uid, gid)
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    os.chown(sock, uid, gid)
    port = _free_port()
    try:
        try:
            subprocess.run(_as_postgres(str(BIN / "initdb"), "-D", str(data), "-U", "iwtui",
                                        "--auth=trust", "-E", "UTF8", "--no-instructions"),
                           check=True, capture_output=True)  # fmt: skip
            subprocess.run(
                _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
                             "-w", "-t", "60", "-o",
                             f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off",
                             "start"),
                check=True, capture_output=True,
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
            raise ClusterError(f"PostgreSQL did not start: {exc.stderr!r} {log[-500:]}") from exc
        url = f"postgresql://iwtui@127.0.0.1:{port}/postgres"
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                        "-w", "stop"), capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not (BIN / "initdb").is_file() or not (BIN / "pg_ctl").is_file():
        _missing(f"no initdb/pg_ctl in {BIN} (Debian package postgresql)")
    try:
        with cluster() as url:
            yield url
    except ClusterError as exc:
        pytest.fail(str(exc))


def fresh_db(url: str, name: str) -> str:
    """A new empty database on the test server; its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
