"""`imagegen preflight`, the parts that need no Bedrock: which model it checks, and what the catalog already says.
(The checks against Bedrock's control plane run against the stand-in: tests/integration/test_preflight.py; here only
what the stand-in cannot say, an IAM refusal, through botocore's Stubber.)"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from imagegen_cli.errors import ConfigError
from imagegen_cli.main import main
from imagegen_cli.preflight import (
    Target,
    environment_endpoint,
    load_catalog,
    local_endpoint,
    preflight,
    resolve_target,
    samconfig_parameters,
)
from imagegen_core.catalog import as_document
from tests.helpers import ROOT

CORE = "stability.stable-image-core-v1:1"


def arguments(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {"config_env": None, "samconfig": ROOT / "samconfig.toml", "model_id": None,
                                 "bedrock_region": None}  # fmt: skip
    values.update(given)
    return argparse.Namespace(**values)


def test_the_cli_ships_the_core_s_catalog_as_it_is_now() -> None:
    # given the catalog the core validates with, and the copy the CLI (which cannot import the core) ships
    # then they are the same: `make catalog` refreshes the copy
    assert load_catalog() == json.loads(json.dumps(as_document()))


@pytest.mark.parametrize("config_env", ["default", "prod"])
def test_a_samconfig_environment_names_its_model_and_region(config_env: str) -> None:
    # when
    target = resolve_target(arguments(config_env=config_env), env={})

    # then
    assert (target.model_id, target.region) == ("stability.stable-image-core-v1:1", "us-west-2")
    assert target.source == f"samconfig.toml [{config_env}]"


def test_flags_beat_the_environment_which_beats_samconfig() -> None:
    env = {"MODEL_ID": "stability.sd3-5-large-v1:0", "BEDROCK_REGION": "us-east-1"}
    assert resolve_target(arguments(config_env="default"), env).model_id == "stability.sd3-5-large-v1:0"
    target = resolve_target(arguments(config_env="default", model_id="us.stability.sd3-5-large-v1:0"), env)
    assert (target.model_id, target.region) == ("us.stability.sd3-5-large-v1:0", "us-east-1")


def test_nothing_given_checks_the_catalog_s_default() -> None:
    target = resolve_target(arguments(), env={})
    assert (target.model_id, target.region) == ("stability.stable-image-core-v1:1", "us-west-2")


def test_an_unknown_samconfig_environment_is_a_configuration_error(tmp_path: Path) -> None:
    # given
    config = tmp_path / "samconfig.toml"
    config.write_text('version = 0.1\n[default.deploy.parameters]\nparameter_overrides = "ModelId=x"\n')

    # then
    assert samconfig_parameters(config, "default") == {"ModelId": "x"}
    with pytest.raises(ConfigError, match="has no environment 'staging'"):
        samconfig_parameters(config, "staging")


@pytest.mark.parametrize(
    ("model_id", "check", "reason"),
    [
        ("amazon.nova-canvas-v1:0", "catalog", "reached its end of life on Bedrock on 2026-09-30"),
        ("amazon.titan-image-generator-v1", "catalog", "reached its end of life on Bedrock on 2026-06-30"),
        ("us.amazon.titan-image-generator-v2:0", "catalog", "reached its end of life"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "request format", "no supported format"),
    ],
)
def test_a_retired_or_foreign_model_fails_before_bedrock_is_asked(model_id: str, check: str, reason: str) -> None:
    # given a session that must not be used
    class NoAws:
        def client(self, *_: object, **__: object) -> object:
            raise AssertionError("Bedrock was asked although the catalog already knew")

    # when
    checks = list(preflight(Target(model_id, "us-east-1", "test"), session=NoAws(), today=date(2026, 11, 29)))

    # then the last check failed for that reason and says how to switch to a live model
    failed = checks[-1]
    assert (failed.name, failed.ok) == (check, False)
    assert reason in failed.detail
    assert "stability.stable-image-core-v1:1 (us-west-2)" in failed.fix


class StubbedSession:
    """A session whose one ``bedrock`` client answers from botocore's Stubber (no network, real response parsing)."""

    def __init__(self) -> None:
        self.bedrock = boto3.client("bedrock", region_name="us-west-2")
        self.stubber = Stubber(self.bedrock)

    def client(self, service: str, **_: object) -> Any:
        assert service == "bedrock", f"the preflight asked {service} too early"
        return self.bedrock


