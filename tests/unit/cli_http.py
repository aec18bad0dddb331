"""A tiny HTTP server on 127.0.0.1:0 that answers canned bodies: the CLI's tests talk real HTTP to it.

It stands in for both sides the CLI reaches over HTTP: the API's POST /generate-image and the presigned
URLs the images are downloaded from. Each path answers what the test put there; every request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers import tiny_png


@dataclass
class Canned:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    declared_length: int | None = None  # a Content-Length other than the body's: the connection ends early


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class CannedServer(ThreadingHTTPServer):
    """Answers each path with its canned response; records what it received; can hold a request open."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Canned] = {}
        self.received: list[Received] = []
        self.release = threading.Event()  # set at teardown: frees a request held open by /hang

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(
        self,
        path: str,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        declared_length: int | None = None,
    ) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        kind = "image/png" if isinstance(body, bytes) else "application/json"
        self.routes[path] = Canned(status, raw, {"Content-Type": kind, **(headers or {})}, declared_length)

    def posts(self) -> list[Received]:
        return [request for request in self.received if request.method == "POST"]


class _Handler(BaseHTTPRequestHandler):
    server: CannedServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        received = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        self.server.received.append(received)
        if self.path == "/hang":
            self.server.release.wait(timeout=10)
            return
        canned = self.server.routes.get(self.path, Canned(404, b'{"message": "no route"}'))
        self.send_response(canned.status)
        for name, value in canned.headers.items():
            self.send_header(name, value)
        length = canned.declared_length if canned.declared_length is not None else len(canned.body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(canned.body)
        if canned.declared_length is not None:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass


@contextmanager
def running_server() -> Iterator[CannedServer]:
    httpd = CannedServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()


def success_body(server: CannedServer, count: int, size: int = 64) -> dict[str, Any]:
    """The API's answer for ``count`` images whose presigned URLs point back at ``server``."""
    images = []
    for index in range(count):
        path = f"/bucket/team-a/api/req-1/{index}.png"
        server.answer(path, 200, tiny_png(size, size))
        images.append(
            {
                "bucket": "bucket",
                "key": f"team-a/api/req-1/{index}.png",
                "s3_uri": f"s3://bucket/team-a/api/req-1/{index}.png",
                "url": server.base + path,
                "width": size,
                "height": size,
            }
        )
    return {"request_id": "4f9c2d1e-0000-4000-8000-000000000001", "model_id": "m", "seed": 7, "images": images}
