"""Whether a URL can be used for an HTTP request at all, decided before any request is made.

urllib, http.client and botocore each fail differently on a broken URL (ValueError, UnicodeError,
InvalidURL, OverflowError, a DNS lookup of garbage), some of them only after connecting. One check,
here, turns all of those into a sentence the caller can put in its own error.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 8192  # presigned URLs with a session token are a few KB
_VISIBLE_ASCII = re.compile(r"[!-~]+")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be used for an HTTP(S) request, or None when it can."""
    if not url:
        return "it is empty"
    if len(url) > MAX_URL_LENGTH:
        return f"it is {len(url):,} characters long (at most {MAX_URL_LENGTH:,})"
    if not _VISIBLE_ASCII.fullmatch(url):
        return "it holds spaces, control characters or non-ASCII characters (percent-encode them)"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        return f"it is not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "it must start with https:// (or http:// locally)"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL (user:password@) are not supported"
    if port == 0:
        return "port 0 is not a port to connect to"
    return _host_problem(parts)


def _host_problem(parts: SplitResult) -> str | None:
    host = parts.hostname
    if not host:
        return "it has no host name"
    if parts.netloc.split("@")[-1].startswith("["):
        return None  # urlsplit has already checked the IPv6 literal
    try:
        ipaddress.IPv4Address(host)
        return None
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return f"{host[:60]!r} is not a valid host name"
    return None
