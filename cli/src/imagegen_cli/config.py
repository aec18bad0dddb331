"""Where the CLI finds the API, the queue and the bucket.

Each setting is taken from the first source that has it:

1. a command-line flag (``--api-url``, ``--queue-url``, ...);
2. an environment variable (``IMAGEGEN_API_URL``, ``SQS_QUEUE_URL``, ``AWS_REGION``, ...);
3. the outputs of a deployed CloudFormation stack named with ``--stack`` (or ``IMAGEGEN_STACK``);
4. the local stack's ``.local/endpoints.json`` (or ``--endpoints FILE``), which also brings the AWS
   endpoint URL and fake credentials for the local AWS emulation. When the endpoint comes from this
   file, so does the region (unless ``--region`` is given): the two belong together.

A named stack replaces the endpoints file rather than being mixed with it: a deployed stack's queue
must never be reached through the local emulation's endpoint. The stack is read only when a setting
the command uses is still missing, so a fully configured call makes no extra request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from imagegen_cli.api import api_key_problem
from imagegen_cli.errors import ConfigError
from imagegen_cli.urls import url_problem

DEFAULT_ENDPOINTS_FILE = Path(".local/endpoints.json")
LOCAL_CREDENTIALS = ("local", "local")  # the local stack's AWS emulation accepts any credentials


@dataclass(frozen=True)
class Flags:
    """The configuration flags given on the command line (None when not given)."""

    api_url: str | None = None
    api_key: str | None = None
    queue_url: str | None = None
    dlq_url: str | None = None
    bucket: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    stack: str | None = None
    endpoints: Path | None = None


@dataclass(frozen=True)
class Settings:
    """Everything a command may need; ``sources`` says where each value came from."""

    api_url: str | None = None
    api_base_url: str | None = None  # the stage's URL, where /generate-image and /jobs live
    api_key: str | None = None
    queue_url: str | None = None
    dlq_url: str | None = None
    bucket: str | None = None
    image_prefix: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    credentials: tuple[str, str] | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def require(self, *names: str) -> None:
        """Fail with one message naming every missing setting and how to provide it."""
        missing = [name for name in names if getattr(self, name) is None]
        if missing:
            lines = [f"missing {_HOW_TO_PROVIDE[name][0]}: {_HOW_TO_PROVIDE[name][1]}" for name in missing]
            lines.append(
                "or name a deployed stack with --stack NAME [--region REGION], "
                "or start the local stack with `make local` (it writes .local/endpoints.json)."
            )
            raise ConfigError("\n".join(lines))


_HOW_TO_PROVIDE = {
    "api_url": (
        "the API URL",
        "pass --api-url URL or set IMAGEGEN_API_URL (the stack's ApiUrl output, or for jobs its ApiBaseUrl)",
    ),
    "api_key": ("the API key", "pass --api-key KEY or set IMAGEGEN_API_KEY"),
    "queue_url": ("the queue URL", "pass --queue-url URL or set SQS_QUEUE_URL (the stack's QueueUrl output)"),
    "dlq_url": (
        "the dead-letter queue URL",
        "pass --dlq-url URL or set IMAGEGEN_DLQ_URL (the stack's DeadLetterQueueUrl output)",
    ),
    "bucket": ("the bucket name", "pass --bucket NAME or set IMAGEGEN_BUCKET (the stack's BucketName output)"),
}

# Settings from the environment, in order of preference within a setting.
_ENV_NAMES = {
    "api_url": ("IMAGEGEN_API_URL",),
    "api_key": ("IMAGEGEN_API_KEY",),
    "queue_url": ("SQS_QUEUE_URL",),
    "dlq_url": ("IMAGEGEN_DLQ_URL",),
    "bucket": ("IMAGEGEN_BUCKET",),
    "image_prefix": ("IMAGEGEN_IMAGE_PREFIX",),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "endpoint_url": ("AWS_ENDPOINT_URL",),
}

# Keys of .local/endpoints.json for each setting.
_FILE_KEYS = {
    "api_url": "api_url",
    "api_base_url": "api_base_url",
    "api_key": "api_key",
    "queue_url": "queue_url",
    "dlq_url": "dlq_url",
    "bucket": "bucket",
    "image_prefix": "image_prefix",
    "region": "region",
    "endpoint_url": "aws_endpoint_url",
}

# CloudFormation outputs of the deployed stack for each setting (the API key is read by its id).
STACK_OUTPUTS = {
    "api_url": "ApiUrl",
    "api_base_url": "ApiBaseUrl",
    "queue_url": "QueueUrl",
    "dlq_url": "DeadLetterQueueUrl",
    "bucket": "BucketName",
    "image_prefix": "ImagePrefix",
}
API_KEY_ID_OUTPUT = "ApiKeyId"

StackReader = Callable[[str, str | None, bool], dict[str, str]]
"""(stack name, region, with API key) -> settings by name; see aws.read_stack_settings."""


def resolve(
    flags: Flags,
    env: Mapping[str, str],
    needs: Iterable[str],
    read_stack: StackReader,
    cwd: Path | None = None,
    wants: Iterable[str] = (),
) -> Settings:
    """The settings for a command, from the first source that has each; fails if one it ``needs`` is missing.

    ``wants`` names settings a command uses when they are there (the API key, the dead-letter queue):
    like ``needs``, a missing one makes the stack's outputs worth reading.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    _fill(values, sources, {name: getattr(flags, name, None) for name in _ENV_NAMES}, "flag")
    _fill(values, sources, _from_env(env), "environment")
    needs, wants = list(needs), list(wants)
    missing = [name for name in [*needs, *wants] if values.get(name) is None and not _stood_in_for(name, values)]
    stack = flags.stack or env.get("IMAGEGEN_STACK") or None
    if stack:
        if missing:
            _check_usable(values, sources, env, ["region"])  # the stack is read in that region
            found = read_stack(stack, values.get("region"), "api_key" in missing)
            _fill(values, sources, found, f"stack {stack}")
    else:
        local_credentials, file_region = _fill_from_endpoints_file(values, sources, flags.endpoints, cwd or Path.cwd())
        if sources.get("endpoint_url", "").startswith("file "):
            # The local emulation's region goes with its endpoint: an AWS_REGION meant for real AWS
            # would look for the queue in another (empty) region of the emulation. A flag still wins.
            if file_region and sources.get("region") != "flag":
                values["region"], sources["region"] = file_region, sources["endpoint_url"]
            if not env.get("AWS_ACCESS_KEY_ID"):
                values["credentials"] = local_credentials
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{name: value for name, value in values.items() if name in known}, sources=sources)
    settings.require(*needs)
    _check_usable(values, sources, env, _used_by(needs + wants))
    return settings


