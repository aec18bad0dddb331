"""`imagegen preflight`: will the model this deployment is about to use answer? Asked of Bedrock, before deploying.

For the model and Bedrock region of a samconfig environment (or given with flags / MODEL_ID and BEDROCK_REGION)
it checks, in order, and says exactly what to change when a check fails:

1. the id is of a request format the service speaks (the core's catalog, shipped as ``models.json``);
2. the catalog does not list it as past its end of life;
3. Bedrock offers it in that region (``GetFoundationModel``), ACTIVE (not LEGACY), making images, on demand
   (or, for an inference profile id, ``GetInferenceProfile`` says the profile is ACTIVE);
4. this account may use it (``GetFoundationModelAvailability``): authorized, entitled, and for a
   Marketplace model (Stability) subscribed;
5. with ``--canary``: one real generation (about one image's price) whose answer must be a PNG. As the first
   invocation of a Marketplace model, it also subscribes the account when the caller may
   (``aws-marketplace:Subscribe``), which the functions' roles deliberately may not (docs/architecture.md): an
   account that is not subscribed yet then passes step 4 with a warning, and a last check asks Bedrock whether
   the subscription took.

The Bedrock clients honour ``AWS_ENDPOINT_URL_BEDROCK`` / ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, so the same
checks run against the local stand-in; ``--local`` points them at the stand-in of ``make local`` (its
``.local/endpoints.json``) with the local stack's fake credentials. The report names the endpoint whenever it
is not AWS's own, so a pass against a stand-in is never mistaken for one against Bedrock.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from imagegen_cli.api import PNG_SIGNATURE
from imagegen_cli.aws import as_cli_error, make_client
from imagegen_cli.config import DEFAULT_ENDPOINTS_FILE, Settings, endpoints_file_credentials, read_endpoints_file
from imagegen_cli.errors import CheckFailed, ConfigError, ExitCode

GEOGRAPHIES = ("us", "eu", "apac", "global")
CANARY_PROMPT = "imagegen preflight canary: a small red circle on a white background"
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
SUBSCRIBE = (
    "run `make preflight CANARY=1` once as an identity allowed aws-marketplace:Subscribe and "
    "aws-marketplace:ViewSubscriptions: its generation subscribes the account (docs/deployment.md)"
)
SUBSCRIBE_AGAIN = (
    "these credentials may not subscribe the account: run `make preflight CANARY=1` again as an identity allowed "
    "aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions (docs/deployment.md); after a permission "
    "change Bedrock may take a few minutes to notice"
)
READ_PERMISSIONS = (
    "allow bedrock:GetFoundationModel, bedrock:GetInferenceProfile and bedrock:GetFoundationModelAvailability to "
    "the identity that runs the preflight"
)


@dataclass(frozen=True)
class Target:
    model_id: str
    region: str
    source: str  # where the two values came from, for the report


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # not fatal: printed, but the preflight still passes


@dataclass(frozen=True)
class Endpoint:
    """Where the Bedrock calls go: AWS (``url`` None, the default credentials) or a stand-in."""

    url: str | None = None
    credentials: tuple[str, str] | None = None
    source: str = ""  # for the report: the variable or file that named it

    def session(self, region: str) -> Any:
        key_id, secret = self.credentials or (None, None)
        return boto3.session.Session(region_name=region, aws_access_key_id=key_id, aws_secret_access_key=secret)


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "preflight",
        parents=parents,
        help="check that the configured Bedrock model exists, is ACTIVE and usable (run before a deploy)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--config-env", metavar="ENV", help="the samconfig.toml environment to check (e.g. default)")
    parser.add_argument("--samconfig", type=Path, default=Path("samconfig.toml"), metavar="FILE")
    parser.add_argument("--model-id", metavar="ID", help="the model to check [MODEL_ID]")
    parser.add_argument("--bedrock-region", metavar="REGION", help="where it is called [BEDROCK_REGION]")
    parser.add_argument("--canary", action="store_true", help="also make one real generation (costs one image)")
    parser.add_argument("--allow-legacy", action="store_true", help="pass a LEGACY model with a warning")
    parser.add_argument(
        "--local",
        action="store_true",
        help="ask the Bedrock stand-in of `make local` (.local/endpoints.json, or --endpoints FILE), not AWS",
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(run=run, needs=(), wants=())


def run(args: argparse.Namespace, settings: Settings) -> int:
    catalog = load_catalog()
    target = resolve_target(args, os.environ, catalog)
    endpoint = local_endpoint(args.endpoints, os.environ) if args.local else environment_endpoint(os.environ)
    checks = list(
        preflight(target, canary=args.canary, allow_legacy=args.allow_legacy, endpoint=endpoint, catalog=catalog)
    )
    failed = [check for check in checks if not check.ok]
    if args.json:
        report = {"model_id": target.model_id, "region": target.region, "bedrock_endpoint": endpoint.url}
        print(json.dumps({**report, "checks": [vars(c) for c in checks]}))
    else:
        print(f"preflight: {target.model_id} in {target.region} ({target.source})")
        if endpoint.url:
            print(f"  Bedrock at {endpoint.url} ({endpoint.source}), not AWS")
        for check in checks:
            mark = "ok  " if check.ok and not check.warning else ("warn" if check.ok else "FAIL")
            print(f"  {mark} {check.name}: {check.detail}")
            if check.fix and (not check.ok or check.warning):
                print(f"       -> {check.fix}")
    if failed:
        raise CheckFailed(f"preflight failed: {failed[0].name}: {failed[0].detail}")
    return ExitCode.OK


def resolve_target(
    args: argparse.Namespace, env: Mapping[str, str], catalog: Mapping[str, Any] | None = None
) -> Target:
    """Flags, then MODEL_ID / BEDROCK_REGION, then the samconfig environment, then the catalog's defaults
    (``catalog``, or the shipped one when None)."""
    catalog = catalog if catalog is not None else load_catalog()
    from_config: dict[str, str] = {}
    if args.config_env:
        from_config = samconfig_parameters(args.samconfig, args.config_env)
    model_id = args.model_id or env.get("MODEL_ID") or from_config.get("ModelId") or catalog["default_model_id"]
    region = (
        args.bedrock_region
        or env.get("BEDROCK_REGION")
        or from_config.get("BedrockRegion")
        or catalog["default_region"]
    )
    source = f"samconfig.toml [{args.config_env}]" if args.config_env else "flags, environment or defaults"
    return Target(model_id=model_id.strip(), region=region.strip(), source=source)


def samconfig_parameters(path: Path, config_env: str) -> dict[str, str]:
    """The ``parameter_overrides`` of ``[config_env.deploy.parameters]`` as a dict."""
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if config_env not in config:
        known = ", ".join(name for name in config if isinstance(config[name], dict))
        raise ConfigError(f"{path} has no environment {config_env!r} (it has: {known})")
    parameters = config[config_env].get("deploy", {}).get("parameters", {})
    overrides = parameters.get("parameter_overrides", [])
    if isinstance(overrides, str):
        overrides = overrides.split()
    return dict(item.split("=", 1) for item in overrides if "=" in item)


def environment_endpoint(env: Mapping[str, str]) -> Endpoint:
    """AWS, unless AWS_ENDPOINT_URL_BEDROCK(_RUNTIME) point elsewhere (boto3 follows them by itself)."""
    for name in ENDPOINT_VARIABLES:
        if env.get(name, "").strip():
            return Endpoint(url=env[name].strip(), source=name)
    return Endpoint()


def local_endpoint(path: Path | None, env: Mapping[str, str]) -> Endpoint:
    """The local stack's Bedrock stand-in, from its endpoints file; its fake credentials unless the environment
    names an access key (as the stand-in's ``marketplace_subscribers`` knob may, to play a deployer)."""
    path = path or DEFAULT_ENDPOINTS_FILE
    if not path.exists():
        raise ConfigError(f"{path} does not exist: start the local stack with `make local` first")
    data = read_endpoints_file(path)
    url = data.get("bedrock_endpoint_url")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{path} names no bedrock_endpoint_url: restart the local stack with `make local`")
    credentials = endpoints_file_credentials(data)
    if env.get("AWS_ACCESS_KEY_ID", "").strip() and env.get("AWS_SECRET_ACCESS_KEY", "").strip():
        credentials = (env["AWS_ACCESS_KEY_ID"].strip(), env["AWS_SECRET_ACCESS_KEY"].strip())
    return Endpoint(url=url, credentials=credentials, source=f"{path}")


def load_catalog() -> dict[str, Any]:
    """The core's model catalog as published for clients (cli/src/imagegen_cli/models.json, `make catalog`)."""
    catalog: dict[str, Any] = json.loads(resources.files("imagegen_cli").joinpath("models.json").read_text())
    return catalog


def foundation_model_id(model_id: str) -> str:
    geography, _, rest = model_id.partition(".")
    return rest if geography in GEOGRAPHIES and rest else model_id


def preflight(
    target: Target,
    *,
    canary: bool = False,
    allow_legacy: bool = False,
    session: Any = None,
    today: date | None = None,
    endpoint: Endpoint | None = None,
    catalog: Mapping[str, Any] | None = None,
) -> Iterator[Check]:
    """The checks, one after the other; a failed check ends the run (the next ones would only repeat it).
    ``catalog`` is the shipped one (``load_catalog()``) unless given."""
    catalog = catalog if catalog is not None else load_catalog()
    endpoint = endpoint or Endpoint()
    session = session or endpoint.session(target.region)
    day = today or datetime.now(UTC).date()

    def client(service: str) -> Any:
        return make_client(session, service, endpoint_url=endpoint.url)

    subscription = _Subscription()
    steps: list[Callable[[], Check | None]] = [
        lambda: _family(target, catalog),
        lambda: _catalog_lifecycle(target, catalog, day),
        lambda: _offered(target, catalog, client("bedrock"), allow_legacy, day),
        lambda: _access(target, client("bedrock"), canary, subscription),
    ]
    if canary:
        steps.append(lambda: _canary(target, catalog, client("bedrock-runtime")))
        steps.append(lambda: _subscribed(target, client("bedrock")) if subscription.by_canary else None)
    for step in steps:
        try:
            check = step()
        except (BotoCoreError, ClientError) as exc:
            error = as_cli_error(exc)
            if error.exit_code != ExitCode.API:
                raise error from None
            check = Check("Bedrock", False, error.explain().splitlines()[0])
        if check is None:
            continue
        yield check
        if not check.ok:
            return


def _live_models(catalog: Mapping[str, Any], today: date, excluding: str = "") -> str:
    live = [
        f"{model['model_id']} ({', '.join(model['regions'])})"
        for model in catalog["models"]
        if not model["end_of_life"] or date.fromisoformat(model["end_of_life"]) > today
        if not model["legacy_since"] or date.fromisoformat(model["legacy_since"]) > today
        if model["model_id"] != excluding
    ]
    return "; ".join(live)


def _how_to_switch(catalog: Mapping[str, Any], today: date | None = None, excluding: str = "") -> str:
    """Which live models to switch to (never ``excluding``, the one that just failed), and where to set them."""
    live = _live_models(catalog, today or datetime.now(UTC).date(), excluding)
    return (
        "set ModelId and BedrockRegion (samconfig.toml parameter_overrides, or MODEL_ID/BEDROCK_REGION) to a live "
        f"model where it is offered: {live}"
    )


def _family(target: Target, catalog: Mapping[str, Any]) -> Check:
    base = foundation_model_id(target.model_id)
    for family, prefixes in catalog["family_prefixes"].items():
        if base.startswith(tuple(prefixes)):
            return Check("request format", True, f"{family} format")
    supported = ", ".join(f"{p}*" for prefixes in catalog["family_prefixes"].values() for p in prefixes)
    return Check("request format", False, f"no supported format for {target.model_id} ({supported})",
                 _how_to_switch(catalog))  # fmt: skip


def _catalog_lifecycle(target: Target, catalog: Mapping[str, Any], today: date) -> Check:
    base = foundation_model_id(target.model_id)
    model = next((m for m in catalog["models"] if m["model_id"] == base), None)
    if model is None:
        return Check("catalog", True, f"{base} is not in the catalog; its family's limits apply", warning=True)
    end_of_life = model["end_of_life"] and date.fromisoformat(model["end_of_life"])
    if end_of_life and end_of_life <= today:
        detail = f"{model['name']} reached its end of life on Bedrock on {end_of_life.isoformat()}"
        return Check("catalog", False, detail, _how_to_switch(catalog, today))
    is_profile = base != target.model_id  # a profile is called in its source region, which the catalog does not list
    if target.region not in model["regions"] and not is_profile:
        detail = f"the catalog lists {base} in {', '.join(model['regions'])}, not {target.region}"
        return Check("catalog", True, detail, f"set BedrockRegion to {model['regions'][0]}", warning=True)
    return Check("catalog", True, f"{model['name']}, listed in {', '.join(model['regions'])}")


def _offered(target: Target, catalog: Mapping[str, Any], bedrock: Any, allow_legacy: bool, today: date) -> Check:
    base = foundation_model_id(target.model_id)
    try:
        details = bedrock.get_foundation_model(modelIdentifier=base)["modelDetails"]
    except ClientError as exc:
        code, message = _error(exc)
        if code in ("ResourceNotFoundException", "ValidationException"):
            detail = f"Bedrock in {target.region} does not offer {base} ({code}: {message})"
            return Check("offered in region", False, detail, _where_offered(base, catalog, today))
        if code == "AccessDeniedException":
            detail = f"cannot tell: bedrock:GetFoundationModel is denied to these credentials ({message})"
            return Check("offered in region", False, detail, READ_PERMISSIONS)
        raise
    status = (details.get("modelLifecycle") or {}).get("status", "ACTIVE")
    if "IMAGE" not in details.get("outputModalities", []):
        return Check("offered in region", False, f"{base} does not make images", _how_to_switch(catalog, today, base))
    if status != "ACTIVE":
        return _not_active(target, details, status, allow_legacy, _how_to_switch(catalog, today, base))
    if base != target.model_id:
        return _profile(target, bedrock)
    if "ON_DEMAND" not in details.get("inferenceTypesSupported", []):
        kinds = ", ".join(details.get("inferenceTypesSupported", [])) or "none"
        fix = f"use an inference profile id such as us.{base} (with its source region as BedrockRegion)"
        return Check("offered in region", False, f"{base} is not on demand in {target.region} ({kinds})", fix)
    return Check("offered in region", True, f"{details.get('modelName', base)} is ACTIVE in {target.region}")


def _where_offered(base: str, catalog: Mapping[str, Any], today: date) -> str:
    """Where to call ``base`` instead, when the catalog lists it; else which live models to switch to."""
    model = next((m for m in catalog["models"] if m["model_id"] == base), None)
    if model is None:
        return _how_to_switch(catalog, today, base)
    regions = " or ".join(model["regions"])
    return f"set BedrockRegion to {regions}, where the catalog lists {base}; or {_how_to_switch(catalog, today, base)}"


def _not_active(target: Target, details: Mapping[str, Any], status: str, allow_legacy: bool, fix: str) -> Check:
    base = foundation_model_id(target.model_id)
    end_of_life = (details.get("modelLifecycle") or {}).get("endOfLifeTime")
    when = f" on {end_of_life:%Y-%m-%d}" if isinstance(end_of_life, datetime) else ""
    detail = f"{base} is {status} in {target.region}: Bedrock will retire it{when}"
    if not allow_legacy:
        fix = f"{fix} (or pass --allow-legacy to deploy it anyway)"
    return Check("offered in region", allow_legacy, detail, fix, warning=allow_legacy)


def _profile(target: Target, bedrock: Any) -> Check:
    try:
        profile = bedrock.get_inference_profile(inferenceProfileIdentifier=target.model_id)
    except ClientError as exc:
        code, message = _error(exc)
        if code in ("ResourceNotFoundException", "ValidationException"):
            fix = f"check the profile id, or use {foundation_model_id(target.model_id)} in a region that offers it"
            detail = f"no inference profile {target.model_id} in {target.region} ({code}: {message})"
            return Check("offered in region", False, detail, fix)
        if code == "AccessDeniedException":
            detail = f"cannot tell: bedrock:GetInferenceProfile is denied to these credentials ({message})"
            return Check("offered in region", False, detail, READ_PERMISSIONS)
        raise
    regions = sorted({arn.split(":")[3] for arn in (m.get("modelArn", "") for m in profile.get("models", [])) if arn})
    if profile.get("status") != "ACTIVE":
        return Check("offered in region", False, f"profile {target.model_id} is {profile.get('status')}")
    return Check("offered in region", True, f"profile {target.model_id} routes to {', '.join(regions) or '?'}")


@dataclass
class _Subscription:
    """Whether the access check left the Marketplace subscription to the canary's generation."""

    by_canary: bool = False


def _access(target: Target, bedrock: Any, canary: bool, subscription: _Subscription) -> Check:
    base = foundation_model_id(target.model_id)
    try:
        availability = bedrock.get_foundation_model_availability(modelId=base)
    except ClientError as exc:
        if _error(exc)[0] == "AccessDeniedException":
            detail = "cannot tell: bedrock:GetFoundationModelAvailability is denied to these credentials"
            return Check("access", True, detail, "run with --canary to try one generation instead", warning=True)
        raise
    problems = _access_problems(availability, target.region)
    agreement = (availability.get("agreementAvailability") or {}).get("status", "AVAILABLE")
    if agreement in ("AVAILABLE", "PENDING"):
        if problems:
            return Check("access", False, "; ".join(problems))
        if agreement == "PENDING":
            detail = "its AWS Marketplace subscription is still being set up"
            return Check("access", True, detail, "retry in a few minutes if the first calls are refused", warning=True)
        return Check("access", True, "authorized, entitled and subscribed")
    unsubscribed = "the account has not subscribed to it on AWS Marketplace"
    if canary and not problems:
        subscription.by_canary = True
        fix = "the canary's generation subscribes it, if these credentials may aws-marketplace:Subscribe"
        return Check("access", True, unsubscribed, fix, warning=True)
    return Check("access", False, "; ".join([*problems, unsubscribed]), SUBSCRIBE)


def _access_problems(availability: Mapping[str, Any], region: str) -> list[str]:
    """What GetFoundationModelAvailability says is in the way, Marketplace aside."""
    problems = []
    if availability.get("authorizationStatus") != "AUTHORIZED":
        problems.append("these credentials are not authorized to invoke it (IAM or an SCP denies bedrock:InvokeModel)")
    if availability.get("entitlementAvailability") != "AVAILABLE":
        problems.append("the account is not entitled to it")
    if availability.get("regionAvailability") != "AVAILABLE":
        problems.append(f"it is not available in {region}")
    return problems


def _subscribed(target: Target, bedrock: Any) -> Check:
    """After a canary that was to subscribe the account: does Bedrock say it did?"""
    base = foundation_model_id(target.model_id)
    availability = bedrock.get_foundation_model_availability(modelId=base)
    agreement = (availability.get("agreementAvailability") or {}).get("status")
    if agreement == "AVAILABLE":
        return Check("subscription", True, f"the canary subscribed the account to {base} on AWS Marketplace")
    detail = f"Bedrock reports the subscription as {agreement} so far (it can take up to 15 minutes)"
    return Check("subscription", True, detail, "run `make preflight` again later to confirm", warning=True)


def _canary(target: Target, catalog: Mapping[str, Any], runtime: Any) -> Check:
    family = next(f for f, prefixes in catalog["family_prefixes"].items()
                  if foundation_model_id(target.model_id).startswith(tuple(prefixes)))  # fmt: skip
    started = time.monotonic()
    try:
        response = runtime.invoke_model(
            modelId=target.model_id, body=json.dumps(_canary_body(family)), contentType="application/json",
            accept="application/json",
        )  # fmt: skip
        answer = json.loads(response["body"].read())
    except ClientError as exc:
        code, message = _error(exc)
        fix = SUBSCRIBE_AGAIN if code == "AccessDeniedException" and "aws-marketplace" in message else ""
        return Check("canary", False, f"Bedrock refused the generation ({code}: {message})", fix)
    except ValueError:
        return Check("canary", False, "the model's answer is not JSON")
    elapsed = time.monotonic() - started
    images = answer.get("images") if isinstance(answer, dict) else None
    if not images or not isinstance(images[0], str):
        reasons = (answer.get("finish_reasons") or answer.get("error")) if isinstance(answer, dict) else answer
        return Check("canary", False, f"the model answered without an image ({reasons})")
    try:
        png = base64.b64decode(images[0], validate=True)
    except (binascii.Error, ValueError):
        return Check("canary", False, "the model's image is not valid base64")
    if not png.startswith(PNG_SIGNATURE):
        return Check("canary", False, "the model's image is not a PNG")
    return Check("canary", True, f"one {len(png):,}-byte PNG in {elapsed:.1f} s")


def _error(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", ""))


def _canary_body(family: str) -> dict[str, Any]:
    """The smallest valid request of each format (the core's families build the real ones)."""
    if family == "stability":
        return {"prompt": CANARY_PROMPT, "aspect_ratio": "1:1", "output_format": "png", "seed": 1}
    return {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": CANARY_PROMPT},
        "imageGenerationConfig": {"numberOfImages": 1, "width": 512, "height": 512, "seed": 1},
    }
