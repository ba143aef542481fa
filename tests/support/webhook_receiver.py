"""A real HTTP endpoint for webhook deliveries in tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """An HTTP endpoint that answers the scripted statuses in turn (then 200; 503 whenever ``down`` is
    set) and records what it got: ``calls`` (headers, body) and, alongside, ``answers`` (monotonic
    seconds, status)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = statuses or []
        self.down = threading.Event()
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 503 if receiver.down.is_set() else receiver.statuses.pop(0) if receiver.statuses else 200
                with receiver._lock:  # calls[i] and answers[i] stay the same request
                    receiver.answers.append((time.monotonic(), status))
                    receiver.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop listening."""
        self.httpd.shutdown()
