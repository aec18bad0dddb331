"""The Bedrock stand-in on the wire: a real botocore bedrock-runtime client cannot tell it from today's Bedrock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from local.bedrock_standin import BedrockStandin
from local.png import NOTICE
from tests.helpers import ROOT
from tests.standin_requests import (
    AMAZON_REGION,
    CORE,
    END_OF_LIFE,
    INPAINT,
    INPAINT_PROFILE,
    INVALID_MODEL,
    NOVA,
    SD35,
    STABILITY_REGION,
    TITAN,
    TITAN_V2,
    ULTRA,
    error_of,
    invoke,
    png_of,
    runtime_client,
    stability,
    titan,
)


@pytest.fixture
def bedrock(standin: BedrockStandin) -> Any:
    """A bedrock-runtime client in us-west-2, where the Stability models answer today."""
    return runtime_client(STABILITY_REGION)


@pytest.fixture
def amazon_bedrock(standin_before_eol: BedrockStandin) -> Any:
    """A bedrock-runtime client in us-east-1 on a date when Titan and Nova Canvas still answered there."""
    return runtime_client(AMAZON_REGION)


# -- success -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "ratio", "size"),
    [(SD35, "16:9", (1344, 768)), (CORE, None, (1024, 1024)), (ULTRA, "9:21", (640, 1536))],
)
def test_stability_answers_with_one_png_of_its_aspect_ratio_size_and_the_seed(
    bedrock: Any, model_id: str, ratio: str | None, size: tuple[int, int]
) -> None:
    # given
    body = stability(seed=1234, **({"aspect_ratio": ratio} if ratio else {}))

    # when
    answer = invoke(bedrock, model_id, body)

    # then
    assert answer["seeds"] == [1234]
    assert answer["finish_reasons"] == [None]
    image = png_of(answer["images"][0])
    assert (image.width, image.height) == size
    assert NOTICE in image.text.values()


def test_the_region_of_a_call_is_the_one_its_signature_names(bedrock: Any, standin: BedrockStandin) -> None:
    # given / when
    invoke(bedrock, CORE, stability())

    # then
    assert [(call.model_id, call.region, call.status) for call in standin.calls] == [(CORE, STABILITY_REGION, 200)]


def test_titan_before_its_end_of_life_answers_with_as_many_distinct_pngs_as_asked(
    amazon_bedrock: Any, standin: BedrockStandin
) -> None:
    # given
    body = titan(numberOfImages=3, width=768, height=1152)

    # when
    answer = invoke(amazon_bedrock, TITAN, body)

    # then
    assert answer["error"] is None
    images = [png_of(image) for image in answer["images"]]
    assert [(image.width, image.height) for image in images] == [(768, 1152)] * 3
    assert len(set(answer["images"])) == 3
    assert [(call.model_id, call.status, call.body) for call in standin.calls] == [(TITAN, 200, body)]


def test_nova_canvas_before_its_end_of_life_takes_a_1024_character_prompt(amazon_bedrock: Any) -> None:
    # given
    body = titan("x" * 1024, width=1024, height=1024)

    # when
    answer = invoke(amazon_bedrock, NOVA, body)

    # then
    image = png_of(answer["images"][0])
    assert (image.width, image.height) == (1024, 1024)


def test_the_same_request_gives_the_same_image_and_another_seed_another(bedrock: Any) -> None:
    # given
    first = invoke(bedrock, CORE, stability(seed=11))["images"]

    # when
    again = invoke(bedrock, CORE, stability(seed=11))["images"]
    other = invoke(bedrock, CORE, stability(seed=12))["images"]

    # then
    assert again == first
    assert other != first


# -- today's Bedrock: end of life, regions, profiles ---------------------------------------------------


@pytest.mark.parametrize(("model_id", "region"), [(TITAN, "us-east-1"), (TITAN_V2, "us-west-2"), (NOVA, "eu-west-1")])
def test_an_end_of_life_model_is_refused_where_it_was_offered(
    standin: BedrockStandin, model_id: str, region: str
) -> None:
    # given
    client = runtime_client(region)

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(client, model_id, titan())

    # then
    assert error_of(excinfo) == ("ResourceNotFoundException", 404, END_OF_LIFE)


@pytest.mark.parametrize(
    ("model_id", "region", "body"),
    [
        (CORE, "us-east-1", stability()),
        (SD35, "eu-central-1", stability()),
        (TITAN, "ap-northeast-1", titan()),  # Titan never answered in Tokyo, even before its end of life
        (f"us.{CORE}", STABILITY_REGION, stability()),  # no such inference profile
        (INPAINT_PROFILE, "eu-west-1", stability()),  # a US profile called from Europe
        ("meta.llama3-8b-instruct-v1:0", STABILITY_REGION, stability()),
    ],
)
def test_a_model_called_in_a_region_that_lacks_it_is_an_invalid_identifier(
    standin_before_eol: BedrockStandin, model_id: str, region: str, body: dict[str, Any]
) -> None:
    # given
    client = runtime_client(region)

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(client, model_id, body)

    # then
    assert error_of(excinfo) == ("ValidationException", 400, INVALID_MODEL)
    assert [call.region for call in standin_before_eol.calls] == [region]


def test_a_stable_image_service_needs_its_inference_profile(bedrock: Any) -> None:
    # given / when
    with pytest.raises(ClientError) as excinfo:
        invoke(bedrock, INPAINT, {"prompt": "a hat", "image": "AAAA"})

    # then
    code, status, message = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith(f"Invocation of model ID {INPAINT} with on-demand throughput isn")


def test_a_stable_image_service_refuses_a_text_only_request(bedrock: Any) -> None:
    # given / when
    with pytest.raises(ClientError) as excinfo:
        invoke(bedrock, INPAINT_PROFILE, stability())

    # then
    assert error_of(excinfo) == ("ValidationException", 400, "image: field required")


# -- limits, per model ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "body", "message"),
    [
        (SD35, stability(seed=4_294_967_295), "seed: must be an integer from 0 to 4294967294"),
        (CORE, stability(output_format="webp"), "output_format: must be one of png, jpeg"),
        (ULTRA, stability("x" * 10_001), "prompt: must be a string of 1 to 10000 characters"),
        (CORE, {"prompt": "x", "cfg_scale": 7}, "Invalid field 'cfg_scale' in request"),
    ],
)
def test_each_stability_model_enforces_its_own_limits(
    bedrock: Any, model_id: str, body: dict[str, Any], message: str
) -> None:
    # given / when
    with pytest.raises(ClientError) as excinfo:
        invoke(bedrock, model_id, body)

    # then
    code, status, text = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert message in text


@pytest.mark.parametrize(
    ("model_id", "body", "message"),
    [
        (TITAN, titan("x" * 513), "expected maxLength: 512, actual: 513"),
        (TITAN, titan(width=1000, height=1000), "1000x1000 is not one of the sizes"),
        (TITAN, {**titan(), "steps": 50}, "extraneous key [steps] is not permitted"),
        (NOVA, titan(seed=858_993_460), "seed: 858993460 is not less or equal to 858993459"),
    ],
)
def test_the_amazon_models_reject_bodies_with_bedrocks_schema_messages(
    amazon_bedrock: Any, model_id: str, body: dict[str, Any], message: str
) -> None:
    # given / when
    with pytest.raises(ClientError) as excinfo:
        invoke(amazon_bedrock, model_id, body)

    # then
    code, status, text = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert text.startswith("Malformed input request: ")
    assert message in text


def test_a_prompt_titan_refuses_is_fine_for_stability(bedrock: Any, amazon_bedrock: Any) -> None:
    # given
    prompt = "a lighthouse " * 154  # 2,002 characters

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(amazon_bedrock, TITAN, titan(prompt))
    answer = invoke(bedrock, CORE, stability(prompt))

    # then
    assert error_of(excinfo)[0] == "ValidationException"
    assert len(answer["images"]) == 1


# -- the error knobs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "model_id", "body", "code", "status"),
    [
        ({}, CORE, stability("please throttle-me"), "ThrottlingException", 429),
        ({}, SD35, stability("timeout-me now"), "ModelTimeoutException", 408),
        ({"throttle_rate": 1.0}, CORE, stability(), "ThrottlingException", 429),
        ({"error_rate": 1.0}, SD35, stability(), "ModelTimeoutException", 408),
        ({"eol_models": [CORE]}, CORE, stability(), "ResourceNotFoundException", 404),
    ],
)
def test_each_error_knob_raises_a_client_error_with_bedrocks_code_and_status(
    bedrock: Any,
    standin: BedrockStandin,
    knobs: dict[str, Any],
    model_id: str,
    body: dict[str, Any],
    code: str,
    status: int,
) -> None:
    # given
    standin.configure(**knobs)

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(bedrock, model_id, body)

    # then
    assert error_of(excinfo)[:2] == (code, status)
    assert [call.error for call in standin.calls] == [code]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDeniedException", 403),
        ("ModelErrorException", 424),
        ("ModelNotReadyException", 429),
        ("InternalServerException", 500),
        ("ServiceUnavailableException", 503),
    ],
)
def test_fail_with_makes_every_call_fail_with_that_bedrock_error(
    bedrock: Any, standin: BedrockStandin, code: str, status: int
) -> None:
    # given
    standin.configure(fail_with=code)

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(bedrock, SD35, stability())

    # then
    assert error_of(excinfo)[:2] == (code, status)


# -- content filters -----------------------------------------------------------------------------------


def test_titans_input_filter_is_a_validation_exception(amazon_bedrock: Any) -> None:
    # given / when
    with pytest.raises(ClientError) as excinfo:
        invoke(amazon_bedrock, TITAN, titan("a forbidden lighthouse"))

    # then
    assert error_of(excinfo) == (
        "ValidationException",
        400,
        "This request has been blocked by our content filters.",
    )


def test_titans_output_filter_answers_200_without_images(amazon_bedrock: Any) -> None:
    # given / when
    answer = invoke(amazon_bedrock, TITAN, titan("an unsafe-output lighthouse"))

    # then
    assert answer == {"images": [], "error": "The generated image has been blocked by our content filters."}


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        ("a forbidden lighthouse", "Filter reason: prompt"),
        ("an unsafe-output lighthouse", "Filter reason: output image"),
    ],
)
def test_stabilitys_filters_answer_200_with_only_a_finish_reason(bedrock: Any, prompt: str, reason: str) -> None:
    # given / when
    answer = invoke(bedrock, SD35, stability(prompt))

    # then
    assert answer == {"finish_reasons": [reason]}


# -- HTTP ----------------------------------------------------------------------------------------------


def test_a_request_without_a_signature_is_refused_with_403(standin: BedrockStandin) -> None:
    # given
    request = urllib.request.Request(
        f"{standin.url}/model/{CORE}/invoke", data=json.dumps(stability()).encode(), method="POST"
    )

    # when
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=10)

    # then
    assert excinfo.value.code == 403
    assert excinfo.value.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException:")
    assert json.loads(excinfo.value.read()) == {"message": "Missing Authentication Token"}


def test_a_bedrock_api_key_reaches_the_region_knobs_region(standin: BedrockStandin) -> None:
    # given a request with an API key, which names no region
    request = urllib.request.Request(
        f"{standin.url}/model/{CORE}/invoke",
        data=json.dumps(stability()).encode(),
        method="POST",
        headers={"Authorization": "Bearer ABSKQmVkcm9ja0FQSUtleS1zdGFuZC1pbg=="},
    )

    # when
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())

    # then
    assert len(answer["images"]) == 1
    assert standin.calls[0].region == standin.settings.region == "us-west-2"


def test_an_unknown_path_is_an_unknown_operation(standin: BedrockStandin) -> None:
    # given
    request = urllib.request.Request(f"{standin.url}/guardrails", method="GET")

    # when
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=10)

    # then
    assert excinfo.value.code == 404
    assert excinfo.value.headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")


def test_latency_holds_the_answer_past_a_clients_read_timeout(standin: BedrockStandin) -> None:
    # given
    standin.configure(latency_ms=5_000, image_detail="flat")
    client = runtime_client(read_timeout=0.3)

    # when / then
    with pytest.raises(ReadTimeoutError):
        invoke(client, CORE, stability())


# -- command line --------------------------------------------------------------------------------------


@pytest.fixture
def cli_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("BEDROCK_STANDIN_")}


def test_the_command_line_explains_itself(cli_env: dict[str, str]) -> None:
    # given / when
    done = subprocess.run(
        [sys.executable, "-m", "local.bedrock_standin", "--help"],
        cwd=ROOT,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # then
    assert done.returncode == 0
    help_text = " ".join(done.stdout.split())
    assert "NOT an AI model" in help_text
    assert "--throttle-rate" in help_text
    assert "--quota-rps" in help_text
    assert "--today" in help_text


def test_a_bad_option_is_refused_naming_the_option(cli_env: dict[str, str]) -> None:
    # given / when
    done = subprocess.run(
        [sys.executable, "-m", "local.bedrock_standin", "--port", "0", "--quota-rps", "-1"],
        cwd=ROOT,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # then
    assert done.returncode == 2
    assert "option --quota-rps='-1' is invalid: must be between 0 and" in done.stderr


@pytest.fixture
def running_cli(cli_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.bedrock_standin", "--port", "0", "--image-detail", "flat"],
        cwd=ROOT,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()  # printed once it listens (pytest-timeout guards a hang)
    try:
        assert "listening on http://127.0.0.1:" in first_line
        yield process, first_line.rsplit(" ", 1)[-1].strip()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_the_command_line_serves_boto3_and_stops_cleanly_on_sigterm(
    running_cli: tuple[subprocess.Popen[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    process, url = running_cli
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", url)
    answer = invoke(runtime_client(), CORE, stability())

    # when
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=10)

    # then
    assert png_of(answer["images"][0]).width == 1024
    assert process.returncode == 0
    assert "stopped" in output
