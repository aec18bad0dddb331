"""The stand-in's faults through a real botocore client: the quota's token bucket (on a fake clock, so counts
are exact), an untyped outage from a front door, and answers whose images are not usable."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from hypothesis import given, settings
from hypothesis import strategies as st

from local.bedrock_standin import BedrockStandin, StandinSettings
from local.png import SIGNATURE
from tests.standin_requests import (
    AMAZON_REGION,
    CORE,
    SD35,
    TITAN,
    encoded,
    error_of,
    invoke,
    png_of,
    runtime_client,
    stability,
    titan,
)


class FakeClock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def quota_standin(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[BedrockStandin]:
    """A stand-in of its own, 2 requests a second with bursts of 2 per model, paced by ``clock``."""
    with BedrockStandin(StandinSettings(quota_rps=2, quota_burst=2, image_detail="flat"), clock=clock) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        yield server


def outcome(client: Any, model_id: str, body: dict[str, Any]) -> str:
    """ "ok", or the code of the ClientError the call raised."""
    try:
        invoke(client, model_id, body)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


# -- the quota -----------------------------------------------------------------------------------------


def test_twenty_requests_at_four_a_second_against_two_a_second_are_nine_times_throttled(
    quota_standin: BedrockStandin, clock: FakeClock
) -> None:
    # given
    client = runtime_client()
    outcomes = []

    # when one request every 0.25 s for 5 s
    for _ in range(20):
        outcomes.append(outcome(client, CORE, stability()))
        clock.advance(0.25)

    # then the burst of 2 plus 2 a second over the 4.75 s between the first and the last request get through
    assert outcomes.count("ok") == 2 + math.floor(2 * 4.75)
    assert outcomes.count("ThrottlingException") == 9
    assert quota_standin.throttled_calls == 9
    assert {call.fault for call in quota_standin.calls if call.status == 429} == {"quota"}


def test_a_throttled_call_is_bedrocks_throttling_exception(quota_standin: BedrockStandin) -> None:
    # given the burst used up
    client = runtime_client()
    invoke(client, CORE, stability())
    invoke(client, CORE, stability())

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(client, CORE, stability())

    # then
    assert error_of(excinfo) == ("ThrottlingException", 429, "Too many requests, please wait before trying again.")


def test_a_throttled_call_is_answered_at_once_whatever_the_latency(quota_standin: BedrockStandin) -> None:
    # given the burst used up, answers that take 5 s, and a client that waits 1 s at most
    quota_standin.configure(latency_ms=5_000)  # a fresh quota: two calls pass, and each would take 5 s
    client = runtime_client(read_timeout=1)
    for _ in range(2):
        with pytest.raises(ReadTimeoutError):
            invoke(client, CORE, stability())

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(client, CORE, stability())

    # then Bedrock's refusal came before the client gave up: nothing was generated, so nothing was waited for
    assert error_of(excinfo)[0] == "ThrottlingException"


def test_each_model_has_a_quota_of_its_own(quota_standin: BedrockStandin) -> None:
    # given the burst of one model used up
    client = runtime_client()
    invoke(client, CORE, stability())
    invoke(client, CORE, stability())

    # when
    other = outcome(client, SD35, stability())

    # then
    assert other == "ok"
    assert outcome(client, CORE, stability()) == "ThrottlingException"


def test_requests_at_the_quotas_pace_are_never_throttled(quota_standin: BedrockStandin, clock: FakeClock) -> None:
    # given
    client = runtime_client()

    # when
    outcomes = []
    for _ in range(10):
        outcomes.append(outcome(client, CORE, stability()))
        clock.advance(0.5)

    # then
    assert outcomes == ["ok"] * 10


def test_a_new_quota_starts_with_a_full_burst(quota_standin: BedrockStandin) -> None:
    # given the burst used up
    client = runtime_client()
    for _ in range(3):
        outcome(client, CORE, stability())

    # when
    quota_standin.configure(quota_rps=1, quota_burst=3)

    # then
    assert [outcome(client, CORE, stability()) for _ in range(4)] == ["ok", "ok", "ok", "ThrottlingException"]


@settings(max_examples=40, deadline=None)
@given(
    rate=st.integers(1, 8),
    burst=st.integers(1, 5),
    gaps=st.lists(st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.5, 1.0]), min_size=1, max_size=30),
)
def test_the_quota_never_lets_through_more_than_the_burst_plus_the_rate_over_the_time_passed(
    rate: int, burst: int, gaps: list[float]
) -> None:
    # given
    clock = FakeClock()
    standin = BedrockStandin(StandinSettings(quota_rps=rate, quota_burst=burst, image_detail="flat"), clock=clock)
    body = encoded(stability())

    # when
    passed = 0
    for gap in gaps:
        clock.advance(gap)
        passed += standin.invoke(CORE, body).status == 200

    # then
    elapsed = sum(gaps[1:])
    assert passed <= burst + rate * elapsed + 1e-9
    assert passed >= min(len(gaps), burst)
    assert standin.throttled_calls == len(gaps) - passed


def test_without_a_quota_nothing_is_throttled(standin: BedrockStandin) -> None:
    # given
    client = runtime_client()

    # when
    outcomes = [outcome(client, CORE, stability()) for _ in range(12)]

    # then
    assert outcomes == ["ok"] * 12
    assert standin.throttled_calls == 0


# -- an untyped outage ---------------------------------------------------------------------------------


def test_an_outage_word_meets_a_front_doors_503_html_page_without_a_bedrock_error_type(
    standin: BedrockStandin,
) -> None:
    # given
    client = runtime_client()

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(client, CORE, stability("please outage-me"))

    # then
    response: Any = excinfo.value.response
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert error_of(excinfo)[:2] == ("503", 503)
    assert "x-amzn-errortype" not in headers
    assert "x-amzn-requestid" not in headers
    assert headers["content-type"] == "text/html"
    assert [(call.status, call.error, call.fault) for call in standin.calls] == [(503, None, "outage_words")]


@pytest.mark.parametrize("status", [429, 502, 504])
def test_the_outage_rate_and_status_are_knobs(standin: BedrockStandin, status: int) -> None:
    # given
    standin.configure(outage_rate=1.0, outage_status=status)

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(runtime_client(), CORE, stability())

    # then
    assert error_of(excinfo)[:2] == (str(status), status)
    assert standin.calls[0].fault == "outage_rate"


def test_an_outage_comes_before_bedrock_looks_at_the_model(standin: BedrockStandin) -> None:
    # given a model that is past its end of life
    client = runtime_client(AMAZON_REGION)

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(client, TITAN, titan("outage-me"))

    # then
    assert error_of(excinfo)[:2] == ("503", 503)


# -- model output that is not an image -----------------------------------------------------------------


def test_a_corrupt_me_prompt_gets_images_that_are_not_base64(standin: BedrockStandin) -> None:
    # given / when
    answer = invoke(runtime_client(), CORE, stability("corrupt-me please"))

    # then
    assert answer["finish_reasons"] == [None]
    with pytest.raises(binascii.Error):
        binascii.a2b_base64(answer["images"][0])
    assert standin.calls[0].fault == "corrupt_words"


def test_a_not_png_me_prompt_gets_base64_that_is_not_a_png(standin: BedrockStandin) -> None:
    # given / when
    answer = invoke(runtime_client(), CORE, stability("not-png-me please"))

    # then
    data = base64.b64decode(answer["images"][0], validate=True)
    assert not data.startswith(SIGNATURE)


def test_a_fewer_me_prompt_gets_one_image_fewer_than_asked(standin_before_eol: BedrockStandin) -> None:
    # given
    client = runtime_client(AMAZON_REGION)

    # when
    answer = invoke(client, TITAN, titan("fewer-me", numberOfImages=3))

    # then
    assert answer["error"] is None
    assert len(answer["images"]) == 2
    assert all(png_of(image).width == 512 for image in answer["images"])


def test_fewer_images_from_stability_is_none_with_no_finish_reason(standin: BedrockStandin) -> None:
    # given / when
    answer = invoke(runtime_client(), SD35, stability("fewer-me"))

    # then
    assert answer["images"] == []
    assert answer["finish_reasons"] == [None]


def undecodable(images: list[str]) -> bool:
    try:
        binascii.a2b_base64(images[0])
    except binascii.Error:
        return True
    return False


def not_a_png(images: list[str]) -> bool:
    return not base64.b64decode(images[0], validate=True).startswith(SIGNATURE)


def no_image(images: list[str]) -> bool:
    return images == []


@pytest.mark.parametrize(("kind", "spoilt"), [("corrupt", undecodable), ("not-png", not_a_png), ("fewer", no_image)])
def test_the_bad_output_knob_spoils_every_image_answer(
    standin: BedrockStandin, kind: str, spoilt: Callable[[list[str]], bool]
) -> None:
    # given
    standin.configure(bad_output=kind)

    # when
    answers = [invoke(runtime_client(), CORE, stability(prompt)) for prompt in ("one", "two")]

    # then
    assert all(spoilt(answer["images"]) for answer in answers)
    assert {call.fault for call in standin.calls} == {"bad_output"}


def test_a_filtered_answer_is_not_spoilt(standin: BedrockStandin) -> None:
    # given
    standin.configure(bad_output="corrupt")

    # when
    answer = invoke(runtime_client(), CORE, stability("a forbidden lighthouse"))

    # then
    assert answer == {"finish_reasons": ["Filter reason: prompt"]}
