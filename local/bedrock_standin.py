"""A stand-in for Amazon Bedrock's image models, data and control plane. It is NOT an AI model.

It speaks the real wire formats (rest-json; errors named by the ``x-amzn-ErrorType`` header) of both
``bedrock-runtime`` (``POST /model/{modelId}/invoke``) and ``bedrock`` (``GET /foundation-models``,
``/foundation-models/{id}``, ``/inference-profiles[/{id}]``) on one port, so boto3 pointed at it with
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` / ``AWS_ENDPOINT_URL_BEDROCK`` cannot tell it from Bedrock. It knows
today's image models from its own catalog (:mod:`local.bedrock_catalog`): which exist in the region a request
is signed for, which reached their end of life, each model's limits, and whether the account has subscribed to
the AWS Marketplace models (:mod:`local.bedrock_account`). It answers with real, deterministic
PNG test patterns labelled "STAND-IN", and can be told to be slow, to throttle (by dice, words or a token-bucket
quota), to time out, to filter content, to suffer an untyped outage or to spoil its images.

    python -m local.bedrock_standin --port 4567 --latency-ms 200 --quota-rps 2 --quota-burst 2
"""

from __future__ import annotations

import argparse
import base64
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local.api_shim import TokenBucket
from local.bedrock_account import MARKETPLACE_DENIED, Account
from local.bedrock_catalog import CatalogError, ModelSpec, Target, resolve_invocation
from local.bedrock_control_plane import Caller, answer, operation_of
from local.bedrock_faults import outage_reply, spoil
from local.bedrock_formats import (
    FAILURES,
    BedrockError,
    ImageRequest,
    Reply,
    amazon_request,
    decode_body,
    prompt_of,
    service_request,
    stability_request,
)
from local.bedrock_settings import BAD_OUTPUTS, OUTAGE_STATUSES, ConfigError, StandinSettings
from local.png import DETAILS, render_image

__all__ = ["BedrockStandin", "Invocation", "StandinSettings", "main"]

logger = logging.getLogger(__name__)

ENV_PREFIX = StandinSettings.env_prefix
DEFAULT_PORT = 4567
BLOCKED_INPUT = "This request has been blocked by our content filters."
BLOCKED_OUTPUT = "The generated image has been blocked by our content filters."
THROTTLED = FAILURES["ThrottlingException"]
TIMED_OUT = FAILURES["ModelTimeoutException"]

_INVOKE_PATH = re.compile(r"^/model/(?P<model>[^/]+)/invoke$")
_CREDENTIAL_SCOPE = re.compile(
    r"Credential=(?P<access_key>[^/,\s]+)/\d{8}/(?P<region>[a-z0-9-]+)/[a-z0-9-]+/aws4_request"
)


@dataclass(frozen=True)
class Invocation:
    """One InvokeModel call as the stand-in saw it."""

    model_id: str
    body: dict[str, Any]
    status: int
    error: str | None = None  # the error code (x-amzn-ErrorType) when Bedrock named one
    region: str = ""  # the region the call was signed for
    fault: str | None = None  # the knob that made it fail or spoilt its answer (e.g. "quota", "outage_words")


