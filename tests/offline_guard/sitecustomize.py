"""A network guard every Python process installs at start-up when its PYTHONPATH names this
folder and TUNESMITH_NET_GUARD names a folder (tests/test_offline.py sets both).

Each attempt to reach a host other than this machine (a name lookup, a TCP connect, a UDP
send) is written to `<folder>/<pid>.jsonl` at once, with the thread and the stack, and then
refused; loopback and Unix sockets pass. Recording first means an attempt is seen even when a
library swallows the refusal, and even in a background thread or a child process that is
later killed. Patched at class level, so sockets made by any library are covered; only code
that calls the C `_socket` module directly (none of tunesmith's dependencies' HTTP clients
do) would pass unseen.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

_FOLDER = os.environ.get("TUNESMITH_NET_GUARD")
_LOCAL_NAMES = {"", "localhost", "localhost.localdomain", "ip6-localhost"}


def _local_host(host: Any) -> bool:
    if host is None:
        return True  # a passive lookup: an address to bind to
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if str(host).lower() in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _local_address(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    return isinstance(address, tuple) and _local_host(address[0])


def _install(folder: Path) -> None:
    lock = threading.Lock()
    log = folder / f"{os.getpid()}.jsonl"
    (folder / f"{os.getpid()}.started").write_text(json.dumps(sys.argv), encoding="utf-8")

    def record(call: str, target: Any) -> None:
        entry = {
            "call": call,
            "target": repr(target),
            "thread": threading.current_thread().name,
            "argv": sys.argv[:3],
            "stack": "".join(traceback.format_stack(limit=15)[:-2]),
        }
        with lock, log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex

    def connect(self: socket.socket, address: Any) -> None:
        if not _local_address(address):
            record("connect", address)
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused by the test's guard")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _local_address(address):
            record("connect_ex", address)
            return errno.ECONNREFUSED
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        if args and not _local_address(args[-1]):
            record("sendto", args[-1])
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused by the test's guard")
        return real_sendto(self, data, *args)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _local_address(address):
            record("create_connection", address)
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused by the test's guard")
        return real_create_connection(address, *args, **kwargs)

    def lookup(name: str, real: Any) -> Any:
        def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not _local_host(host):
                record(name, host)
                raise socket.gaierror(socket.EAI_NONAME, "refused by the test's guard")
            return real(host, *args, **kwargs)

        return guarded

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.create_connection = create_connection  # type: ignore[assignment]
    socket.getaddrinfo = lookup("getaddrinfo", real_getaddrinfo)
    socket.gethostbyname = lookup("gethostbyname", real_gethostbyname)
    socket.gethostbyname_ex = lookup("gethostbyname_ex", real_gethostbyname_ex)


if _FOLDER:
    _install(Path(_FOLDER))
