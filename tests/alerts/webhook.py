"""A Slack-like webhook on loopback for alert tests: records every request and answers as told."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One request as the webhook received it (recorded before it answers, so a timed-out POST is kept too)."""

    method: str
    path: str
    content_type: str | None
    idempotency_key: str | None
    body: Any


class Receiver(ThreadingHTTPServer):
    """The server; ``status`` and ``delay`` may be changed between runs. A 3xx answer points to /moved."""

    def __init__(self, port: int, status: int, delay: float) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.received: list[Hit] = []
        self.status, self.delay = status, delay

    def alert_ids(self, method: str = "POST") -> list[str]:
        """The ``alert_id`` of each received JSON body of ``method``, in order of arrival."""
        return [hit.body["alert_id"] for hit in self.received if hit.method == method]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        hit = Hit(method, self.path, self.headers["Content-Type"], self.headers["Idempotency-Key"], body)
        self.server.received.append(hit)
        status = 200 if method == "GET" else self.server.status
        time.sleep(self.server.delay)
        try:
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/moved")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:  # the client gave up waiting (timeout tests)
            pass

    def do_POST(self) -> None:
        self._answer("POST")

    def do_GET(self) -> None:  # a client that followed a redirect would land here
        self._answer("GET")

    def log_message(self, *_args: object) -> None:  # keep the test output clean
        pass


@contextmanager
def webhook(port: int = 0, status: int = 200, delay: float = 0.0) -> Iterator[Receiver]:
    """A running `Receiver` on 127.0.0.1 (``port`` 0: any free port), stopped on exit."""
    server = Receiver(port, status, delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def free_port() -> int:
    """A loopback port nothing listens on (for an unreachable webhook)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
