"""`imagegen preflight` against the Bedrock stand-in over HTTP, one test per path through its checks.

The CLI is called as `make preflight` calls it (``main(["preflight", ...])``), its Bedrock clients led to the
stand-in by ``AWS_ENDPOINT_URL_BEDROCK(_RUNTIME)`` (the ``standin`` fixture) or by ``--local``. The stand-in
answers from its own catalog and rules, so a check passes or fails on what it says, not on the core's table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import pytest

from imagegen_cli.errors import ExitCode
from imagegen_cli.main import main
from imagegen_cli.preflight import Check, Target, preflight
from local.bedrock_standin import BedrockStandin
from tests.helpers import ROOT
from tests.standin_requests import CORE, DEPLOYER, FUNCTION, INPAINT_PROFILE, NOVA, STABILITY_REGION

LEGACY_DAY = date(2026, 4, 1)  # Nova Canvas: Legacy since 2026-03-30, end of life 2026-09-30 (the stand-in's dates)


@dataclass(frozen=True)
class Report:
    code: int
    out: str
    err: str


class PreflightRun(Protocol):
    def __call__(self, *arguments: str) -> Report: ...


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> PreflightRun:
    """`imagegen preflight ARGS` as `make preflight` runs it: the samconfig environment `default` unless
    ``--model-id`` is given, no MODEL_ID / BEDROCK_REGION in the environment."""
    monkeypatch.delenv("MODEL_ID", raising=False)
    monkeypatch.delenv("BEDROCK_REGION", raising=False)

    def preflight_cli(*arguments: str) -> Report:
        capsys.readouterr()
        config = [] if "--model-id" in arguments else ["--config-env", "default"]
        code = main(["preflight", *config, "--samconfig", str(ROOT / "samconfig.toml"), *arguments])
        captured = capsys.readouterr()
        return Report(code, captured.out, captured.err)

    return preflight_cli


def lines(report: Report) -> list[str]:
    return [line.strip() for line in report.out.splitlines()]


def failed_check(report: Report) -> str:
    """The report's FAIL line, after checking that the preflight exited as a failed check (6)."""
    assert report.code == ExitCode.CHECK_FAILED, report.out + report.err
    return next(line for line in lines(report) if line.startswith("FAIL"))


