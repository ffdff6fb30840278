"""Last Host: the reverse DNS name of an account's Last IP, only when the config's
``reverse_lookup`` is on, with a short overall timeout (a slow resolver never holds the
list: names not back in time stay unknown)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

TIMEOUT = 1.5
MOST = 256  # lookups started per call


def lookup(ips: list[str], timeout: float = TIMEOUT) -> dict[str, str]:
    """IP -> host name, for those that resolved within ``timeout`` seconds (all at once)."""
    out: dict[str, str] = {}
    lock = threading.Lock()

    def one(ip: str) -> None:
        try:
            name = socket.gethostbyaddr(ip)[0]
        except (OSError, UnicodeError):
            return
        with lock:
            out[ip] = name

    todo = []
    for ip in dict.fromkeys(ips):
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            continue
        todo.append(ip)
        if len(todo) >= MOST:
            break
    threads = [threading.Thread(target=one, args=(ip,), daemon=True) for ip in todo]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return dict(out)
