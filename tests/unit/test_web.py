"""The web page's files and headers (imagegen_core.web): self-contained, versioned, cached, under a strict CSP; and
GET /config, read from the catalog. The page in a browser: tests/e2e/web; its script's logic: tests/web."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagegen_core.catalog import BY_ID, DEFAULT_MODEL_ID, STABILITY_ASPECT_RATIOS
from imagegen_core.service import default_service
from imagegen_core.web import (
    CACHE_FOR_A_YEAR,
    REVALIDATE,
    asset_answer,
    assets,
    client_config,
    content_security_policy,
    page_answer,
    page_base,
    render_page,
)

ORIGIN = "http://127.0.0.1:4566"


class PageParts(HTMLParser):
    """Every tag of a page with its attributes, and the text inside each <script> and <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_code: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._inside = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside and data.strip():
            self.inline_code.append(data)


def parsed(page: str) -> PageParts:
    parts = PageParts()
    parts.feed(page)
    return parts


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


# --- the files ---------------------------------------------------------------------------------------------


def test_the_page_has_no_inline_code_and_links_only_its_own_versioned_files() -> None:
    # when
    parts = parsed(render_page("/v1/"))

    # then no script or style is inline, no element has an event handler or a style attribute
    assert parts.inline_code == []
    attributes = [name for _, attrs in parts.tags for name in attrs]
    assert not [name for name in attributes if name.startswith("on") or name == "style"]
    # and every file it loads is one of its own, at its current version, relative to the base
    loaded = [attrs.get("src") or attrs.get("href") or "" for tag, attrs in parts.tags if tag in ("script", "link")]
    assert sorted(loaded) == sorted(f"static/{name}?v={assets()[name].version}" for name in ("app.css", "app.mjs"))
    assert ("base", {"href": "/v1/"}) in parts.tags


def test_nothing_in_the_page_s_files_points_anywhere_but_the_api() -> None:
    # given the page and every file it ships
    texts = {"index.html": render_page("/v1/"), **{name: asset.body for name, asset in assets().items()}}

    # then no absolute URL, no CSS import or url(), and modules import only each other
    for name, text in texts.items():
        assert not re.search(r"(?i)\b(https?:)?//[a-z0-9]", text), name
        assert "@import" not in text, name
        assert "url(" not in text, name
    for name in (name for name in texts if name.endswith(".mjs")):
        for specifier in re.findall(r"""\bfrom\s*["']([^"']+)["']""", texts[name]):
            assert specifier.startswith("./"), (name, specifier)
            assert specifier.split("?")[0][2:] in assets(), (name, specifier)


def test_a_module_imports_the_other_at_its_current_version_so_a_cached_page_loads_no_file_twice() -> None:
    # when
    files = assets()

    # then
    assert f'from "./api.mjs?v={files["api.mjs"].version}"' in files["app.mjs"].body
    assert {asset.content_type for asset in files.values()} == {
        "text/css; charset=utf-8",
        "text/javascript; charset=utf-8",
    }


def test_a_file_at_its_current_version_is_cached_for_a_year_and_any_other_url_is_revalidated() -> None:
    # given
    css = assets()["app.css"]

    # when
    current = asset_answer("app.css", css.version, None)
    unversioned = asset_answer("app.css", None, None)
    stale = asset_answer("app.css", "0" * 16, None)

    # then
    assert current is not None
    assert unversioned is not None
    assert stale is not None
    assert (current.status, current.headers["Cache-Control"], current.body) == (200, CACHE_FOR_A_YEAR, css.body)
    assert unversioned.headers["Cache-Control"] == stale.headers["Cache-Control"] == REVALIDATE
    assert current.headers["ETag"] == f'"{css.version}"'
    assert current.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("header", ['"{v}"', 'W/"{v}"', '"other", "{v}"'])
def test_an_unchanged_file_is_answered_304_without_a_body(header: str) -> None:
    # given
    script = assets()["api.mjs"]

    # when
    answer = asset_answer("api.mjs", None, header.format(v=script.version))

    # then
    assert answer is not None
    assert (answer.status, answer.body, answer.headers["ETag"]) == (304, "", script.etag)


def test_a_changed_file_is_answered_whole() -> None:
    answer = asset_answer("api.mjs", None, '"0000000000000000"')
    assert answer is not None
    assert answer.status == 200
    assert answer.body


@given(name=st.text(max_size=40), version=st.none() | st.text(max_size=20), tag=st.none() | st.text(max_size=40))
def test_any_name_version_or_etag_is_answered_and_only_the_files_are_served(
    name: str, version: str | None, tag: str | None
) -> None:
    # when
    answer = asset_answer(name, version, tag)

    # then
    if name not in assets():
        assert answer is None
    else:
        assert answer is not None
        assert answer.status in (200, 304)


