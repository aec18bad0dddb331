"""The web page (``GET /``), its static files (``GET /static/{name}``) and what it reads first (``GET /config``).

The files are shipped in this package (``imagegen_core/web/``): plain HTML, CSS and JavaScript modules, nothing
fetched from anywhere else. The page is a template with two kinds of placeholder: ``{{ base }}`` (the stage's
root, so that the page's relative URLs work at ``/v1`` as at ``/v1/``) and ``{{ static NAME }}`` (the file's
URL with its content hash, ``static/app.css?v=...``). A URL with the current hash may be cached for a year
(the hash changes with the content); any other answer is revalidated by its ETag. The modules' imports of each
other (``from "./api.mjs"``) get the hash too, so a cached page loads nothing but its API calls.

The page's Content-Security-Policy allows scripts and styles from this API only, no inline code, requests
to this API only, and images from where the presigned URLs point (``ImageStore.url_origins``); Trusted Types
make any HTML built from strings (``innerHTML``) an error, so a prompt can only ever be shown as text.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from imagegen_core.models import DEFAULT_SIZE, GenerationRequest

if TYPE_CHECKING:
    from imagegen_core.service import ImageService

PAGE = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
}
CACHE_FOR_A_YEAR = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_STATIC = re.compile(r"\{\{\s*static\s+([\w.-]+)\s*\}\}")
_BASE = re.compile(r"\{\{\s*base\s*\}\}")
_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])\./([\w.-]+\.mjs)\2""")
_SAFE_BASE = re.compile(r"^/(?:[A-Za-z0-9._~-]+/)*$")


@dataclass(frozen=True)
class Asset:
    name: str
    body: str
    content_type: str
    version: str  # the first 16 hex digits of the body's SHA-256

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def url(self) -> str:
        """Its URL relative to the page's base, with its version."""
        return f"static/{self.name}?v={self.version}"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: str
    headers: dict[str, str]


def _web_files() -> dict[str, str]:
    folder = files("imagegen_core") / "web"
    return {item.name: item.read_text(encoding="utf-8") for item in folder.iterdir() if item.is_file()}


@cache
def assets() -> dict[str, Asset]:
    """The static files by name (every file of ``web/`` but the page), read once per container."""
    raw = {name: body for name, body in _web_files().items() if name != PAGE and _content_type(name)}
    done: dict[str, Asset] = {}

    def asset(name: str, seen: tuple[str, ...] = ()) -> Asset:
        if name not in done:
            if name in seen:
                raise ValueError(f"web/{name} imports itself (through {' -> '.join(seen)})")
            body = _IMPORT.sub(lambda match: _versioned_import(match, asset, (*seen, name)), raw[name])
            version = hashlib.sha256(body.encode()).hexdigest()[:16]
            done[name] = Asset(name, body, _content_type(name) or "", version)
        return done[name]

    for name in raw:
        asset(name)
    return done


def _versioned_import(
    match: re.Match[str], asset: Callable[[str, tuple[str, ...]], Asset], seen: tuple[str, ...]
) -> str:
    keyword, quote, name = match.groups()
    return f"{keyword}{quote}./{name}?v={asset(name, seen).version}{quote}"


def _content_type(name: str) -> str | None:
    suffix = name[name.rfind(".") :] if "." in name else ""
    return CONTENT_TYPES.get(suffix)


@cache
def _page_template() -> str:
    return _web_files()[PAGE]


def render_page(base: str) -> str:
    """The page with its base (the stage's root, ``/v1/``) and its files' versioned URLs filled in."""
    static = assets()

    def url(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in static:
            raise KeyError(f"web/{PAGE} links web/{name}, which does not exist")
        return html.escape(static[name].url)

    return _BASE.sub(lambda _: html.escape(base), _STATIC.sub(url, _page_template()))


def page_base(request_path: str | None, stage: str) -> str:
    """The URL path of the stage's root as the browser reached it (``/v1/``, or ``/`` on a custom domain's root).

    For ``GET /``, API Gateway's ``requestContext.path`` is that root itself (``/v1`` or ``/v1/``); anything
    unexpected in it falls back to ``/<stage>/``.
    """
    for base in ((request_path or "").rstrip("/") + "/" if request_path else None, f"/{stage}/"):
        if base and _SAFE_BASE.match(base):
            return base
    return "/"


def content_security_policy(image_origins: tuple[str, ...]) -> str:
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "connect-src": "'self'",
        "img-src": " ".join(image_origins),
        "base-uri": "'self'",
        "form-action": "'none'",  # the form is sent by script (fetch); a form that would navigate is refused
        "frame-ancestors": "'none'",
        "require-trusted-types-for": "'script'",
        "trusted-types": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _common_headers() -> dict[str, str]:
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def page_answer(base: str, image_origins: tuple[str, ...]) -> Answer:
    headers = {
        **_common_headers(),
        "Cache-Control": REVALIDATE,
        "Content-Security-Policy": content_security_policy(image_origins),
        "X-Frame-Options": "DENY",
    }
    return Answer(200, CONTENT_TYPES[".html"], render_page(base), headers)


def asset_answer(name: str, version: str | None, if_none_match: str | None) -> Answer | None:
    """A static file: cached for a year at its current version's URL, else revalidated (304 when unchanged).
    None for a name that is not one of the files."""
    asset = assets().get(name)
    if asset is None:
        return None
    cache_control = CACHE_FOR_A_YEAR if version == asset.version else REVALIDATE
    headers = {**_common_headers(), "Cache-Control": cache_control, "ETag": asset.etag}
    if if_none_match is not None and asset.etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]:
        return Answer(304, asset.content_type, "", headers)
    return Answer(200, asset.content_type, asset.body, headers)


def client_config(service: ImageService, today: date) -> dict[str, Any]:
    """What the page needs to offer exactly the configured model's choices: all from the catalog and the
    request model, nothing restated."""
    spec, limits = service.model, service.model.limits
    schema = _request_schema()
    size = (DEFAULT_SIZE, DEFAULT_SIZE) if (DEFAULT_SIZE, DEFAULT_SIZE) in limits.sizes else limits.sizes[0]
    options: dict[str, Any] = {}
    for name in sorted(limits.options):  # the model's request fields beyond the common ones, with their bounds
        field = schema[name]
        options[name] = {key: field[key] for key in ("default", "minimum", "maximum", "enum") if key in field}
    return {
        "model": {
            "model_id": service.settings.model_id,
            "foundation_model_id": spec.model_id,
            "name": spec.name,
            "family": spec.family,
            "lifecycle": {
                "status": spec.lifecycle.status_on(today),
                "legacy_since": _iso(spec.lifecycle.legacy_since),
                "end_of_life": _iso(spec.lifecycle.end_of_life),
            },
        },
        "limits": {
            "prompt_max_chars": limits.prompt_max_chars,
            "negative_prompt_max_chars": limits.negative_prompt_max_chars,
            "seed_max": limits.seed_max,
            "max_images": limits.max_images,
            "sizes": [
                {"width": width, "height": height, "label": service.family.describe_size((width, height))}
                for width, height in limits.sizes
            ],
        },
        "defaults": {
            "width": size[0],
            "height": size[1],
            "number_of_images": schema["number_of_images"]["default"],
        },
        "options": options,
    }


@cache
def _request_schema() -> dict[str, Any]:
    properties: dict[str, Any] = GenerationRequest.model_json_schema()["properties"]
    return properties


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