def as_key(monkeypatch: pytest.MonkeyPatch, access_key: str) -> None:
    """Sign the next calls with this access key id (the stand-in's notion of who asks)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "any-secret")


# -- the paths through the checks ----------------------------------------------------------------------------


def test_the_default_environment_s_model_passes_every_check(run: PreflightRun, standin: BedrockStandin) -> None:
    # when
    report = run()

    # then every check passed, on the stand-in's answers (its model name is its own, "Stable Image Core 1.0")
    assert report.code == ExitCode.OK, report.out + report.err
    assert lines(report)[:2] == [
        f"preflight: {CORE} in us-west-2 (samconfig.toml [default])",
        f"Bedrock at {standin.url} (AWS_ENDPOINT_URL_BEDROCK), not AWS",
    ]
    assert lines(report)[2:] == [
        "ok   request format: stability format",
        "ok   catalog: Stable Image Core, listed in us-west-2",
        "ok   offered in region: Stable Image Core 1.0 is ACTIVE in us-west-2",
        "ok   access: authorized, entitled and subscribed",
    ]
    assert standin.calls == []  # no generation without --canary


def test_an_end_of_life_model_fails_at_the_catalog_and_names_a_live_one(
    run: PreflightRun, standin: BedrockStandin
) -> None:
    # when
    report = run("--model-id", NOVA, "--bedrock-region", "us-east-1")

    # then
    assert report.code == ExitCode.CHECK_FAILED
    assert "FAIL catalog: Nova Canvas reached its end of life on Bedrock on 2026-09-30" in report.out
    assert f"{CORE} (us-west-2)" in report.out
    assert "preflight failed: catalog" in report.err


def test_a_model_the_stand_in_retired_but_the_core_s_catalog_calls_live_fails_at_offered_in_region(
    run: PreflightRun, standin: BedrockStandin
) -> None:
    # given Bedrock (the stand-in) ended the default model, which the core's catalog still lists as live
    standin.configure(eol_models=[CORE])

    # when
    report = run()

    # then the preflight believes Bedrock, not the catalog
    assert report.code == ExitCode.CHECK_FAILED
    assert "ok   catalog:" in report.out
    assert f"FAIL offered in region: Bedrock in us-west-2 does not offer {CORE}" in report.out


@pytest.mark.parametrize(
    ("model_id", "region", "fix"),
    [
        (CORE, "us-east-1", f"-> set BedrockRegion to us-west-2, where the catalog lists {CORE}"),
        ("stability.stable-image-core-v1:0", "us-west-2", f"{CORE} (us-west-2)"),  # the stand-in's, not the core's
    ],
)
def test_a_model_the_region_does_not_offer_fails_at_offered_in_region_with_a_fix_naming_us_west_2(
    run: PreflightRun, standin: BedrockStandin, model_id: str, region: str, fix: str
) -> None:
    # when
    report = run("--model-id", model_id, "--bedrock-region", region)

    # then
    failed = failed_check(report)
    assert failed == (
        f"FAIL offered in region: Bedrock in {region} does not offer {model_id} "
        "(ValidationException: The provided model identifier is invalid.)"
    )
    assert fix in report.out


def test_a_stable_image_service_by_its_own_id_is_not_on_demand_and_the_fix_names_its_profile(
    run: PreflightRun, standin: BedrockStandin
) -> None:
    # when
    report = run("--model-id", "stability.stable-image-inpaint-v1:0", "--bedrock-region", STABILITY_REGION)

    # then
    assert report.code == ExitCode.CHECK_FAILED
    assert "is not on demand in us-west-2 (INFERENCE_PROFILE)" in report.out
    assert f"use an inference profile id such as {INPAINT_PROFILE}" in report.out


def test_a_legacy_model_fails_unless_allowed_and_says_when_bedrock_retires_it(standin: BedrockStandin) -> None:
    # given a day when Nova Canvas was Legacy (the stand-in's clock, and the preflight's)
    standin.configure(today=LEGACY_DAY)
    target = Target(NOVA, "us-east-1", "test")

    # when
    refused = list(preflight(target, today=LEGACY_DAY))
    allowed = list(preflight(target, today=LEGACY_DAY, allow_legacy=True))

    # then
    assert (refused[-1].name, refused[-1].ok) == ("offered in region", False)
    assert refused[-1].detail == f"{NOVA} is LEGACY in us-east-1: Bedrock will retire it on 2026-09-30"
    assert refused[-1].fix.endswith("(or pass --allow-legacy to deploy it anyway)")
    assert NOVA not in refused[-1].fix.split("(or pass")[0]  # never advises switching to the model that failed
    assert [(check.name, check.ok, check.warning) for check in allowed[2:]] == [
        ("offered in region", True, True),
        ("access", True, False),  # Amazon's models need no Marketplace subscription
    ]


def test_an_inference_profile_passes_and_reports_its_destination_regions(
    run: PreflightRun, standin: BedrockStandin
) -> None:
    # when
    report = run("--model-id", INPAINT_PROFILE, "--bedrock-region", STABILITY_REGION)

    # then
    assert report.code == ExitCode.OK, report.out
    assert f"ok   offered in region: profile {INPAINT_PROFILE} routes to us-east-1, us-east-2, us-west-2" in report.out


@pytest.mark.parametrize(
    ("model_id", "region", "reason"),
    [
        ("us.stability.stable-image-core-v1:1", STABILITY_REGION, "no inference profile"),  # Core has none
        (INPAINT_PROFILE, "eu-west-1", "does not offer"),  # outside the profile's US source regions
    ],
)
def test_an_unknown_inference_profile_fails_at_offered_in_region(
    run: PreflightRun, standin: BedrockStandin, model_id: str, region: str, reason: str
) -> None:
    # when
    report = run("--model-id", model_id, "--bedrock-region", region)

    # then
    failed = failed_check(report)
    assert failed.startswith("FAIL offered in region: ")
    assert reason in failed


def test_a_fresh_account_fails_at_access_and_is_told_to_run_the_canary_with_marketplace_permissions(
    run: PreflightRun, fresh_account: BedrockStandin
) -> None:
    # when
    report = run()

    # then
    assert report.code == ExitCode.CHECK_FAILED
    assert "FAIL access: the account has not subscribed to it on AWS Marketplace" in report.out
    assert "-> run `make preflight CANARY=1` once as an identity allowed aws-marketplace:Subscribe" in report.out
    assert fresh_account.calls == []


def test_the_canary_with_subscriber_credentials_subscribes_the_account_and_passes(
    run: PreflightRun, fresh_account: BedrockStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the deployer's credentials (allowed aws-marketplace:Subscribe)
    as_key(monkeypatch, DEPLOYER)

    # when
    report = run("--canary")
    as_key(monkeypatch, FUNCTION)
    afterwards = run()

    # then the canary's generation subscribed the account, for every identity
    assert report.code == ExitCode.OK, report.out + report.err
    assert "warn access: the account has not subscribed to it on AWS Marketplace" in report.out
    assert any(line.startswith("ok   canary: one ") and "-byte PNG in " in line for line in lines(report))
    assert f"ok   subscription: the canary subscribed the account to {CORE} on AWS Marketplace" in report.out
    assert fresh_account.subscriptions == frozenset({CORE})
    assert afterwards.code == ExitCode.OK
    assert "ok   access: authorized, entitled and subscribed" in afterwards.out


def test_the_canary_without_marketplace_permissions_fails_and_says_who_must_run_it(
    run: PreflightRun, fresh_account: BedrockStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    as_key(monkeypatch, FUNCTION)

    # when
    report = run("--canary")

    # then
    assert report.code == ExitCode.CHECK_FAILED
    assert "FAIL canary: Bedrock refused the generation (AccessDeniedException: Model access is denied" in report.out
    assert "-> these credentials may not subscribe the account" in report.out
    assert fresh_account.subscriptions == frozenset()


@pytest.mark.parametrize(
    ("bad_output", "reason"),
    [
        ("not-png", "FAIL canary: the model's image is not a PNG"),
        ("corrupt", "FAIL canary: the model's image is not valid base64"),
        ("fewer", "FAIL canary: the model answered without an image ([None])"),
    ],
)
def test_the_canary_fails_when_the_model_s_answer_is_not_a_png(
    run: PreflightRun, standin: BedrockStandin, bad_output: str, reason: str
) -> None:
    # given
    standin.configure(bad_output=bad_output)

    # when
    report = run("--canary")

    # then
    assert report.code == ExitCode.CHECK_FAILED
    assert reason in report.out
    assert [call.fault for call in standin.calls] == ["bad_output"]


def test_the_canary_catches_a_profile_that_does_not_make_images_from_text(
    run: PreflightRun, standin: BedrockStandin
) -> None:
    # given a Stable Image Service, which the checks without a generation cannot tell from a text-to-image model
    arguments = ("--model-id", INPAINT_PROFILE, "--bedrock-region", STABILITY_REGION)

    # when
    without = run(*arguments)
    report = run(*arguments, "--canary")

    # then
    assert without.code == ExitCode.OK
    assert report.code == ExitCode.CHECK_FAILED
    assert "FAIL canary: Bedrock refused the generation (ValidationException: image: field required)" in report.out


# -- where it asks -------------------------------------------------------------------------------------------


def local_endpoints(directory: Path, standin: BedrockStandin, access_key: str) -> Path:
    """An endpoints file as `make local` writes it (the parts the preflight reads)."""
    path = directory / "endpoints.json"
    endpoints = {"bedrock_endpoint_url": standin.url, "aws_access_key_id": access_key, "aws_secret_access_key": "x"}
    path.write_text(json.dumps(endpoints))
    return path


def test_local_asks_the_local_stack_s_stand_in_with_its_credentials(
    run: PreflightRun, fresh_account: BedrockStandin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given no endpoint or credentials in the environment, and a local stack whose key may subscribe
    for name in ("AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name)
    endpoints = local_endpoints(tmp_path, fresh_account, DEPLOYER)

    # when
    report = run("--local", "--endpoints", str(endpoints), "--canary")

    # then
    assert report.code == ExitCode.OK, report.out + report.err
    assert f"Bedrock at {fresh_account.url} ({endpoints}), not AWS" in report.out
    assert fresh_account.subscriptions == frozenset({CORE})


def test_local_without_a_running_local_stack_says_to_start_one(
    run: PreflightRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a checkout without .local/endpoints.json
    monkeypatch.chdir(tmp_path)

    # when
    report = run("--local")

    # then
    assert report.code == ExitCode.USAGE
    assert report.err == (
        "imagegen: .local/endpoints.json does not exist: start the local stack with `make local` first\n"
    )


def test_the_json_report_names_the_endpoint_and_every_check(run: PreflightRun, standin: BedrockStandin) -> None:
    # when
    report = run("--json")

    # then
    document = json.loads(report.out)
    assert (document["model_id"], document["region"], document["bedrock_endpoint"]) == (CORE, "us-west-2", standin.url)
    assert [Check(**check).name for check in document["checks"]] == [
        "request format",
        "catalog",
        "offered in region",
        "access",
    ]