# A wanted setting that another one present stands in for does not make the stack worth reading: the
# API's base URL is the POST URL without its /generate-image.
_STAND_INS = {"api_base_url": "api_url"}


def _stood_in_for(name: str, values: Mapping[str, Any]) -> bool:
    return name in _STAND_INS and values.get(_STAND_INS[name]) is not None


# Settings that only an AWS call uses: a command that needs one of them also uses the region and endpoint.
_AWS_SETTINGS = ("queue_url", "dlq_url", "bucket")
_REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_LABELS = {
    "api_url": "the API URL",
    "api_base_url": "the API base URL",
    "api_key": "the API key",
    "queue_url": "the queue URL",
    "dlq_url": "the dead-letter queue URL",
    "endpoint_url": "the AWS endpoint URL",
    "region": "the AWS region",
}
_FLAGS = {name: "--" + name.replace("_", "-") for name in _LABELS}


def _used_by(names: list[str]) -> list[str]:
    return [*names, "region", "endpoint_url"] if any(name in _AWS_SETTINGS for name in names) else names


def _problem(name: str, value: str) -> str | None:
    """Why a setting's value cannot be used (before any request is made), or None."""
    if name in ("api_url", "api_base_url", "queue_url", "dlq_url", "endpoint_url"):
        return url_problem(value)
    if name == "api_key":
        return api_key_problem(value)
    if name == "region" and not _REGION.fullmatch(value):
        return "it is not a region name such as eu-west-1"
    return None


