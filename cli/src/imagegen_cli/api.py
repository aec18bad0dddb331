"""The HTTP side: POST /generate-image and the download of the images through their presigned URLs.

Plain urllib keeps the client free of HTTP dependencies. Every failure leaves this module as an
``ApiError`` (the other side answered with an error) or a ``NetworkError`` (nothing usable answered).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imagegen_cli import __version__
from imagegen_cli.errors import ApiError, ConfigError, NetworkError

USER_AGENT = f"imagegen-cli/{__version__}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_ERROR_BODY = 64 * 1024
_CHUNK = 64 * 1024


class ImagegenApi:
    """A client for one deployment of the API (its full POST URL and API key)."""

    def __init__(self, url: str, api_key: str | None, timeout: float = 120.0) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise ConfigError(f"the API URL must start with https:// (or http:// locally), not {url!r}")
        self.url = url
        self.api_key = api_key
        self.timeout = timeout

    def generate(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST the request body; the API's JSON answer, or ApiError / NetworkError."""
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self.url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"content-type": "application/json", "accept": "application/json", "user-agent": USER_AGENT},
        )
        if self.api_key:  # a stack deployed with ApiAuth other than API_KEY takes none
            request.add_header("x-api-key", self.api_key)
        try:
            with _network_errors(self.url, self.timeout), _urlopen(request, self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            error = _api_error(exc, self.url)
            error.api_key_sent = bool(self.api_key)
            raise error from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise ApiError("bad_response", f"the answer is not JSON: {raw[:200]!r}", status=200) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("images"), list):
            raise ApiError("bad_response", f"the answer has no image list: {str(answer)[:200]}", status=200)
        return answer


def download(url: str, path: Path, timeout: float = 60.0) -> int:
    """Save one image from its presigned URL to ``path``; the number of bytes. Only a PNG is kept."""
    if not url.lower().startswith(("http://", "https://")):
        raise ApiError("bad_response", f"the image URL is not an HTTP URL: {url[:100]!r}", status=200)
    request = urllib.request.Request(url, headers={"user-agent": USER_AGENT})  # noqa: S310 (checked above)
    partial = path.with_name(path.name + ".part")
    try:
        with _network_errors(url, timeout), _urlopen(request, timeout) as response, partial.open("wb") as out:
            first = response.read(len(PNG_SIGNATURE))
            if first != PNG_SIGNATURE:
                raise ApiError("not_png", f"the download is not a PNG image (starts with {first!r})", status=200)
            out.write(first)
            size = len(first)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                size += len(chunk)
        os.replace(partial, path)
        return size
    except urllib.error.HTTPError as exc:
        raise ApiError(_s3_code(exc), f"HTTP {exc.code} from the image URL", status=exc.code) from None
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def _network_errors(url: str, timeout: float) -> Iterator[None]:
    """Every way of not getting a (whole) answer, from connecting to reading, as a NetworkError."""
    try:
        yield
    except urllib.error.HTTPError:
        raise
    except urllib.error.URLError as exc:
        raise NetworkError(f"could not reach {_origin(url)}: {_reason(exc.reason)}") from None
    except TimeoutError:
        raise NetworkError(f"{_origin(url)} did not answer within {timeout:g} seconds") from None
    except (ConnectionError, http.client.HTTPException, ssl.SSLError) as exc:
        raise NetworkError(f"the connection to {_origin(url)} failed: {exc!r}") from None


def _urlopen(request: urllib.request.Request, timeout: float) -> http.client.HTTPResponse:
    response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (the user's own URL)
    return response


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the service running, and is the URL right?)"
    if isinstance(reason, socket.gaierror):
        return "the host name could not be resolved (DNS)"
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason)


def _origin(url: str) -> str:
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*", url)
    return match.group(0) if match else url


def _api_error(exc: urllib.error.HTTPError, url: str) -> ApiError:
    raw = exc.read(_MAX_ERROR_BODY) if exc.fp is not None else b""
    retry_after = exc.headers.get("Retry-After") if exc.headers else None
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        details = error.get("details")
        return ApiError(
            error["code"],
            str(error.get("message", "")),
            status=exc.code,
            details=details if isinstance(details, list) else None,
            request_id=body.get("request_id") if isinstance(body, dict) else None,
            retry_after=retry_after,
            body=body,
            api_url=url,
        )
    snippet = raw[:200].decode("utf-8", "replace").strip() or exc.reason
    message = f"not an imagegen error body: {snippet}"
    return ApiError(f"http_{exc.code}", message, status=exc.code, body=body, api_url=url)


def _s3_code(exc: urllib.error.HTTPError) -> str:
    """The <Code> of S3's XML error (AccessDenied, ExpiredToken, ...) when there is one."""
    raw = exc.read(_MAX_ERROR_BODY).decode("utf-8", "replace") if exc.fp is not None else ""
    match = re.search(r"<Code>([^<]+)</Code>", raw)
    return match.group(1) if match else f"http_{exc.code}"
