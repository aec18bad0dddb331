"""samconfig.toml: the environments that CI deploys."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
LEGACY_MODELS = {"amazon.titan-image-generator-v1", "amazon.titan-image-generator-v2:0"}


def overrides(environment: str, command: str = "deploy") -> dict[str, str]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    pairs = config[environment][command]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize(("environment", "command"), [("default", "deploy"), ("default", "sync"), ("prod", "deploy")])
def test_every_environment_deploys_an_active_model_the_template_accepts(environment: str, command: str) -> None:
    # given the template's rule for ModelId
    pattern = load_template()["Parameters"]["ModelId"]["AllowedPattern"]

    # when
    model_id = overrides(environment, command).get("ModelId", "")

    # then it is set, allowed, and not a legacy Titan model
    assert re.fullmatch(pattern, model_id)
    assert model_id not in LEGACY_MODELS


@pytest.mark.parametrize(("environment", "command"), [("default", "deploy"), ("default", "sync"), ("prod", "deploy")])
def test_no_environment_commits_an_alert_address(environment: str, command: str) -> None:
    assert "AlertEmail" not in overrides(environment, command)
