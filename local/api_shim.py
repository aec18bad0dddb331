"""API Gateway, locally: HTTP requests in, REST API proxy events to the function, its answers back out.

What it does as the deployed REST API does (and the rest is documented in docs/local-stack.md):

- routes: the template's ``Api`` events (``POST /generate-image``), reachable as ``/generate-image``
  and as ``/<stage>/generate-image``; anything else is API Gateway's 403 "Missing Authentication Token".
- the API key: header ``x-api-key`` on methods that require one; missing or wrong gives the template's
  INVALID_API_KEY gateway response (403 with our JSON error body).
- the event: the proxy event Lambda receives (shape of events/api_generate_image.json), a fresh
  ``requestContext.requestId`` per request, ``X-Forwarded-*`` headers added.
- the answer: the function's ``statusCode``/``headers``/``multiValueHeaders``/``body``; a function error or
  a malformed answer gives 502 "Internal server error", a call over 29 s gives 504.
- gateway responses: rendered from the template's ``GatewayResponses`` (``$context.requestId``,
  ``$context.error.messageString`` ...), falling back to API Gateway's defaults.

One route is the local stack's own, not the template's: ``GET /local-stack.json`` (also under the stage) gives
the web page the local API key, so that the page opened after ``make local`` works at once. The page asks for
it only when it was loaded from 127.0.0.1 or localhost; a deployed API has no such route, and no deployed key
is ever known here. The answer has no CORS header, so no page of another origin can read it.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from local.containers import Invocation, PoolStoppedError

ACCOUNT_ID = "123456789012"
API_ID = "local"
INTEGRATION_TIMEOUT_SECONDS = 29
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
LOCAL_SETTINGS_PATH = "/local-stack.json"

# API Gateway's own status, message and x-amzn-ErrorType for each gateway response we can produce.
BUILTIN_RESPONSES: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLargeException"),
    "INTEGRATION_FAILURE": (502, "Internal server error", "InternalServerErrorException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
}

Invoke = Callable[[dict[str, Any], str], Invocation]
LogLine = Callable[[str], None]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


@dataclass(frozen=True)
class Route:
    resource: str  # as API Gateway names it, with {name} for a path parameter: /jobs/{job_id}
    method: str
    api_key_required: bool

    def parameters(self, path: str) -> dict[str, str] | None:
        """The path parameters when ``path`` is this route's (each one segment, as API Gateway matches), else None."""
        wanted, given = self.resource.strip("/").split("/"), path.strip("/").split("/")
        if len(wanted) != len(given):
            return None
        found: dict[str, str] = {}
        for pattern, segment in zip(wanted, given, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not segment:
                    return None
                found[pattern[1:-1]] = unquote(segment)
            elif pattern != segment:
                return None
        return found


class RouteMatch(NamedTuple):
    """A request's route, its path without the stage prefix, and the path parameters found in that path."""

    route: Route
    path: str
    parameters: dict[str, str]


@dataclass(frozen=True)
class GatewayResponse:
    """One entry of the template's GatewayResponses (status, headers, application/json template)."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    template: str | None = None


@dataclass(frozen=True)
class ApiDefinition:
    stage: str
    routes: tuple[Route, ...]  # kept in the order match() tries them: literal routes first
    gateway_responses: Mapping[str, GatewayResponse] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Literal routes first, as API Gateway prefers /jobs/latest to /jobs/{job_id} (a stable sort: otherwise
        # the template's order).
        by_precedence = tuple(sorted(self.routes, key=lambda route: route.resource.count("{")))
        object.__setattr__(self, "routes", by_precedence)

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route, the stage-less path and the path parameters for ``path`` (with or without the stage
        prefix); None when no route has it."""
        stage_prefix = f"/{self.stage}"
        if path == stage_prefix or path.startswith(stage_prefix + "/"):
            path = path[len(stage_prefix) :] or "/"
        for route in self.routes:
            if route.method in (method, "ANY") and (parameters := route.parameters(path)) is not None:
                return RouteMatch(route, path, parameters)
        return None


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def build_api_event(
    request: HttpRequest,
    *,
    matched: RouteMatch,
    stage: str,
    request_id: str,
    api_key: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The REST API proxy event API Gateway sends to Lambda for ``request`` (``matched``: its route)."""
    route, path = matched.route, matched.path
    split = urlsplit(request.target)
    headers = _forwarded_headers(request, now)
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query = parse_qsl(split.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    body, is_base64 = _event_body(request.body)
    host = single_headers.get("Host") or single_headers.get("host") or "127.0.0.1"
    user_agent = next((value for name, value in headers if name.lower() == "user-agent"), None)
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": request.method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": matched.parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local00",
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:10]).decode(),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
                "apiKey": api_key,
                "apiKeyId": "local-api-key-id" if api_key else None,
            },
            "domainName": host,
            "apiId": API_ID,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def proxy_answer(result: Any) -> HttpAnswer | None:
    """The HTTP answer a Lambda proxy result describes; None when API Gateway would call it malformed."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return None
    headers: list[tuple[str, str]] = []
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        return None
    for name, values in multi.items():
        if not isinstance(values, list):
            return None
        headers.extend((name, str(value)) for value in values)
    multi_names = {name.lower() for name in multi}
    headers.extend((name, str(value)) for name, value in single.items() if name.lower() not in multi_names)
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        return None
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            return None
    else:
        raw = body.encode()
    return HttpAnswer(result["statusCode"], headers, raw)


def gateway_answer(
    api: ApiDefinition, response_type: str, request_id: str, resource_path: str | None = None
) -> HttpAnswer:
    """API Gateway's own answer (``response_type`` as in GatewayResponses), customised by the template."""
    status, message, error_type = BUILTIN_RESPONSES[response_type]
    default_type = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    custom = api.gateway_responses.get(response_type) or api.gateway_responses.get(default_type) or GatewayResponse()
    context = {
        "requestId": request_id,
        "stage": api.stage,
        "resourcePath": resource_path or "",
        "error.message": message,
        "error.messageString": json.dumps(message),
        "error.responseType": response_type,
    }
    body = render_template(custom.template or DEFAULT_TEMPLATE, context)
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
    headers += [(name, value) for name, value in custom.headers.items() if name.lower() != "content-type"]
    content_type = next((value for name, value in custom.headers.items() if name.lower() == "content-type"), None)
    if content_type:
        headers[0] = ("Content-Type", content_type)
    return HttpAnswer(custom.status or status, headers, body.encode())


def render_template(template: str, context: Mapping[str, str]) -> str:
    """The ``$context.x`` / ``${context.x}`` references of a gateway response template, filled in."""

    def value(match: re.Match[str]) -> str:
        return context.get(match.group(1) or match.group(2), "")

    return re.sub(r"\$\{context\.([A-Za-z.]+)\}|\$context\.([A-Za-z]+(?:\.[A-Za-z]+)*)", value, template)


class TokenBucket:
    """API Gateway's stage throttle: ``rate`` requests a second on average, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """True when a request may pass now (and counts it); False when API Gateway would answer 429."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class ApiGateway:
    """Answers one HTTP request the way the deployed API does; the HTTP server around it is ``ApiShim``."""

    def __init__(
        self,
        api: ApiDefinition,
        api_key: str,
        invoke: Invoke,
        log: LogLine,
        throttle: TokenBucket | None = None,
        *,
        page_settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.api = api
        self._api_key = api_key
        self._invoke = invoke
        self._log = log
        self._throttle = throttle
        self._page_settings = page_settings

    def handle(self, request: HttpRequest) -> HttpAnswer:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        answer = self._answer(request, request_id)
        elapsed_ms = (time.monotonic() - started) * 1000
        self._log(f"{request.method} {urlsplit(request.target).path} -> {answer.status} ({elapsed_ms:.0f} ms)")
        headers = [*answer.headers, ("x-amzn-RequestId", request_id), ("x-amz-apigw-id", request_id[:16])]
        return HttpAnswer(answer.status, headers, answer.body)

    def _answer(self, request: HttpRequest, request_id: str) -> HttpAnswer:
        if self._page_settings is not None and self._is_local_settings(request):
            body = json.dumps(self._page_settings).encode()
            headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
            return HttpAnswer(200, [*headers, ("X-Content-Type-Options", "nosniff")], body)
        matched = self.api.match(request.method, urlsplit(request.target).path)
        if matched is None:
            return gateway_answer(self.api, "MISSING_AUTHENTICATION_TOKEN", request_id)
        route = matched.route
        key = next((value for name, value in request.headers if name.lower() == "x-api-key"), None)
        if route.api_key_required and not (key and hmac.compare_digest(key.encode(), self._api_key.encode())):
            return gateway_answer(self.api, "INVALID_API_KEY", request_id, route.resource)
        if self._throttle is not None and not self._throttle.take():
            return gateway_answer(self.api, "THROTTLED", request_id, route.resource)
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return gateway_answer(self.api, "REQUEST_TOO_LARGE", request_id, route.resource)
        event = build_api_event(
            request,
            matched=matched,
            stage=self.api.stage,
            request_id=request_id,
            api_key=key if route.api_key_required else None,
            now=datetime.now(UTC),
        )
        started = time.monotonic()
        try:
            invocation = self._invoke(event, str(uuid.uuid4()))
        except PoolStoppedError:
            return gateway_answer(self.api, "INTEGRATION_FAILURE", request_id, route.resource)
        if time.monotonic() - started > INTEGRATION_TIMEOUT_SECONDS:
            return gateway_answer(self.api, "INTEGRATION_TIMEOUT", request_id, route.resource)
        if not invocation.ok:
            error = invocation.error or {}
            self._log(f"function error {error.get('errorType')}: {error.get('errorMessage')} (502 to the caller)")
            return gateway_answer(self.api, "INTEGRATION_FAILURE", request_id, route.resource)
        answer = proxy_answer(invocation.result)
        if answer is None:
            self._log("malformed Lambda proxy response (502 to the caller)")
            return gateway_answer(self.api, "INTEGRATION_FAILURE", request_id, route.resource)
        return answer

    def _is_local_settings(self, request: HttpRequest) -> bool:
        path = urlsplit(request.target).path
        paths = (LOCAL_SETTINGS_PATH, f"/{self.api.stage}{LOCAL_SETTINGS_PATH}")
        return request.method in ("GET", "HEAD") and path in paths


class _HttpServer(ThreadingHTTPServer):
    """Keeps its connections, so that closing can end idle keep-alive ones (clients may hold them open)."""

    request_queue_size = 128  # socketserver's 5 drops connections under a burst; the client retries after 1 s

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.closing = False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def end_connections(self) -> None:
        self.closing = True
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not self.closing:
            super().handle_error(request, client_address)


class ApiShim:
    """A threaded HTTP server on 127.0.0.1 in front of ``ApiGateway``."""

    def __init__(self, gateway: ApiGateway, host: str, port: int) -> None:
        self.gateway = gateway
        self._server = _HttpServer((host, port), _handler_class(gateway))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="api-shim", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop_accepting(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait forever for a loop that never ran
            self._server.shutdown()

    def close(self) -> None:
        """End idle connections, wait for requests in flight (their containers are stopped), free the port."""
        self.stop_accepting()
        self._server.end_connections()
        self._server.server_close()
        if self._thread.ident is not None:
            self._thread.join()


def _handler_class(gateway: ApiGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no delayed-ACK stall between an answer's headers and its body
        server_version = "imagegen-local-api"

        def do_request(self) -> None:
            body = self._read_body()
            request = HttpRequest(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
            answer = gateway.handle(request)
            self.send_response(answer.status)
            for name, value in answer.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_request

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def log_message(self, format: str, *args: Any) -> None:
            pass  # ApiGateway logs one line per request itself

    return Handler


def _forwarded_headers(request: HttpRequest, now: datetime) -> list[tuple[str, str]]:
    """The client's headers plus what API Gateway adds (X-Forwarded-*, X-Amzn-Trace-Id)."""
    added_names = {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"}
    headers = [(name, value) for name, value in request.headers if name.lower() not in added_names]
    host = next((value for name, value in request.headers if name.lower() == "host"), "")
    forwarded = next((value for name, value in request.headers if name.lower() == "x-forwarded-for"), None)
    port = host.rsplit(":", 1)[1] if ":" in host else "80"
    trace_id = f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}"
    return [
        *headers,
        ("X-Amzn-Trace-Id", trace_id),
        ("X-Forwarded-For", f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip),
        ("X-Forwarded-Port", port),
        ("X-Forwarded-Proto", "http"),
    ]


def _event_body(raw: bytes) -> tuple[str | None, bool]:
    """Text bodies as they are; anything that is not UTF-8 base64-encoded (isBase64Encoded)."""
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), True
