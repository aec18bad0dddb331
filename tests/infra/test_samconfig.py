"""samconfig.toml: the environments that CI deploys."""

from __future__ import annotations

import re
import tomllib
from datetime import date

import pytest

from imagegen_core.catalog import spec_for
from local.template import load_template
from tests.helpers import ROOT


def overrides(environment: str, command: str = "deploy") -> dict[str, str]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    pairs = config[environment][command]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize(("environment", "command"), [("default", "deploy"), ("default", "sync"), ("prod", "deploy")])
def test_every_environment_deploys_a_live_model_in_a_region_that_offers_it(environment: str, command: str) -> None:
    # given the template's parameters and the environment's overrides
    parameters = load_template()["Parameters"]
    chosen = overrides(environment, command)

    # when the model and the Bedrock region it deploys are read (an override, else the template's default)
    model_id = chosen.get("ModelId", parameters["ModelId"]["Default"])
    region = chosen.get("BedrockRegion", parameters["BedrockRegion"]["Default"])

    # then the template accepts the model, and the catalog says it is ACTIVE today and offered in that region
    spec = spec_for(model_id)
    assert re.fullmatch(parameters["ModelId"]["AllowedPattern"], model_id)
    assert spec.lifecycle.status_on(date.today()) == "ACTIVE", f"{model_id} is {spec.lifecycle.status_on(date.today())}"
    assert region in spec.regions, f"{model_id} is not offered in {region}"


@pytest.mark.parametrize(("environment", "command"), [("default", "deploy"), ("default", "sync"), ("prod", "deploy")])
def test_no_environment_commits_an_alert_address(environment: str, command: str) -> None:
    assert "AlertEmail" not in overrides(environment, command)