class BedrockStandin:
    """The stand-in server. ``port=0`` takes any free port; :attr:`url` tells which after :meth:`start`.

    ``clock`` (seconds, monotonic) paces the quota's token buckets: tests pass a fake one to be deterministic.
    """

    def __init__(
        self,
        settings: StandinSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._initial = settings or StandinSettings()
        self._settings = self._initial
        self._host, self._port = host, port
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: list[Invocation] = []
        self._buckets: dict[str, TokenBucket] = {}
        self._agreements: set[str] = set()  # Marketplace models subscribed since marketplace_unsubscribed was set
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
        """A copy of the InvokeModel calls received so far, oldest first."""
        with self._lock:
            return list(self._calls)

    @property
    def throttled_calls(self) -> int:
        """How many InvokeModel calls were answered ThrottlingException (quota, dice or words)."""
        with self._lock:
            return sum(call.error == "ThrottlingException" for call in self._calls)

    @property
    def subscriptions(self) -> frozenset[str]:
        """The AWS Marketplace models the account subscribed to since ``marketplace_unsubscribed`` was set."""
        with self._lock:
            return frozenset(self._agreements)

    def account(self) -> Account:
        """The account as a call sees it now: fresh or not, who may subscribe, the agreements made since."""
        with self._lock:
            settings = self._settings
            subscribers = frozenset(settings.marketplace_subscribers)
            return Account(settings.marketplace_unsubscribed, subscribers, frozenset(self._agreements))

    def configure(self, **changes: Any) -> StandinSettings:
        """Change knobs while running, e.g. ``configure(latency_ms=200, quota_rps=2)``; the quota starts afresh,
        and setting ``marketplace_unsubscribed`` forgets the agreements made (a fresh account again)."""
        with self._lock:
            self._settings = self._settings.with_changes(**changes)
            if "random_seed" in changes:
                self._random = random.Random(self._settings.random_seed)
            if "marketplace_unsubscribed" in changes:
                self._agreements.clear()
            self._buckets.clear()
            return self._settings

    def reset(self) -> None:
        """Forget the calls and agreements, and go back to the settings given at construction (a full quota, the
        first dice)."""
        with self._lock:
            self._calls.clear()
            self._buckets.clear()
            self._agreements.clear()
            self._settings = self._initial
            self._random = random.Random(self._initial.random_seed)

    # -- the operations --------------------------------------------------------------------------------

    def invoke(self, model_id: str, raw_body: bytes, region: str | None = None, access_key: str | None = None) -> Reply:
        """Answer one InvokeModel call signed for ``region`` (default: the ``region`` knob) with the access key id
        ``access_key`` (None: a Bedrock API key, which may not subscribe to Marketplace models), and record it."""
        settings = self.settings
        region = region or settings.region
        body: dict[str, Any] = {}
        malformed: BedrockError | None = None
        try:
            body = decode_body(raw_body)
        except BedrockError as exc:
            malformed = exc  # Bedrock looks at the model id first
        try:
            reply, fault = self._answer(model_id, region, access_key, body, malformed, settings)
        except BedrockError as exc:
            reply, fault = exc.reply(), exc.fault
        return self.record(model_id, body, reply, region, fault)

    def control(
        self,
        operation: str,
        identifier: str | None,
        query: Mapping[str, Sequence[str]],
        region: str | None = None,
        access_key: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Answer one control-plane call (GetFoundationModel, ListFoundationModels, ...) for ``region``; a
        CreateFoundationModelAgreement that succeeds subscribes the account."""
        settings = self.settings
        region = region or settings.region
        caller = Caller(region, settings.date_today(), frozenset(settings.eol_models), access_key, self.account())
        reply = answer(operation, identifier, query, caller, body)
        if operation == "CreateFoundationModelAgreement" and reply.status == 202:
            self._subscribe(str(reply.body["modelId"]))
        return reply

    def record(
        self, model_id: str, body: dict[str, Any], reply: Reply, region: str = "", fault: str | None = None
    ) -> Reply:
        with self._lock:
            self._calls.append(Invocation(model_id, body, reply.status, reply.error, region, fault))
        return reply

    def wait_latency(self) -> None:
        """Hold the answer for ``latency_ms`` (cut short when the server stops)."""
        latency = self.settings.latency_ms
        if latency:
            self._stopping.wait(latency / 1000)

    # -- InvokeModel, step by step ---------------------------------------------------------------------

    def _answer(
        self,
        model_id: str,
        region: str,
        access_key: str | None,
        body: dict[str, Any],
        malformed: BedrockError | None,
        settings: StandinSettings,
    ) -> tuple[Reply, str | None]:
        prompt = prompt_of(body).lower()
        outage = _word_fault(prompt, settings, "outage_words") or self._dice(settings, "outage_rate")
        if outage:  # a front door that never reached Bedrock
            return outage_reply(settings.outage_status), outage
        target = _resolve(model_id, region, settings)
        self._marketplace(target.model, access_key)
        if settings.fail_with:
            raise BedrockError(settings.fail_with, FAILURES[settings.fail_with], fault="fail_with")
        if not self._within_quota(target.quota_key, settings):
            raise BedrockError("ThrottlingException", THROTTLED, fault="quota")
        if malformed is not None:
            raise malformed
        if self._dice(settings, "throttle_rate"):
            raise BedrockError("ThrottlingException", THROTTLED, fault="throttle_rate")
        request = _validated(target, body)
        throttled = _word_fault(prompt, settings, "throttle_words")
        if throttled:
            raise BedrockError("ThrottlingException", THROTTLED, fault=throttled)
        timed_out = _word_fault(prompt, settings, "error_words") or self._dice(settings, "error_rate")
        if timed_out:
            raise BedrockError("ModelTimeoutException", TIMED_OUT, fault=timed_out)
        reply = _generate(target, request, prompt, settings)
        spoilt = _spoiling(prompt, settings)
        if spoilt is None or not reply.body.get("images"):
            return reply, None
        kind, fault = spoilt
        return Reply(reply.status, spoil(reply.body, kind)), fault

    def _marketplace(self, model: ModelSpec, access_key: str | None) -> None:
        """A Marketplace model the account has no agreement for: subscribe, if the caller may; else refuse."""
        account = self.account()
        if account.has_agreement(model):
            return
        if not account.may_subscribe(access_key):
            raise BedrockError("AccessDeniedException", MARKETPLACE_DENIED, fault="marketplace")
        self._subscribe(model.model_id)

    def _subscribe(self, model_id: str) -> None:
        with self._lock:
            self._agreements.add(model_id)
            logger.info("the account subscribed to %s on AWS Marketplace", model_id)

    def _dice(self, settings: StandinSettings, knob: str) -> str | None:
        """``knob`` (a rate knob's name) when its dice say so, else None."""
        rate: float = getattr(settings, knob)
        if rate <= 0.0:
            return None
        with self._lock:
            return knob if self._random.random() < rate else None

    def _within_quota(self, key: str, settings: StandinSettings) -> bool:
        """Take a token from the model's bucket (one per model or profile); always True without a quota."""
        if settings.quota_rps <= 0:
            return True
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(settings.quota_rps, settings.quota_burst, self._clock)
        return bucket.take()


# -- answers -------------------------------------------------------------------------------------------


def _resolve(model_id: str, region: str, settings: StandinSettings) -> Target:
    try:
        return resolve_invocation(model_id, region, settings.date_today(), frozenset(settings.eol_models))
    except CatalogError as exc:
        raise BedrockError(exc.code, exc.message) from None


def _validated(target: Target, body: dict[str, Any]) -> ImageRequest:
    model = target.model
    if model.format == "stability-service":
        service_request(body, model.model_id)  # always refuses: services are not emulated
    if model.format == "stability":
        return stability_request(body, model.limits)
    return amazon_request(body, model.limits)


def _generate(target: Target, request: ImageRequest, prompt: str, settings: StandinSettings) -> Reply:
    model_id = target.model.model_id
    input_blocked = _contains(prompt, settings.filter_words)
    output_blocked = _contains(prompt, settings.output_filter_words)
    if target.model.format == "stability":
        if input_blocked or output_blocked:  # Stability answers 200 with the reason and no image
            reason = "Filter reason: prompt" if input_blocked else "Filter reason: output image"
            return Reply(200, {"finish_reasons": [reason]})
        image = _image(model_id, request, 0, settings)
        return Reply(200, {"seeds": [request.seed], "finish_reasons": [None], "images": [image]})
    if input_blocked:
        raise BedrockError("ValidationException", BLOCKED_INPUT)
    if output_blocked:
        return Reply(200, {"images": [], "error": BLOCKED_OUTPUT})
    images = [_image(model_id, request, index, settings) for index in range(request.count)]
    return Reply(200, {"images": images, "error": None})


def _image(model_id: str, request: ImageRequest, index: int, settings: StandinSettings) -> str:
    png = render_image(
        model_id, request.prompt, request.seed, request.width, request.height, index, settings.image_detail
    )
    return base64.b64encode(png).decode("ascii")


def _spoiling(prompt: str, settings: StandinSettings) -> tuple[str, str] | None:
    """How the answer's images are to be spoilt, and the knob that says so (words first, then ``bad_output``)."""
    for kind, knob in zip(BAD_OUTPUTS, ("corrupt_words", "not_png_words", "fewer_words"), strict=True):
        if _contains(prompt, getattr(settings, knob)):
            return kind, knob
    return (settings.bad_output, "bad_output") if settings.bad_output else None


def _word_fault(prompt: str, settings: StandinSettings, knob: str) -> str | None:
    """``knob`` (a word-list knob's name) when the prompt contains one of its words, else None."""
    return knob if _contains(prompt, getattr(settings, knob)) else None


def _contains(prompt: str, words: Sequence[str]) -> bool:
    return any(word.lower() in prompt for word in words if word)


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
        parts = urlsplit(self.path)
        denied = _check_auth(self.headers)
        region, access_key = _signed_for(self.headers)
        invoke = _INVOKE_PATH.match(parts.path) if self.command == "POST" else None
        control = operation_of(self.command, parts.path)
        if invoke is not None:
            model_id = unquote(invoke["model"])
            operation = f"InvokeModel {model_id}"
            if denied:
                reply = standin.record(model_id, {}, denied.reply(), region or "")
            else:
                reply = standin.invoke(model_id, raw_body, region, access_key)
            if reply.error != "ThrottlingException":  # Bedrock refuses over-quota calls at once, without generating
                standin.wait_latency()
        elif control is not None:
            operation = " ".join(filter(None, control))
            query = parse_qs(parts.query)
            if denied:
                reply = denied.reply()
            else:
                reply = standin.control(*control, query, region, access_key, _json_object(raw_body))
        else:
            operation, reply = f"{self.command} {self.path}", _unknown_operation()
        self._send(reply)
        logger.info(
            "%s -> %s%s (%.0f ms)",
            operation,
            reply.status,
            f" {reply.error}" if reply.error else "",
            (time.perf_counter() - started) * 1000,
        )

    def _send(self, reply: Reply) -> None:
        if reply.html is not None:  # a front door's page: no Bedrock headers at all
            payload, content_type = reply.html.encode(), "text/html"
        else:
            payload, content_type = json.dumps(reply.body).encode(), "application/json"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if reply.html is None:
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


def _signed_for(headers: Message) -> tuple[str | None, str | None]:
    """The region and access key id of the SigV4 credential (``Credential=AKID/20261129/us-west-2/bedrock/...``).

    The endpoint is 127.0.0.1, so the scope is the only place a request says which region it means; the access key
    id is who asks (the stand-in's only notion of an identity). A Bedrock API key (``Bearer``) says neither: the
    ``region`` knob applies, and the caller may not subscribe to Marketplace models.
    """
    match = _CREDENTIAL_SCOPE.search(headers.get("Authorization") or "")
    return (match["region"], match["access_key"]) if match else (None, None)


def _json_object(raw_body: bytes) -> dict[str, Any]:
    """A control-plane request's JSON body; anything else counts as empty (its required members are then missing)."""
    try:
        body = json.loads(raw_body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _unknown_operation() -> Reply:
    body = {"Output": {"__type": "com.amazon.coral.service#UnknownOperationException", "message": None}}
    return Reply(404, {**body, "Version": "1.0"}, "UnknownOperationException")


# -- command line --------------------------------------------------------------------------------------

_BANNER = """\
Bedrock stand-in listening on {url}
  *** NOT an AI model: it answers InvokeModel with labelled PNG test patterns. ***
  Point boto3 at it:  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={url} AWS_ENDPOINT_URL_BEDROCK={url}
  Settings: {settings!r}
  Ctrl-C to stop."""

_FLAGS: dict[str, str] = {
    "latency_ms": "milliseconds added to every InvokeModel answer but a throttled one (default 0)",
    "throttle_rate": "probability 0..1 of a ThrottlingException (default 0)",
    "error_rate": "probability 0..1 of a ModelTimeoutException (default 0)",
    "random_seed": "seed of the rate knobs' dice (default 0)",
    "filter_words": "comma-separated words the input filter blocks (default forbidden)",
    "output_filter_words": "comma-separated words the output filter blocks (default unsafe-output)",
    "throttle_words": "comma-separated words that always throttle (default throttle-me)",
    "error_words": "comma-separated words that always time out (default timeout-me)",
    "eol_models": "comma-separated model ids to treat as past their end of life, too (default none)",
    "fail_with": "make every InvokeModel call fail with this Bedrock error",
    "image_detail": "noisy: ~1.5 MB at 1024x1024 (default); flat: small",
    "today": "the date the stand-in goes by, e.g. 2026-06-01 (default: today's date)",
    "region": "the region of requests that do not sign for one (default us-west-2)",
    "quota_rps": "InvokeModel requests per second per model before ThrottlingException (default 0: no quota)",
    "quota_burst": "requests the quota lets through at once (default 1)",
    "outage_rate": "probability 0..1 of an untyped outage: HTML, no x-amzn-ErrorType (default 0)",
    "outage_words": "comma-separated words that always meet the outage (default outage-me)",
    "outage_status": "the outage's HTTP status (default 503)",
    "bad_output": "spoil every image answer: corrupt (bad base64), not-png, fewer (default off)",
    "corrupt_words": "comma-separated words that get images that are not base64 (default corrupt-me)",
    "not_png_words": "comma-separated words that get images that are not PNGs (default not-png-me)",
    "fewer_words": "comma-separated words that get one image fewer than asked (default fewer-me)",
    "marketplace_unsubscribed": "a fresh account: no AWS Marketplace model (Stability's) subscribed yet",
    "marketplace_subscribers": "comma-separated access key ids allowed aws-marketplace:Subscribe (default none)",
}
_SWITCHES = frozenset({"marketplace_unsubscribed"})  # flags without a value
_CHOICES: dict[str, Sequence[str]] = {
    "fail_with": tuple(FAILURES),
    "image_detail": DETAILS,
    "outage_status": tuple(str(status) for status in OUTAGE_STATUSES),
    "bad_output": BAD_OUTPUTS,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.bedrock_standin",
        description=(
            "A local stand-in for Amazon Bedrock's image models (InvokeModel) and control plane "
            "(GetFoundationModel, ListFoundationModels, GetInferenceProfile, GetFoundationModelAvailability, the "
            "Marketplace agreements). NOT an AI model: it answers with "
            "deterministic PNG test patterns labelled STAND-IN. Every option can also be set with an "
            f"environment variable {ENV_PREFIX}<OPTION> (e.g. {ENV_PREFIX}LATENCY_MS); options win."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for any free one (default {DEFAULT_PORT})"
    )
    for name, text in _FLAGS.items():
        flag = f"--{name.replace('_', '-')}"
        if name in _SWITCHES:
            parser.add_argument(flag, dest=name, action="store_const", const="true", help=text)
        else:
            parser.add_argument(flag, dest=name, choices=_CHOICES.get(name), help=text)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every HTTP request line too")
    return parser


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> StandinSettings:
    """The environment's settings with the command line's flags on top; errors name the flag or variable."""
    flags = {name: getattr(args, name) for name in _FLAGS if getattr(args, name) is not None}
    try:
        return StandinSettings.from_env(environ, **flags)
    except ConfigError as exc:
        message = str(exc)
        for name in flags:
            flag = f"option --{name.replace('_', '-')}"
            message = message.replace(f"environment variable {StandinSettings.env_name(name)}", flag)
        raise ConfigError(message) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    try:
        settings = settings_from(args, os.environ)
    except ConfigError as exc:
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
