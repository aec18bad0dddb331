"""A stand-in for Amazon Bedrock's InvokeModel, for image models. It is NOT an AI model.

It speaks the real ``bedrock-runtime`` wire format (rest-json: ``POST /model/{modelId}/invoke``, errors
named by the ``x-amzn-ErrorType`` header), so boto3 pointed at it with
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:PORT`` cannot tell it from Bedrock. It validates request
bodies the way the Amazon (Titan Image Generator, Nova Canvas) and Stability models do, answers with real,
deterministic PNG test patterns labelled "STAND-IN", and can be told to be slow, to throttle, to time out
or to filter content. moto's own bedrock-runtime answers ``{}``, hence this.

    python -m local.bedrock_standin --port 4567 --latency-ms 200 --throttle-rate 0.1
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import logging
import os
import random
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from local.bedrock_formats import (
    END_OF_LIFE,
    FAILURES,
    BedrockError,
    ImageRequest,
    Reply,
    amazon_request,
    decode_body,
    resolve_model,
    stability_request,
)
from local.png import DETAILS, render_image

logger = logging.getLogger(__name__)

ENV_PREFIX = "BEDROCK_STANDIN_"
DEFAULT_PORT = 4567
BLOCKED_INPUT = "This request has been blocked by our content filters."
BLOCKED_OUTPUT = "The generated image has been blocked by our content filters."
THROTTLED = FAILURES["ThrottlingException"]
TIMED_OUT = FAILURES["ModelTimeoutException"]

_INVOKE_PATH = re.compile(r"^/model/(?P<model>[^/]+)/invoke$")


class SettingsError(ValueError):
    """A knob with a bad value; ``field`` names it so that callers can say where it came from."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class StandinSettings:
    """The knobs. Each is also an environment variable ``BEDROCK_STANDIN_<FIELD>`` and a CLI flag."""

    latency_ms: int = 0
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    random_seed: int = 0
    filter_words: tuple[str, ...] = ("forbidden",)
    output_filter_words: tuple[str, ...] = ("unsafe-output",)
    throttle_words: tuple[str, ...] = ("throttle-me",)
    error_words: tuple[str, ...] = ("timeout-me",)
    eol_models: tuple[str, ...] = ()
    image_detail: str = "noisy"
    fail_with: str = ""  # an error code (e.g. AccessDeniedException) that every call then fails with

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if isinstance(field.default, tuple):
                object.__setattr__(self, field.name, _words(getattr(self, field.name)))
        if self.latency_ms < 0:
            raise SettingsError("latency_ms", f"must be 0 or more, not {self.latency_ms}")
        for name in ("throttle_rate", "error_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise SettingsError(name, f"must be between 0 and 1, not {getattr(self, name)}")
        if self.fail_with and self.fail_with not in FAILURES:
            raise SettingsError("fail_with", f"must be one of {', '.join(FAILURES)}, not {self.fail_with!r}")
        if self.image_detail not in DETAILS:
            raise SettingsError("image_detail", f"must be one of {', '.join(DETAILS)}, not {self.image_detail!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StandinSettings:
        """Settings from ``BEDROCK_STANDIN_*`` variables (lists comma-separated); others keep defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = ENV_PREFIX + field.name.upper()
            if name in environ:
                try:
                    values[field.name] = _parse(environ[name], field.default)
                except ValueError:
                    raise ValueError(f"{name} must be {_kind(field.default)}, not {environ[name]!r}") from None
        try:
            return cls(**values)
        except SettingsError as exc:
            raise ValueError(f"{ENV_PREFIX}{exc.field.upper()} {exc.problem}") from None


@dataclass(frozen=True)
class Invocation:
    """One InvokeModel call as the stand-in saw it."""

    model_id: str
    body: dict[str, Any]
    status: int
    error: str | None = None  # the error code (x-amzn-ErrorType) when status is not 200


class BedrockStandin:
    """The stand-in server. ``port=0`` takes any free port; :attr:`url` tells which after :meth:`start`."""

    def __init__(self, settings: StandinSettings | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._initial = settings or StandinSettings()
        self._settings = self._initial
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._calls: list[Invocation] = []
        self._random = random.Random(self._initial.random_seed)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> BedrockStandin:
        """Bind and serve in a background thread (each request in its own daemon thread)."""
        if self._server is not None:
            raise RuntimeError("the Bedrock stand-in is already running")
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="bedrock-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; requests waiting out their latency are cut short."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> BedrockStandin:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Bedrock stand-in is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- knobs and records -----------------------------------------------------------------------------

    @property
    def settings(self) -> StandinSettings:
        with self._lock:
            return self._settings

    @property
    def calls(self) -> list[Invocation]:
        """A copy of the calls received so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def configure(self, **changes: Any) -> StandinSettings:
        """Change knobs while running, e.g. ``configure(latency_ms=200, throttle_rate=0.5)``."""
        with self._lock:
            self._settings = dataclasses.replace(self._settings, **changes)
            if "random_seed" in changes:
                self._random = random.Random(self._settings.random_seed)
            return self._settings

    def reset(self) -> None:
        """Forget the calls and go back to the settings given at construction."""
        with self._lock:
            self._calls.clear()
            self._settings = self._initial
            self._random = random.Random(self._initial.random_seed)

    # -- the operation ---------------------------------------------------------------------------------

    def invoke(self, model_id: str, raw_body: bytes) -> Reply:
        """Answer one InvokeModel call (without the HTTP around it) and record it."""
        settings = self.settings
        body: dict[str, Any] = {}
        malformed: BedrockError | None = None
        try:
            body = decode_body(raw_body)
        except BedrockError as exc:
            malformed = exc  # Bedrock looks at the model id first
        try:
            base_id, family = resolve_model(model_id)
            if model_id in settings.eol_models or base_id in settings.eol_models:
                raise BedrockError("ResourceNotFoundException", END_OF_LIFE)
            if settings.fail_with:
                raise BedrockError(settings.fail_with, FAILURES[settings.fail_with])
            if malformed is not None:
                raise malformed
            reply = self._answer(base_id, family, body, settings)
        except BedrockError as exc:
            reply = exc.reply()
        return self.record(model_id, body, reply)

    def record(self, model_id: str, body: dict[str, Any], reply: Reply) -> Reply:
        with self._lock:
            self._calls.append(Invocation(model_id, body, reply.status, reply.error))
        return reply

    def wait_latency(self) -> None:
        """Hold the answer for ``latency_ms`` (cut short when the server stops)."""
        latency = self.settings.latency_ms
        if latency:
            self._stopping.wait(latency / 1000)

    def _chance(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        with self._lock:
            return self._random.random() < rate

    def _answer(self, base_id: str, family: str, body: dict[str, Any], settings: StandinSettings) -> Reply:
        if self._chance(settings.throttle_rate):
            raise BedrockError("ThrottlingException", THROTTLED)
        request = stability_request(body) if family == "stability" else amazon_request(body, nova=family == "nova")
        prompt = request.prompt.lower()
        if _contains(prompt, settings.throttle_words):
            raise BedrockError("ThrottlingException", THROTTLED)
        if _contains(prompt, settings.error_words) or self._chance(settings.error_rate):
            raise BedrockError("ModelTimeoutException", TIMED_OUT)
        input_blocked = _contains(prompt, settings.filter_words)
        output_blocked = _contains(prompt, settings.output_filter_words)
        if family == "stability":
            return _stability_reply(base_id, request, settings, input_blocked, output_blocked)
        if input_blocked:
            raise BedrockError("ValidationException", BLOCKED_INPUT)
        if output_blocked:
            return Reply(200, {"images": [], "error": BLOCKED_OUTPUT})
        images = [_image(base_id, request, index, settings) for index in range(request.count)]
        return Reply(200, {"images": images, "error": None})


# -- answers -------------------------------------------------------------------------------------------


def _contains(prompt: str, words: Sequence[str]) -> bool:
    return any(word.lower() in prompt for word in words if word)


def _image(model_id: str, request: ImageRequest, index: int, settings: StandinSettings) -> str:
    png = render_image(
        model_id, request.prompt, request.seed, request.width, request.height, index, settings.image_detail
    )
    return base64.b64encode(png).decode("ascii")


def _stability_reply(
    model_id: str, request: ImageRequest, settings: StandinSettings, input_blocked: bool, output_blocked: bool
) -> Reply:
    if input_blocked:
        return Reply(200, {"seeds": [request.seed], "finish_reasons": ["Filter reason: prompt"], "images": []})
    if output_blocked:
        return Reply(200, {"seeds": [request.seed], "finish_reasons": ["Filter reason: output image"], "images": []})
    image = _image(model_id, request, 0, settings)
    return Reply(200, {"seeds": [request.seed], "finish_reasons": [None], "images": [image]})


# -- settings parsing ----------------------------------------------------------------------------------


def _words(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(word.strip() for word in items if word.strip())


def _parse(text: str, default: Any) -> Any:
    if isinstance(default, tuple):
        return _words(text)
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    return text


def _kind(default: Any) -> str:
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    return "text"


# -- HTTP ----------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], standin: BedrockStandin) -> None:
        self.standin = standin
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Answers are written as headers, then body; with Nagle's algorithm the body would wait for the client's
    # delayed ACK (up to 40 ms on Linux) on every call after the first of a kept-alive connection.
    disable_nagle_algorithm = True
    server: _Server
    server_version = "BedrockStandin/1.0"

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        started = time.perf_counter()
        standin = self.server.standin
        raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = _INVOKE_PATH.match(urlsplit(self.path).path)
        if self.command != "POST" or match is None:
            operation, reply = f"{self.command} {self.path}", _unknown_operation()
        else:
            model_id = unquote(match["model"])
            denied = _check_auth(self.headers)
            reply = standin.record(model_id, {}, denied.reply()) if denied else standin.invoke(model_id, raw_body)
            operation = f"InvokeModel {model_id}"
        standin.wait_latency()
        self._send(reply)
        logger.info(
            "%s -> %s%s (%.0f ms)",
            operation,
            reply.status,
            f" {reply.error}" if reply.error else "",
            (time.perf_counter() - started) * 1000,
        )

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if reply.error:
            namespace = (
                "com.amazon.coral.service" if reply.error == "UnknownOperationException" else "com.amazon.bedrock"
            )
            self.send_header("x-amzn-ErrorType", f"{reply.error}:http://internal.amazon.com/coral/{namespace}/")
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("the client went away before the answer")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


def _check_auth(headers: Message) -> BedrockError | None:
    """A SigV4 (or Bedrock API key) Authorization header must be there; signatures are not verified."""
    authorization = headers.get("Authorization")
    if not authorization:
        return BedrockError("MissingAuthenticationTokenException", "Missing Authentication Token")
    if authorization.startswith("Bearer ") and len(authorization) > len("Bearer "):
        return None
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or "Credential=" not in authorization:
        return BedrockError("IncompleteSignatureException", "Authorization header requires a valid AWS4-HMAC-SHA256.")
    if not headers.get("X-Amz-Date"):
        return BedrockError(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    return None


def _unknown_operation() -> Reply:
    body = {"Output": {"__type": "com.amazon.coral.service#UnknownOperationException", "message": None}}
    return Reply(404, {**body, "Version": "1.0"}, "UnknownOperationException")


# -- command line --------------------------------------------------------------------------------------

_BANNER = """\
Bedrock stand-in listening on {url}
  *** NOT an AI model: it answers InvokeModel with labelled PNG test patterns. ***
  Point boto3 at it:  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={url}
  Settings: {settings}
  Ctrl-C to stop."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.bedrock_standin",
        description=(
            "A local stand-in for Amazon Bedrock InvokeModel (image models). NOT an AI model: it answers with "
            "deterministic PNG test patterns labelled STAND-IN. Every option can also be set with an "
            f"environment variable {ENV_PREFIX}<OPTION> (e.g. {ENV_PREFIX}LATENCY_MS); options win."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for any free one (default {DEFAULT_PORT})"
    )
    parser.add_argument("--latency-ms", type=int, help="milliseconds added to every answer (default 0)")
    parser.add_argument("--throttle-rate", type=float, help="probability 0..1 of a ThrottlingException (default 0)")
    parser.add_argument("--error-rate", type=float, help="probability 0..1 of a ModelTimeoutException (default 0)")
    parser.add_argument("--random-seed", type=int, help="seed of the throttle/error dice (default 0)")
    parser.add_argument("--filter-words", help="comma-separated words the input filter blocks (default forbidden)")
    parser.add_argument(
        "--output-filter-words", help="comma-separated words the output filter blocks (default unsafe-output)"
    )
    parser.add_argument("--throttle-words", help="comma-separated words that always throttle (default throttle-me)")
    parser.add_argument("--error-words", help="comma-separated words that always time out (default timeout-me)")
    parser.add_argument("--eol-models", help="comma-separated model ids past their end of life (default none)")
    parser.add_argument("--fail-with", choices=FAILURES, help="make every call fail with this Bedrock error")
    parser.add_argument("--image-detail", choices=DETAILS, help="noisy: ~1.5 MB at 1024x1024 (default); flat: small")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every HTTP request line too")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    try:
        settings = StandinSettings.from_env()
        flags = {
            field.name: getattr(args, field.name)
            for field in dataclasses.fields(StandinSettings)
            if getattr(args, field.name) is not None
        }
        settings = dataclasses.replace(settings, **flags)
    except SettingsError as exc:
        parser.error(f"--{exc.field.replace('_', '-')} {exc.problem}")
    except ValueError as exc:
        parser.error(str(exc))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server = BedrockStandin(settings, host=args.host, port=args.port).start()
    except OSError as exc:
        parser.exit(1, f"cannot listen on {args.host}:{args.port}: {exc}\n")
    print(_BANNER.format(url=server.url, settings=settings), flush=True)
    stop.wait()
    server.stop()
    print("Bedrock stand-in stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
