"""`imagegen generate` against a real HTTP exchange: a tiny local server answering canned bodies."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from imagegen_cli.main import main
from imagegen_cli.preflight import load_catalog
from tests.unit.cli_http import CannedServer, success_body, tiny_png

pytestmark = pytest.mark.usefixtures("empty_working_directory")  # no .local/endpoints.json to find


def generate(server: CannedServer, *extra: str, key: str = "secret-key") -> int:
    return main(["generate", "a red fox", "--api-url", f"{server.base}/generate-image", "--api-key", key, *extra])


def test_generate_saves_each_image_as_a_png_and_prints_its_path(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/generate-image", 200, success_body(server, 2))
    # when
    code = generate(server, "--n", "2", "--out", "pictures")
    # then
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert printed == ["pictures/a-red-fox-4f9c2d1e-1.png", "pictures/a-red-fox-4f9c2d1e-2.png"]
    for path in printed:
        assert (tmp_path / path).read_bytes() == tiny_png(64, 64)


def test_generate_names_its_job_so_that_imagegen_job_finds_it_again(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/generate-image", 200, success_body(server, 1))
    # when
    code = generate(server, "--no-download")
    # then the id goes to stderr (stdout stays for the paths or the JSON)
    assert code == 0
    captured = capsys.readouterr()
    assert "imagegen job 4f9c2d1e-0000-4000-8000-000000000001" in captured.err
    assert "4f9c2d1e" not in captured.out


def test_generate_sends_the_options_as_request_fields_and_the_api_key_header(server: CannedServer) -> None:
    # given
    server.answer("/generate-image", 200, success_body(server, 1))
    # when
    generate(server, "--n", "1", "--size", "512x768", "--seed", "7", "--negative", "blur", "--cfg-scale", "6.5")
    # then
    post = next(r for r in server.received if r.method == "POST")
    assert post.headers["x-api-key"] == "secret-key"
    assert post.headers["content-type"] == "application/json"
    assert json.loads(post.body) == {
        "prompt": "a red fox",
        "negative_prompt": "blur",
        "width": 512,
        "height": 768,
        "number_of_images": 1,
        "cfg_scale": 6.5,
        "seed": 7,
    }


def test_generate_with_json_prints_the_api_answer_on_stdout(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    answer = success_body(server, 1)
    server.answer("/generate-image", 200, answer)
    # when
    code = generate(server, "--json")
    # then
    assert code == 0
    assert json.loads(capsys.readouterr().out) == answer


def test_generate_without_a_tty_draws_no_spinner(server: CannedServer, capsys: pytest.CaptureFixture[str]) -> None:
    # given
    server.answer("/generate-image", 200, success_body(server, 1))
    # when
    generate(server)
    # then stderr has only the job's line: no carriage return, escape sequence or label of a spinner
    err = capsys.readouterr().err
    assert err.startswith("job 4f9c2d1e")
    assert err.count("\n") == 1
    assert "\r" not in err
    assert "\x1b" not in err
    assert "generating" not in err


ERROR_CASES = [
    pytest.param(400, "invalid_json", {}, ["could not read the request body as JSON"], id="invalid_json"),
    pytest.param(422, "content_filtered", {}, ["content filter", "Rephrase the prompt"], id="content_filtered"),
    pytest.param(429, "throttled", {"Retry-After": "7"}, ["busy", "retry after 7 seconds"], id="throttled"),
    pytest.param(429, "quota_exceeded", {}, ["quota is used up", "usage plan"], id="quota_exceeded"),
    pytest.param(502, "model_error", {}, ["model failed", "ModelId=", "Model access"], id="model_error"),
    pytest.param(500, "internal_error", {}, ["service failed", "logs"], id="internal_error"),
    pytest.param(403, "forbidden", {}, ["refused the API key", "--api-key", "IMAGEGEN_API_KEY"], id="forbidden"),
    pytest.param(404, "not_found", {}, ["no such route", "/generate-image"], id="not_found"),
]


@pytest.mark.parametrize(("status", "code", "headers", "phrases"), ERROR_CASES)
def test_each_api_error_code_gets_its_own_explanation_and_exit_code_3(
    server: CannedServer,
    capsys: pytest.CaptureFixture[str],
    status: int,
    code: str,
    headers: dict[str, str],
    phrases: list[str],
) -> None:
    # given
    body = {"error": {"code": code, "message": f"the {code} message"}, "request_id": "req-42"}
    server.answer("/generate-image", status, body, headers)
    # when
    exit_code = generate(server)
    # then
    assert exit_code == 3
    err = capsys.readouterr().err
    assert f"the {code} message" in err
    assert "request id req-42" in err
    for phrase in phrases:
        assert phrase in err


def test_a_model_error_suggests_only_live_models_and_a_region_that_offers_the_one_it_names(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    body = {"error": {"code": "model_error", "message": "Bedrock said no"}, "request_id": "req-42"}
    server.answer("/generate-image", 502, body)
    # when
    exit_code = generate(server)
    # then every model of the catalog that the advice names has no end-of-life or legacy date
    assert exit_code == 3
    err = capsys.readouterr().err
    models = {model["model_id"]: model for model in load_catalog()["models"]}
    named = [model for model_id, model in models.items() if model_id in err]
    assert named
    assert all(model["end_of_life"] is None and model["legacy_since"] is None for model in named)
    # and the deploy command's BedrockRegion is one where the catalog lists its ModelId
    suggested = re.search(r"ModelId=(\S+) BedrockRegion=(\S+)", err)
    assert suggested is not None, err
    model_id, region = suggested.groups()
    assert region in models[model_id]["regions"]


def test_a_validation_error_lists_each_field_under_the_option_that_sets_it(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    details = [
        {"field": "width", "message": "must be a multiple of 64"},
        {"field": "number_of_images", "message": "at most 5"},
        {"field": "cfg_scale", "message": "between 1.1 and 10"},
    ]
    body = {"error": {"code": "validation_error", "message": "invalid request", "details": details}, "request_id": "r"}
    server.answer("/generate-image", 422, body)
    # when
    exit_code = generate(server, "--size", "1000x1000")
    # then
    assert exit_code == 3
    err = capsys.readouterr().err
    assert "--size (width): must be a multiple of 64" in err
    assert "--n: at most 5" in err
    assert "--cfg-scale: between 1.1 and 10" in err


def test_without_an_api_key_a_forbidden_answer_says_none_was_sent(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    body = {"error": {"code": "forbidden", "message": "Forbidden"}, "request_id": "r"}
    server.answer("/generate-image", 403, body)
    # when
    exit_code = main(["generate", "a red fox", "--api-url", f"{server.base}/generate-image"])
    # then
    assert exit_code == 3
    assert "needs an API key and none was sent" in capsys.readouterr().err
    assert "x-api-key" not in server.received[0].headers


def test_an_error_answer_that_is_not_ours_is_reported_with_its_status(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/generate-image", 503, b"<html>Service Unavailable</html>")
    # when
    exit_code = generate(server)
    # then
    assert exit_code == 3
    assert "HTTP 503" in capsys.readouterr().err


def test_with_json_an_api_error_body_is_printed_on_stdout_too(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    body = {"error": {"code": "model_error", "message": "Bedrock said no"}, "request_id": "r"}
    server.answer("/generate-image", 502, body)
    # when
    exit_code = generate(server, "--json")
    # then
    assert exit_code == 3
    assert json.loads(capsys.readouterr().out) == body


def test_a_closed_port_is_a_network_error_with_exit_code_4(capsys: pytest.CaptureFixture[str]) -> None:
    # given a port that was free a moment ago and now has nobody listening
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # when
    exit_code = main(["generate", "a fox", "--api-url", f"http://127.0.0.1:{port}/generate-image", "--api-key", "k"])
    # then
    assert exit_code == 4
    assert "connection refused" in capsys.readouterr().err


def test_an_api_that_does_not_answer_in_time_is_a_network_error(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a route that holds the request open
    url = f"{server.base}/hang"
    # when
    exit_code = main(["generate", "a fox", "--api-url", url, "--api-key", "k", "--timeout", "0.2"])
    # then
    assert exit_code == 4
    assert "did not answer within 0.2 seconds" in capsys.readouterr().err


def test_when_one_download_fails_the_others_are_kept_and_the_exit_code_is_5(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the second image's presigned URL has expired
    answer = success_body(server, 2)
    server.answer("/bucket/team-a/api/req-1/1.png", 403, b"<Error><Code>ExpiredToken</Code></Error>")
    server.answer("/generate-image", 200, answer)
    # when
    exit_code = generate(server, "--n", "2")
    # then
    assert exit_code == 5
    captured = capsys.readouterr()
    assert captured.out.split() == ["out/a-red-fox-4f9c2d1e-1.png"]
    assert "ExpiredToken" in captured.err
    assert "s3://bucket/team-a/api/req-1/1.png" in captured.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a-red-fox-4f9c2d1e-1.png"]


def test_a_download_that_is_not_a_png_is_not_saved(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    answer = success_body(server, 1)
    server.answer("/bucket/team-a/api/req-1/0.png", 200, b"GIF89a not a png")
    server.answer("/generate-image", 200, answer)
    # when
    exit_code = generate(server)
    # then
    assert exit_code == 5
    assert "not a PNG" in capsys.readouterr().err
    assert list((tmp_path / "out").iterdir()) == []


def test_a_missing_api_url_is_a_configuration_error_naming_the_ways_to_set_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # when
    exit_code = main(["generate", "a fox"])
    # then
    assert exit_code == 2
    err = capsys.readouterr().err
    assert "missing the API URL" in err
    assert "IMAGEGEN_API_URL" in err
    assert "--stack" in err
    assert "make local" in err


def test_an_api_url_that_is_not_http_is_refused_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    # when
    exit_code = main(["generate", "a fox", "--api-url", "file:///etc/passwd"])
    # then
    assert exit_code == 2
    assert "must start with https://" in capsys.readouterr().err