def _check_usable(
    values: Mapping[str, Any], sources: Mapping[str, str], env: Mapping[str, str], names: list[str]
) -> None:
    """Fail with one line naming the setting, where it came from and what is wrong with it."""
    for name in dict.fromkeys(names):
        value = values.get(name)
        problem = _problem(name, value) if isinstance(value, str) else None
        if problem:
            where = _where(name, sources.get(name, ""), env)
            raise ConfigError(f"{_LABELS[name]} ({where}) cannot be used: {problem}")


def _where(name: str, source: str, env: Mapping[str, str]) -> str:
    if source == "flag":
        return _FLAGS[name]
    if source == "environment":
        return next((v for v in _ENV_NAMES.get(name, ()) if env.get(v, "").strip()), "environment")
    if source.startswith("stack "):
        return f"{source} output {STACK_OUTPUTS.get(name, name)}"
    return source or "default"


def _from_env(env: Mapping[str, str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name, variables in _ENV_NAMES.items():
        found[name] = next((env[v].strip() for v in variables if env.get(v, "").strip()), None)
    return found


def _fill(values: dict[str, Any], sources: dict[str, str], found: Mapping[str, Any], source: str) -> None:
    for name, value in found.items():
        if values.get(name) is None and value not in (None, ""):
            values[name] = value
            sources[name] = source


def _fill_from_endpoints_file(
    values: dict[str, Any], sources: dict[str, str], path: Path | None, cwd: Path
) -> tuple[tuple[str, str], str | None]:
    """Fill what is missing from the endpoints file; the fake credentials it names (or ours), its region."""
    explicit = path is not None
    path = path if path is not None else cwd / DEFAULT_ENDPOINTS_FILE
    if not path.is_file():
        if explicit:
            raise ConfigError(f"endpoints file {path} does not exist (start the local stack with `make local`)")
        return LOCAL_CREDENTIALS, None
    data = read_endpoints_file(path)
    found = {name: _text(data.get(key)) for name, key in _FILE_KEYS.items()}
    _fill(values, sources, found, f"file {path}")
    return endpoints_file_credentials(data), found["region"]


def read_endpoints_file(path: Path) -> dict[str, Any]:
    """The JSON object of an endpoints file (``make local`` writes ``.local/endpoints.json``); ConfigError when
    it cannot be read, is not JSON or is not an object. What a missing file means is the caller's to say."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"endpoints file {path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"endpoints file {path} must hold a JSON object")
    return data


def endpoints_file_credentials(data: Mapping[str, Any]) -> tuple[str, str]:
    """The fake credentials an endpoints file names for the local emulation, or ours when it names no pair."""
    key_id, secret = _text(data.get("aws_access_key_id")), _text(data.get("aws_secret_access_key"))
    return (key_id, secret) if key_id and secret else LOCAL_CREDENTIALS


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


GENERATE_ROUTE = "/generate-image"
_SOURCE_RANKS = ("flag", "environment", "stack ", "file ")  # the order resolve() takes settings in


def api_base_url(settings: Settings) -> str:
    """The API's base URL (its stage's, where ``/jobs`` lives), without a trailing slash.

    The explicit one (the stack's ``ApiBaseUrl`` output, the endpoints file's ``api_base_url``) is preferred,
    unless the API URL came from a source that ranks higher (a flag or a variable naming another API): then,
    as when there is no explicit one, it is the API URL without its ``/generate-image`` (an API URL that
    does not end so is taken as the base URL itself).
    """
    derived = _without_generate_route(settings.api_url) if settings.api_url else None
    explicit = settings.api_base_url
    if explicit and (derived is None or _rank(settings, "api_base_url") <= _rank(settings, "api_url")):
        return explicit.rstrip("/")
    if derived is None:
        settings.require("api_url")
    assert derived is not None  # require() raised otherwise
    return derived


def _without_generate_route(url: str) -> str:
    url = url.rstrip("/")
    return (url[: -len(GENERATE_ROUTE)] if url.endswith(GENERATE_ROUTE) else url).rstrip("/")


def _rank(settings: Settings, name: str) -> int:
    source = settings.sources.get(name, "")
    return next((rank for rank, prefix in enumerate(_SOURCE_RANKS) if source.startswith(prefix)), len(_SOURCE_RANKS))
