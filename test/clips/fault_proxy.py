"""A TCP proxy in front of the S3 server whose faults the tests control (the WAN, misbehaving).

Faults: ``down`` (connections dropped and refused), ``stall`` (bytes held, so the client's read
timeout fires), ``reset_after(n)`` (the connection carrying the next n request bytes is cut — mid
part, since parts are most of the bytes), ``fail_next(k)`` (the next k requests get HTTP 503).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

REQUEST_STARTS = (b"PUT ", b"POST ", b"GET ", b"HEAD ", b"DELETE ")
_BODY = b"<Error><Code>ServiceUnavailable</Code><Message>injected by the test</Message></Error>"
UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nConnection: close\r\n"
    + f"Content-Length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self.down = False
        self.stall = False
        self._reset_budget: int | None = None
        self._fail_requests = 0
        self.resets = self.failed_requests = self.refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_down(self, down: bool) -> None:
        self.down = down
        if down:
            self._close_all()

    def reset_after(self, n_bytes: int) -> None:
        with self._lock:
            self._reset_budget = n_bytes

    def fail_next(self, requests: int) -> None:
        with self._lock:
            self._fail_requests = requests

    def close(self) -> None:
        self._server.close()
        self._close_all()

    # -- plumbing --------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.down:
                self.refused += 1
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while chunk := source.recv(65536):
                while self.stall and not self.down:
                    time.sleep(0.01)
                if self.down:
                    break
                if upstream and self._fault(chunk, source):
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        for s in (source, sink):
            _close(s)

    def _fault(self, chunk: bytes, client: socket.socket) -> bool:
        """Apply a pending fault to this client->server chunk; True when the connection must end."""
        with self._lock:
            if self._fail_requests and chunk.startswith(REQUEST_STARTS):
                self._fail_requests -= 1
                self.failed_requests += 1
                with contextlib.suppress(OSError):
                    client.sendall(UNAVAILABLE)
                return True
            if self._reset_budget is not None:
                self._reset_budget -= len(chunk)
                if self._reset_budget <= 0:
                    self._reset_budget = None
                    self.resets += 1
                    return True
        return False

    def _close_all(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for s in connections:
            _close(s)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()
