"""A TCP proxy to fail a dependency on purpose: put it between the app and Redis, MySQL or
SQS. The fault tests use it, and ``./surge up --chaos`` routes the stack through one per
dependency for ``./surge chaos``.

It listens on 127.0.0.1 (a free port) and forwards each connection to ``target``.
``cut()`` drops every open connection and refuses new ones (the service looks down);
``restore()`` lets connections through again; ``latency`` delays each chunk sent to the
target (a slow service).

>>> proxy = FaultProxy(("127.0.0.1", 3306))
>>> with_port("mysql://root@127.0.0.1:3306/db", proxy.port) == f"mysql://root@127.0.0.1:{proxy.port}/db"
True
>>> proxy.cut()
>>> proxy.down
True
>>> proxy.restore()
>>> proxy.close()
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit


def with_port(url: str, port: int) -> str:
    """``url`` pointed at 127.0.0.1:``port`` (user and password kept)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def target_of(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


class FaultProxy:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.latency = 0.0  # seconds added to each chunk sent to the target
        self._down = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name=f"faultproxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Drop open connections (RST) and refuse new ones until ``restore()``."""
        self._down.set()
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            self._reset(sock)

    def restore(self) -> None:
        self._down.clear()

    @property
    def down(self) -> bool:
        return self._down.is_set()

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._thread.join(timeout=2)
        self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            # linger 0: close with RST, as when a server dies
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._down.is_set():
                self._reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                self._reset(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            for sock in peers:
                sock.settimeout(None)
            while not self._stop.is_set() and not self._down.is_set():
                readable, _, _ = select.select(list(peers), [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client and self.latency:
                        time.sleep(self.latency)
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._open.discard(client)
                self._open.discard(upstream)
            for sock in peers:
                self._reset(sock) if self._down.is_set() else sock.close()
