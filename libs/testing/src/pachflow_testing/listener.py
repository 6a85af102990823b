"""A credential listener on loopback: an HTTP server that answers every request with an
empty MLflow-shaped JSON page and records each request's path and Authorization header, to
prove where credentials are (and are not) sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Listener:
    uri: str
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Authorization)

    @property
    def authorizations(self) -> list[str]:
        return [auth for _, auth in self.requests if auth]


@contextmanager
def credential_listener() -> Iterator[Listener]:
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append((self.path, self.headers.get("Authorization", "")))
            body = json.dumps({"experiments": [], "runs": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:  # quiet
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Listener(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
