"""The Bedrock stand-in on the wire: a real boto3 bedrock-runtime client cannot tell it from Bedrock."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from local.bedrock_standin import BedrockStandin
from local.png import NOTICE, PngImage, read_png

ROOT = Path(__file__).resolve().parents[2]
TITAN = "amazon.titan-image-generator-v1"
NOVA = "us.amazon.nova-canvas-v1:0"
SD35 = "stability.sd3-5-large-v1:0"
CORE = "stability.stable-image-core-v1:1"


def bedrock_client(**config: Any) -> Any:
    """A plain client, no retries, reaching the stand-in through AWS_ENDPOINT_URL_BEDROCK_RUNTIME."""
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}, **config)
    )


@pytest.fixture
def bedrock(standin: BedrockStandin) -> Any:
    return bedrock_client()


def invoke(client: Any, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.invoke_model(
        modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
    )
    assert response["contentType"] == "application/json"
    assert response["ResponseMetadata"]["RequestId"]
    decoded: dict[str, Any] = json.loads(response["body"].read())
    return decoded


def titan(text: str = "a lighthouse at dusk", **config: Any) -> dict[str, Any]:
    return {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": text},
        "imageGenerationConfig": {"width": 512, "height": 512, "seed": 7, **config},
    }


def stability(prompt: str = "a lighthouse at dusk", **fields: Any) -> dict[str, Any]:
    return {"prompt": prompt, "seed": 7, **fields}


def png_of(b64: str) -> PngImage:
    return read_png(base64.b64decode(b64))


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response: Any = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


# -- success -------------------------------------------------------------------------------------------


def test_titan_answers_with_as_many_distinct_pngs_of_the_requested_size_as_asked(
    bedrock: Any, standin: BedrockStandin
) -> None:
    # given
    body = titan(numberOfImages=3, width=768, height=1152)

    # when
    answer = invoke(bedrock, TITAN, body)

    # then
    assert answer["error"] is None
    images = [png_of(image) for image in answer["images"]]
    assert [(image.width, image.height) for image in images] == [(768, 1152)] * 3
    assert all(NOTICE in image.text.values() for image in images)
    assert len(set(answer["images"])) == 3
    assert [(call.model_id, call.status, call.body) for call in standin.calls] == [(TITAN, 200, body)]


def test_nova_canvas_through_a_cross_region_profile_takes_a_1024_character_prompt(bedrock: Any) -> None:
    # given
    body = titan("x" * 1024, width=1024, height=1024)

    # when
    answer = invoke(bedrock, NOVA, body)

    # then
    image = png_of(answer["images"][0])
    assert (image.width, image.height) == (1024, 1024)


@pytest.mark.parametrize(("model_id", "ratio", "size"), [(SD35, "16:9", (1344, 768)), (CORE, None, (1024, 1024))])
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


def test_the_same_request_gives_the_same_image_and_another_seed_another(bedrock: Any) -> None:
    # given
    first = invoke(bedrock, TITAN, titan(seed=11))["images"]

    # when
    again = invoke(bedrock, TITAN, titan(seed=11))["images"]
    other = invoke(bedrock, TITAN, titan(seed=12))["images"]

    # then
    assert again == first
    assert other != first


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "model_id", "body", "code", "status"),
    [
        ({}, TITAN, titan("please throttle-me"), "ThrottlingException", 429),
        ({}, SD35, stability("timeout-me now"), "ModelTimeoutException", 408),
        ({"throttle_rate": 1.0}, TITAN, titan(), "ThrottlingException", 429),
        ({"error_rate": 1.0}, SD35, stability(), "ModelTimeoutException", 408),
        ({}, TITAN, titan("a forbidden lighthouse"), "ValidationException", 400),
        ({"eol_models": [TITAN]}, TITAN, titan(), "ResourceNotFoundException", 404),
        ({}, "meta.llama3-8b-instruct-v1:0", titan(), "ValidationException", 400),
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
    ("body", "message"),
    [
        (titan("x" * 513), "expected maxLength: 512, actual: 513"),
        (titan(width=1000, height=1000), "1000x1000 is not one of the sizes"),
        ({**titan(), "steps": 50}, "extraneous key [steps] is not permitted"),
    ],
)
def test_invalid_bodies_raise_a_validation_exception_with_bedrocks_message(
    bedrock: Any, body: dict[str, Any], message: str
) -> None:
    # given / when
    with pytest.raises(ClientError) as excinfo:
        invoke(bedrock, TITAN, body)

    # then
    code, status, text = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert text.startswith("Malformed input request: ")
    assert message in text


def test_an_end_of_life_model_is_not_found_with_bedrocks_message(bedrock: Any, standin: BedrockStandin) -> None:
    # given
    standin.configure(eol_models=["stability.sd3-large-v1:0"])

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(bedrock, "us.stability.sd3-large-v1:0", stability())

    # then
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        404,
        "This model version has reached the end of its life. Please refer to the AWS documentation for more details.",
    )


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


def test_titans_output_filter_answers_200_without_images(bedrock: Any) -> None:
    # given / when
    answer = invoke(bedrock, TITAN, titan("an unsafe-output lighthouse"))

    # then
    assert answer == {"images": [], "error": "The generated image has been blocked by our content filters."}


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        ("a forbidden lighthouse", "Filter reason: prompt"),
        ("an unsafe-output lighthouse", "Filter reason: output image"),
    ],
)
def test_stabilitys_filters_answer_200_with_a_finish_reason_and_no_image(
    bedrock: Any, prompt: str, reason: str
) -> None:
    # given / when
    answer = invoke(bedrock, SD35, stability(prompt))

    # then
    assert answer == {"seeds": [7], "finish_reasons": [reason], "images": []}


# -- HTTP ----------------------------------------------------------------------------------------------


def test_a_request_without_a_signature_is_refused_with_403(standin: BedrockStandin) -> None:
    # given
    request = urllib.request.Request(
        f"{standin.url}/model/{TITAN}/invoke", data=json.dumps(titan()).encode(), method="POST"
    )

    # when
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=10)

    # then
    assert excinfo.value.code == 403
    assert excinfo.value.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException:")
    assert json.loads(excinfo.value.read()) == {"message": "Missing Authentication Token"}


def test_an_unknown_path_is_an_unknown_operation(standin: BedrockStandin) -> None:
    # given
    request = urllib.request.Request(f"{standin.url}/foundation-models", method="GET")

    # when
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=10)

    # then
    assert excinfo.value.code == 404
    assert excinfo.value.headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")


def test_latency_holds_the_answer_past_a_clients_read_timeout(standin: BedrockStandin) -> None:
    # given
    standin.configure(latency_ms=5_000, image_detail="flat")
    client = bedrock_client(read_timeout=0.3)

    # when / then
    with pytest.raises(ReadTimeoutError):
        invoke(client, TITAN, titan())


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
    answer = invoke(bedrock_client(), TITAN, titan())

    # when
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=10)

    # then
    assert png_of(answer["images"][0]).width == 512
    assert process.returncode == 0
    assert "stopped" in output