def test_credentials_that_may_not_read_the_model_fail_with_the_permissions_to_grant() -> None:
    # given credentials that IAM refuses bedrock:GetFoundationModel (the stand-in has no IAM)
    session = StubbedSession()
    denied = (
        "User: arn:aws:sts::123456789012:assumed-role/deploy is not authorized to perform: bedrock:GetFoundationModel"
    )
    session.stubber.add_client_error("get_foundation_model", "AccessDeniedException", denied, 403)

    # when
    with session.stubber:
        checks = list(preflight(Target(CORE, "us-west-2", "test"), session=session))

    # then
    failed = checks[-1]
    assert (failed.name, failed.ok) == ("offered in region", False)
    assert failed.detail.startswith("cannot tell: bedrock:GetFoundationModel is denied to these credentials")
    assert "bedrock:GetFoundationModel, bedrock:GetInferenceProfile and bedrock:GetFoundationModelAvailability" in (
        failed.fix
    )


@pytest.mark.parametrize(
    ("env", "endpoint"),
    [
        ({}, None),
        ({"AWS_ENDPOINT_URL_BEDROCK": "http://127.0.0.1:4567"}, "http://127.0.0.1:4567"),
        ({"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9"}, "http://127.0.0.1:9"),
    ],
)
def test_the_report_names_the_bedrock_endpoint_when_the_environment_moves_it(
    env: dict[str, str], endpoint: str | None
) -> None:
    # given / when / then
    assert environment_endpoint(env).url == endpoint


@pytest.mark.usefixtures("empty_working_directory")
def test_a_bedrock_endpoint_that_is_not_a_url_is_a_configuration_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", "not a url")

    # when
    code = main(["preflight"])

    # then the Bedrock client that cannot be made is a usage error (exit 2) in one line
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip() == "imagegen: cannot set up the AWS bedrock client: Invalid endpoint: not a url"


@pytest.mark.parametrize(
    ("env", "credentials"),
    [
        ({}, ("stand-in-key", "stand-in-secret")),
        ({"AWS_ACCESS_KEY_ID": "deployer", "AWS_SECRET_ACCESS_KEY": "s"}, ("deployer", "s")),
    ],
)
def test_local_preflight_asks_the_stand_in_the_endpoints_file_names_with_its_credentials_unless_the_env_has_a_pair(
    tmp_path: Path, env: dict[str, str], credentials: tuple[str, str]
) -> None:
    # given
    path = tmp_path / "endpoints.json"
    names = {"aws_access_key_id": "stand-in-key", "aws_secret_access_key": "stand-in-secret"}
    path.write_text(json.dumps({"bedrock_endpoint_url": "http://127.0.0.1:5001", **names}))

    # when
    endpoint = local_endpoint(path, env)

    # then
    assert (endpoint.url, endpoint.credentials, endpoint.source) == ("http://127.0.0.1:5001", credentials, str(path))


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (None, "does not exist: start the local stack with `make local` first"),
        ("{not json", "is not readable JSON"),
        ("[1]", "must hold a JSON object"),
        ('{"aws_endpoint_url": "http://127.0.0.1:5000"}', "names no bedrock_endpoint_url"),
    ],
)
def test_local_preflight_without_a_usable_endpoints_file_is_a_configuration_error_naming_it(
    tmp_path: Path, content: str | None, phrase: str
) -> None:
    # given
    path = tmp_path / "endpoints.json"
    if content is not None:
        path.write_text(content)

    # when / then
    with pytest.raises(ConfigError) as raised:
        local_endpoint(path, {})
    assert str(path) in str(raised.value)
    assert phrase in str(raised.value)
