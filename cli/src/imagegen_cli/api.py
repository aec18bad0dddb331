"""The HTTP side: POST /generate-image and the download of the images through their presigned URLs.

Plain urllib keeps the client free of HTTP dependencies. Every failure leaves this module as an
``ApiError`` (the other side answered with an error, or with something unusable), a ``NetworkError``
(nothing usable answered) or a ``ConfigError`` (the URL or key given cannot be used). Whatever the
other side sends is read up to a bound and never trusted for its shape.
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
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from imagegen_cli import __version__
from imagegen_cli.console import one_line
from imagegen_cli.errors import ApiError, ConfigError, NetworkError
from imagegen_cli.urls import url_problem

USER_AGENT = f"imagegen-cli/{__version__}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
MAX_ANSWER_BYTES = 1024 * 1024  # the API's answer is a few KB of URLs; an error body is smaller still
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # the largest model output (4096x4096 RGB) is far below this
MAX_IMAGES_IN_ANSWER = 5  # the API's documented maximum per request
_MAX_ERROR_BODY = 64 * 1024
_CHUNK = 64 * 1024
_API_KEY = re.compile(r"[!-~]{1,1024}")


def api_key_problem(key: str) -> str | None:
    """Why ``key`` cannot travel in the x-api-key header, or None (never quotes the key: it is a secret)."""
    if _API_KEY.fullmatch(key):
        return None
    return "it must be visible ASCII characters only (no spaces, line breaks or accented letters)"


class ImagegenApi:
    """A client for one deployment of the API: its full POST URL (``.../generate-image``) and API key.

    ``call`` is the one HTTP exchange every route goes through (the jobs client uses it too): the API key
    header, bounded reads, and every failure as an ApiError, NetworkError or ConfigError.
    """

    def __init__(self, url: str, api_key: str | None, timeout: float = 120.0) -> None:
        problem = url_problem(url)
        if problem:
            raise ConfigError(f"the API URL cannot be used: {problem}")
        if api_key is not None and api_key_problem(api_key):
            raise ConfigError(f"the API key cannot be sent: {api_key_problem(api_key)}")
        self.url = url
        self.api_key = api_key
        self.timeout = timeout

    def generate(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST the request body; the API's JSON answer (a dict with a non-empty image list), or a CliError."""
        return _checked_answer(self.call("POST", self.url, body))

    def call(
        self, method: str, url: str, body: dict[str, Any] | None = None, *, max_bytes: int = MAX_ANSWER_BYTES
    ) -> Any:
        """One request to ``url`` (of this API) with the API key; the JSON value of a 2xx answer of at most
        ``max_bytes``. Any other answer is an ApiError (the API's own error code when its body has one)."""
        problem = url_problem(url)
        if problem:  # a URL built from a checked base and a quoted id: only its length can be at fault
            raise ConfigError(f"the API URL cannot be used: {problem}")
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        headers = {"accept": "application/json", "user-agent": USER_AGENT}
        if data is not None:
            headers["content-type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (checked)
        if self.api_key:  # a stack deployed with ApiAuth other than API_KEY takes none
            request.add_header("x-api-key", self.api_key)
        try:
            with _network_errors(url, self.timeout), _urlopen(request, self.timeout) as response:
                raw = response.read(max_bytes + 1)
                if len(raw) <= max_bytes:
                    _check_complete(response, len(raw), url)
        except urllib.error.HTTPError as exc:
            error = _api_error(exc, url, self.timeout)
            error.api_key_sent = bool(self.api_key)
            raise error from None
        if len(raw) > max_bytes:
            raise ApiError("bad_response", f"the answer is larger than {max_bytes // 1024} KiB", status=200)
        answer = _json_or_none(raw)
        if answer is None:
            raise ApiError("bad_response", f"the answer is not JSON: {one_line(raw[:100])}", status=200)
        return answer


def _checked_answer(answer: Any) -> dict[str, Any]:
    """The answer if it has the shape of a success (an object with 1-5 images, each with a URL); ApiError
    otherwise. Whether each URL can be downloaded is found out image by image."""
    if not isinstance(answer, dict) or not isinstance(answer.get("images"), list):
        raise ApiError("bad_response", f"the answer has no image list: {one_line(answer, 100)}", status=200)
    checked_images(answer["images"], "the answer", "lists", body=answer, request_id=answer.get("request_id"))
    return answer


def checked_images(images: Any, what: str, listed: str, *, body: Any, request_id: Any = None) -> list[dict[str, Any]]:
    """``images`` when it is a list of 1 to MAX_IMAGES_IN_ANSWER objects, each with a text URL; ApiError
    ``bad_response`` otherwise, saying ``f"{what} {listed} {count} images"``. The one check of an image list, for the
    answer of POST /generate-image and for a succeeded job."""
    if not isinstance(images, list) or not 1 <= len(images) <= MAX_IMAGES_IN_ANSWER:
        count = len(images) if isinstance(images, list) else "no"
        message = f"{what} {listed} {count} images (expected 1 to {MAX_IMAGES_IN_ANSWER})"
        raise ApiError("bad_response", message, status=200, request_id=request_id, body=body)
    for index, image in enumerate(images, start=1):
        if not isinstance(image, dict) or not isinstance(image.get("url"), str):
            message = f"image {index} of {what} is not an object with a URL: {one_line(image, 100)}"
            raise ApiError("bad_response", message, status=200, request_id=request_id, body=body)
    return images


def download(url: str, path: Path, timeout: float = 60.0) -> int:
    """Save one image from its presigned URL to ``path``; the number of bytes. Only a whole PNG is kept:
    on any failure nothing is left at ``path`` (the bytes go to ``<path>.part`` until they are complete)."""
    problem = url_problem(url)
    if problem:
        raise ApiError("bad_response", f"the image URL cannot be used: {problem}", status=200)
    request = urllib.request.Request(url, headers={"user-agent": USER_AGENT})  # noqa: S310 (checked above)
    partial = path.with_name(path.name + ".part")
    try:
        with _local_file_errors(path), partial.open("w+b") as out:
            size = _copy_png(request, url, timeout, out)
        with _local_file_errors(path):
            os.replace(partial, path)
        return size
    finally:
        with suppress(OSError):
            partial.unlink(missing_ok=True)


def _copy_png(request: urllib.request.Request, url: str, timeout: float, out: Any) -> int:
    try:
        with _network_errors(url, timeout), _urlopen(request, timeout) as response:
            first = response.read(len(PNG_SIGNATURE))
            if first != PNG_SIGNATURE:
                raise ApiError("not_png", f"the download is not a PNG image (starts with {first!r})", status=200)
            out.write(first)
            size = len(first)
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    message = f"the download is larger than {MAX_IMAGE_BYTES:,} bytes, more than any image"
                    raise ApiError("too_large", message, status=200)
                out.write(chunk)
            _check_complete(response, size, url)
    except urllib.error.HTTPError as exc:
        raise ApiError(_s3_code(exc, timeout), f"HTTP {exc.code} from the image URL", status=exc.code) from None
    if not _ends_like_png(out, size):
        raise ApiError("not_png", "the download is not a whole PNG image (it has no IEND chunk at its end)", status=200)
    return size


def _check_complete(response: http.client.HTTPResponse, received: int, url: str) -> None:
    """http.client returns a body cut short by a closed connection as if it were whole: compare with the
    Content-Length the server declared."""
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and len(declared) < 20 and int(declared) != received:
        raise NetworkError(f"the connection to {_origin(url)} ended after {received:,} of {int(declared):,} bytes")


def _ends_like_png(out: Any, size: int) -> bool:
    """Every PNG ends with its IEND chunk: an empty chunk of that type, with a fixed checksum."""
    if size < len(PNG_SIGNATURE) + len(PNG_END):
        return False
    out.flush()
    out.seek(-len(PNG_END), os.SEEK_END)
    return bool(out.read(len(PNG_END)) == PNG_END)


@contextmanager
def _local_file_errors(path: Path) -> Iterator[None]:
    """Writing the image failed on this machine (disk full, permissions): say so, as a failed download."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, ConnectionError | TimeoutError):
            raise
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


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
        raise NetworkError(f"the connection to {_origin(url)} failed: {one_line(repr(exc), 200)}") from None
    except UnicodeError:  # a host name the IDNA codec refuses (url_problem should have caught it)
        raise ConfigError(f"{_origin(url)} is not a valid host name") from None


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
    return one_line(reason, 200)


def _origin(url: str) -> str:
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*", url)
    return one_line(match.group(0) if match else url, 100)


def _json_or_none(raw: bytes) -> Any:
    """The JSON value of ``raw``, or None when it is not JSON (or nested too deep to parse)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _error_body(exc: urllib.error.HTTPError, timeout: float) -> bytes:
    """Up to _MAX_ERROR_BODY bytes of an error answer; what arrived before the connection failed."""
    if exc.fp is None:
        return b""
    try:
        with _network_errors(exc.url or "", timeout):
            return exc.read(_MAX_ERROR_BODY)
    except NetworkError:
        return b""


def _api_error(exc: urllib.error.HTTPError, url: str, timeout: float) -> ApiError:
    raw = _error_body(exc, timeout)
    retry_after = exc.headers.get("Retry-After") if exc.headers else None
    body = _json_or_none(raw)
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
    message = f"not an imagegen error body: {_snippet(raw) or one_line(exc.reason, 100)}"
    return ApiError(f"http_{exc.code}", message, status=exc.code, body=body, api_url=url)


def _snippet(raw: bytes) -> str:
    """A short, one-line view of a body that is not ours: an HTML page's title, or its first characters."""
    text = raw[:4096].decode("utf-8", "replace")
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    return one_line(title.group(1) if title else text, 120)


def _s3_code(exc: urllib.error.HTTPError, timeout: float) -> str:
    """The <Code> of S3's XML error (AccessDenied, ExpiredToken, ...) when there is one."""
    raw = _error_body(exc, timeout).decode("utf-8", "replace")
    match = re.search(r"<Code>([A-Za-z0-9._-]{1,64})</Code>", raw)
    return match.group(1) if match else f"http_{exc.code}"
