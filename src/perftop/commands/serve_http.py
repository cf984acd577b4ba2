"""The HTTP server behind `perftop serve`: a few worker threads, however many clients connect.

prometheus_client's own server starts a thread per connection and never times one out, so
200 idle connections hold 200 threads for ever. Here the serving thread alone reads every
request's head, without blocking, from all connections at once through a selector (epoll or
poll: no descriptor limit), and hands a worker only a request whose head has fully arrived.
A worker then never waits on a client's reads, so a slow-client flood cannot tie them up:

- a connection whose request head has not arrived `idle_timeout` after it connected is closed,
  however it dribbles bytes in (slowloris);
- at most `max_connections` are held: past that the one that has waited longest without a
  request is closed to make room, so a real scrape, which sends its request at once, still
  gets in while idle sockets pile up;
- a worker's writes time out after `request_timeout` (a client that does not read).

Each connection carries one request (wsgiref answers and closes).
"""

from __future__ import annotations

import io
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

__all__ = ["BoundedWSGIServer", "start_wsgi"]

WORKERS = 4  # scrapes answered at once: Prometheus sends one per target at a time
MAX_CONNECTIONS = 128  # held at once, waiting for their request or being answered
IDLE_TIMEOUT_S = 10.0  # from connecting to the end of the request head
REQUEST_TIMEOUT_S = 10.0  # a worker's wait on one write
MAX_HEAD_BYTES = 65536  # wsgiref's own limit on a request line
_TICK_S = 0.25  # how soon a timeout or a shutdown is noticed


class _Handler(WSGIRequestHandler):
    """wsgiref's handler, reading the request head the serving thread already received."""

    def __init__(
        self, request: socket.socket, address: Any, server: Any, head: bytes = b""
    ) -> None:
        self._head = head
        super().__init__(request, address, server)

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        # GET /metrics has no body, so the head is all there is to read.
        self.rfile = io.BytesIO(self._head)

    def log_message(self, format: str, *args: Any) -> None:
        """A scrape a second would flood the terminal; serve logs nothing per request."""


class _Pending:
    """An accepted connection whose request head is still arriving."""

    __slots__ = ("deadline", "head")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.head = bytearray()


class BoundedWSGIServer(WSGIServer):
    """A WSGI server whose threads and connections are bounded, with timeouts."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        family: socket.AddressFamily = socket.AF_INET,
        workers: int = WORKERS,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT_S,
        request_timeout: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.address_family = family
        self.request_queue_size = max(5, min(max_connections, 128))  # the listen backlog
        super().__init__(address, _Handler)
        self.max_connections = max(1, max_connections)
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perftop-serve")
        # Only the serving thread touches these, oldest first (dicts keep insertion order).
        self._pending: dict[socket.socket, _Pending] = {}
        self._lock = threading.Lock()
        self._answering = 0  # handed to the workers, queued or running; under the lock
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()

    def serve_forever(self, poll_interval: float = _TICK_S) -> None:
        self._stop.clear()
        self._done.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                while not self._stop.is_set():
                    for key, _ in selector.select(timeout=min(poll_interval, _TICK_S)):
                        if key.fileobj is self.socket:
                            self._accept(selector)
                        else:
                            self._receive(selector, key.fileobj)  # type: ignore[arg-type]
                    self._expire(selector, time.monotonic())
        finally:
            for conn in list(self._pending):
                self.shutdown_request(conn)
            self._pending.clear()
            self._done.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._done.wait()

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _accept(self, selector: selectors.BaseSelector) -> None:
        try:
            conn, _ = self.socket.accept()
        except OSError:
            return  # the client gave up between the wake-up and the accept
        with self._lock:
            held = len(self._pending) + self._answering
        if held >= self.max_connections:
            if not self._pending:
                self.shutdown_request(conn)  # every slot is answering: refused
                return
            # Make room: the longest wait without a request is the likeliest idle one.
            self._drop(selector, next(iter(self._pending)))
        conn.setblocking(False)
        self._pending[conn] = _Pending(time.monotonic() + self.idle_timeout)
        selector.register(conn, selectors.EVENT_READ)

    def _receive(self, selector: selectors.BaseSelector, conn: socket.socket) -> None:
        pending = self._pending[conn]
        try:
            data = conn.recv(MAX_HEAD_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        pending.head += data
        if not data or len(pending.head) > MAX_HEAD_BYTES:
            self._drop(selector, conn)  # gone, or a head no request has
        elif b"\r\n\r\n" in pending.head or b"\n\n" in pending.head:
            selector.unregister(conn)
            del self._pending[conn]
            self._answer(conn, bytes(pending.head))

    def _answer(self, conn: socket.socket, head: bytes) -> None:
        with self._lock:
            self._answering += 1
        try:
            self._pool.submit(self._handle, conn, head)
        except RuntimeError:  # the pool is shut down: the server is closing
            self._done_with(conn)

    def _handle(self, conn: socket.socket, head: bytes) -> None:
        conn.setblocking(True)
        conn.settimeout(self.request_timeout)  # a client that does not read its answer
        try:
            _Handler(conn, conn.getpeername(), self, head)
        except Exception:
            pass  # a client that timed out or vanished: nothing to tell
        finally:
            self._done_with(conn)

    def _done_with(self, conn: socket.socket) -> None:
        with self._lock:
            self._answering -= 1
        self.shutdown_request(conn)

    def _drop(self, selector: selectors.BaseSelector, conn: socket.socket) -> None:
        selector.unregister(conn)
        del self._pending[conn]
        self.shutdown_request(conn)

    def _expire(self, selector: selectors.BaseSelector, now: float) -> None:
        for conn in [c for c, p in self._pending.items() if p.deadline <= now]:
            self._drop(selector, conn)


def start_wsgi(
    host: str, port: int, app: Any, **limits: Any
) -> tuple[BoundedWSGIServer, threading.Thread]:
    """Bind `host:port` (IPv4 or IPv6, as the address says) and serve `app` on a daemon thread."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, sockaddr = infos[0]
    server = BoundedWSGIServer((str(sockaddr[0]), port), family=family, **limits)
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, name="perftop-serve", daemon=True)
    thread.start()
    return server, thread
