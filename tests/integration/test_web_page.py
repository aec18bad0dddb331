"""The web page through the API function, as API Gateway invokes it (events/api_web_page.json): the page, its files,
GET /config, and the links the page puts on a job's images. In a real browser: tests/e2e/web."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from generate_image.app import lambda_handler as api_handler
from imagegen_core.web import assets
from local.bedrock_standin import BedrockStandin
from local.lambda_context import LambdaContext
from tests.helpers import call, deliver, load_event, response_headers
from tests.integration.conftest import Queues

Answer = tuple[int, dict[str, str], str]


def get(path: str, context: LambdaContext, *, headers: dict[str, str] | None = None, **query: str) -> Answer:
    """GET ``path`` as a browser asks for it (no API key), through the function."""
    event: dict[str, Any] = copy.deepcopy(load_event("api_web_page"))
    event.update(path=path, resource="/static/{name}" if path.startswith("/static/") else path)
    event["requestContext"]["path"] = f"/v1{path}"
    event["queryStringParameters"] = query or None
    event["headers"] = {**event["headers"], **(headers or {})}
    event["multiValueHeaders"] = None
    if path.startswith("/static/"):
        event["pathParameters"] = {"name": path.removeprefix("/static/")}
    response = api_handler(event, context)
    return response["statusCode"], response_headers(response), response["body"]


def csp(headers: dict[str, str]) -> dict[str, list[str]]:
    policy = headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


def test_the_page_is_served_without_a_key_with_its_base_and_a_strict_policy(
    aws: Any, lambda_context: LambdaContext
) -> None:
    # when a browser opens the stage's root (events/api_web_page.json: no x-api-key)
    response = api_handler(load_event("api_web_page"), lambda_context)

    # then it gets the page, rooted at the stage, under the policy
    assert response["statusCode"] == 200
    headers = response_headers(response)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<base href="/v1/">' in response["body"]
    assert csp(headers)["script-src"] == ["'self'"]
    assert headers["Cache-Control"] == "no-cache"


def test_the_policy_allows_images_from_exactly_where_the_job_s_presigned_urls_point(
    queues: Queues,
    standin: BedrockStandin,
    lambda_context: LambdaContext,
) -> None:
    # given a job that succeeded
    _, _, created = call("POST", "/jobs", lambda_context, {"prompt": "a lighthouse", "seed": 5})
    deliver(queues.url, lambda_context)
    _, _, job = call("GET", f"/jobs/{created['job_id']}", lambda_context)
    [image] = job["images"]

    # when the page is served
    _, headers, _ = get("/", lambda_context)

    # then both of its image links come from an origin the policy allows
    allowed = csp(headers)["img-src"]
    for url in (image["url"], image["download_url"]):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" in allowed
    # and the download link asks S3 for an attachment named after the job
    disposition = dict(parse_qsl(urlsplit(image["download_url"]).query))["response-content-disposition"]
    assert disposition == f'attachment; filename="imagegen-{created["job_id"]}-0-seed-5.png"'


def test_a_file_is_served_with_its_type_and_cached_at_its_version(aws: Any, lambda_context: LambdaContext) -> None:
    # given
    script = assets()["app.mjs"]

    # when
    status, headers, body = get("/static/app.mjs", lambda_context, v=script.version)

    # then
    assert (status, body) == (200, script.body)
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_file_the_browser_already_has_is_a_304(aws: Any, lambda_context: LambdaContext) -> None:
    # when
    status, headers, body = get("/static/app.css", lambda_context, headers={"If-None-Match": assets()["app.css"].etag})

    # then
    assert (status, body) == (304, "")
    assert headers["ETag"] == assets()["app.css"].etag


@pytest.mark.parametrize("name", ["nope.js", "index.html", "..%2Fapi.py", "app.mjs.map"])
def test_anything_but_the_page_s_files_is_a_json_404(name: str, aws: Any, lambda_context: LambdaContext) -> None:
    # when
    status, headers, body = get(f"/static/{name}", lambda_context)

    # then
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "not_found"


def test_config_names_the_configured_model_and_its_choices(aws: Any, lambda_context: LambdaContext) -> None:
    # when
    status, _, config = call("GET", "/config", lambda_context)

    # then
    assert status == 200
    assert config["model"]["model_id"] == "stability.stable-image-core-v1:1"
    assert config["limits"]["max_images"] == 1
    assert {"width": 1344, "height": 768, "label": "1344x768 (16:9)"} in config["limits"]["sizes"]