# --- the page's base and headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_path", "expected"),
    [
        ("/v1", "/v1/"),
        ("/v1/", "/v1/"),
        ("/", "/"),
        ("/images/", "/images/"),
        (None, "/v1/"),
        ("", "/v1/"),
        ('/v1/"><script>', "/v1/"),
    ],
)
def test_the_base_is_the_stage_root_the_browser_reached(request_path: str | None, expected: str) -> None:
    assert page_base(request_path, "v1") == expected


@given(request_path=st.text(max_size=60))
def test_whatever_the_request_path_the_base_is_a_plain_path_and_the_page_carries_it_as_such(request_path: str) -> None:
    # when
    base = page_base(request_path, "v1")

    # then
    assert re.fullmatch(r"/([A-Za-z0-9._~-]+/)*", base)
    assert ("base", {"href": base}) in parsed(render_page(base)).tags


def test_the_policy_allows_this_api_s_scripts_styles_and_calls_and_images_from_where_they_are_stored() -> None:
    # when
    policy = directives(content_security_policy((ORIGIN, "https://b.s3.eu-west-1.amazonaws.com")))

    # then
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == policy["style-src"] == policy["connect-src"] == ["'self'"]
    assert policy["img-src"] == [ORIGIN, "https://b.s3.eu-west-1.amazonaws.com"]
    assert policy["frame-ancestors"] == policy["form-action"] == ["'none'"]
    assert policy["require-trusted-types-for"] == ["'script'"]
    assert not [value for values in policy.values() for value in values if "unsafe" in value or value == "*"]


def test_the_page_is_revalidated_on_every_visit_and_carries_the_policy() -> None:
    # when
    answer = page_answer("/v1/", (ORIGIN,))

    # then
    assert answer.content_type == "text/html; charset=utf-8"
    assert answer.headers["Cache-Control"] == REVALIDATE
    assert directives(answer.headers["Content-Security-Policy"])["img-src"] == [ORIGIN]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


# --- GET /config ----------------------------------------------------------------------------------------------


def test_the_default_model_s_choices_are_the_catalog_s_with_stability_s_aspect_ratios() -> None:
    # when
    config = client_config(default_service(), date(2026, 1, 1))

    # then
    spec = BY_ID[DEFAULT_MODEL_ID]
    assert config["model"] == {
        "model_id": DEFAULT_MODEL_ID,
        "foundation_model_id": DEFAULT_MODEL_ID,
        "name": spec.name,
        "family": "stability",
        "lifecycle": {"status": "ACTIVE", "legacy_since": None, "end_of_life": None},
    }
    limits = config["limits"]
    assert [(size["width"], size["height"]) for size in limits["sizes"]] == list(spec.limits.sizes)
    assert {size["label"] for size in limits["sizes"]} == {
        f"{w}x{h} ({ratio})" for (w, h), ratio in STABILITY_ASPECT_RATIOS.items()
    }
    assert (limits["max_images"], limits["seed_max"]) == (1, spec.limits.seed_max)
    assert (limits["prompt_max_chars"], limits["negative_prompt_max_chars"]) == (10_000, 10_000)
    assert config["defaults"] == {"width": 1024, "height": 1024, "number_of_images": 1}
    assert config["options"] == {}


def test_titan_s_choices_add_its_options_with_the_request_model_s_bounds_and_its_end_of_life(titan: str) -> None:
    # when
    before: dict[str, Any] = client_config(default_service(), date(2026, 6, 1))
    after: dict[str, Any] = client_config(default_service(), date(2026, 7, 1))

    # then
    assert before["model"]["lifecycle"] == {"status": "ACTIVE", "legacy_since": None, "end_of_life": "2026-06-30"}
    assert after["model"]["lifecycle"]["status"] == "END_OF_LIFE"
    assert before["model"]["family"] == "amazon"
    assert before["limits"]["max_images"] == 5
    assert before["limits"]["sizes"][0] == {"width": 1024, "height": 1024, "label": "1024x1024"}
    assert before["options"] == {
        "cfg_scale": {"default": 8.0, "minimum": 1.1, "maximum": 10.0},
        "quality": {"default": "standard", "enum": ["standard", "premium"]},
    }
    assert before["model"]["model_id"] == titan


def test_an_inference_profile_shows_its_own_id_and_its_foundation_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setenv("MODEL_ID", f"us.{DEFAULT_MODEL_ID}")

    # when
    model = client_config(default_service(), date(2026, 1, 1))["model"]

    # then
    assert (model["model_id"], model["foundation_model_id"]) == (f"us.{DEFAULT_MODEL_ID}", DEFAULT_MODEL_ID)
