"""A tiny HTTP server on 127.0.0.1:0 that answers canned bodies: the CLI's tests talk real HTTP to it.

It stands in for both sides the CLI reaches over HTTP: the API's routes (POST /generate-image, the jobs
routes) and the presigned URLs the images are downloaded from. Each path (with its query string) answers
what the test put there, or answers in turn (``answer_in_turn``: a job that moves from queued to running to
succeeded); every request is recorded.
"""

from __future__ import annotations

import json
import sys
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
        self.turns: dict[str, list[Canned]] = {}
        self.received: list[Received] = []
        self.release = threading.Event()  # set at teardown: frees a request held open by /hang

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (the CLI gave up on a slow or endless body) is no error of the
        server's; socketserver would print its traceback onto the stderr the tests read."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

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

    def answer_in_turn(self, path: str, answers: list[tuple[int, Any]]) -> None:
        """``path`` answers each (status, body) once, in order; the last one again and again."""
        self.turns[path] = []
        for status, body in answers:
            self.answer(path, status, body)
            self.turns[path].append(self.routes.pop(path))

    def requested(self, path: str) -> list[Received]:
        """The requests that asked for ``path`` (with its query string)."""
        return [request for request in self.received if request.path == path]

    def clear(self) -> None:
        self.routes.clear()
        self.turns.clear()
        self.received.clear()

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
        canned = self._canned()
        self.send_response(canned.status)
        for name, value in canned.headers.items():
            self.send_header(name, value)
        length = canned.declared_length if canned.declared_length is not None else len(canned.body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(canned.body)
        if canned.declared_length is not None:
            self.close_connection = True

    def _canned(self) -> Canned:
        turns = self.server.turns.get(self.path)
        if turns:
            return turns.pop(0) if len(turns) > 1 else turns[0]
        return self.server.routes.get(self.path, Canned(404, b'{"message": "no route"}'))

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
    request_id = "4f9c2d1e-0000-4000-8000-000000000001"  # the job id too, as POST /generate-image answers
    return {"request_id": request_id, "job_id": request_id, "model_id": "m", "seed": 7, "images": images}


JOB_ID = "5b0a3c8e-8d47-4c1e-9f57-1f2a7f3c4d5e"


def job_body(
    server: CannedServer, status: str, *, job_id: str = JOB_ID, images: int = 1, **extra: Any
) -> dict[str, Any]:
    """A job as ``GET /jobs/{id}`` shows it; a succeeded one has ``images`` PNGs served by ``server``."""
    body: dict[str, Any] = {
        "job_id": job_id,
        "status": status,
        "source": "queue",
        "model_id": "amazon.titan-image-generator-v2:0",
        "created_at": "2026-11-22T02:01:17.123Z",
        "updated_at": "2026-11-22T02:01:19.456Z",
        "attempts": 0 if status == "queued" else 1,
        "request": {"prompt": "a lighthouse at dawn", "number_of_images": images},
    }
    if status == "succeeded":
        body["images"] = []
        for index in range(images):
            path = f"/bucket/images/sqs/{job_id}/{index}.png"
            server.answer(path, 200, tiny_png(32, 24))
            key = f"images/sqs/{job_id}/{index}.png"
            body["images"].append({"key": key, "url": server.base + path, "width": 32, "height": 24})
    if status == "failed":
        body["error"] = {"code": "content_filtered", "message": "the content filter blocked the prompt"}
    return {**body, **extra}
