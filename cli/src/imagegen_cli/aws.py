"""AWS clients built from the settings, the stack-outputs reader, and botocore failures as CLI errors."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from imagegen_cli import __version__
from imagegen_cli.config import API_KEY_ID_OUTPUT, STACK_OUTPUTS, Settings
from imagegen_cli.console import one_line
from imagegen_cli.errors import AwsError, CliError, ConfigError, NetworkError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

# Bounded: a CLI should fail in seconds, not retry for a minute against a stopped local stack.
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"mode": "standard"},  # 3 attempts; AWS_MAX_ATTEMPTS overrides
    user_agent_extra=f"imagegen-cli/{__version__}",
)

_HINTS = {
    "AWS.SimpleQueueService.NonExistentQueue": "check the queue URL (--queue-url / SQS_QUEUE_URL)",
    "QueueDoesNotExist": "check the queue URL (--queue-url / SQS_QUEUE_URL)",
    "NoSuchBucket": "check the bucket name (--bucket / IMAGEGEN_BUCKET)",
    "AccessDenied": "the AWS credentials in use lack the permission for this call",
    "AccessDeniedException": "the AWS credentials in use lack the permission for this call",
    "InvalidClientTokenId": "the AWS credentials are not valid",
    "ExpiredToken": "the AWS session has expired: refresh the credentials",
}


class AwsClients:
    """One boto3 session for a command; each client is made on first use and reused."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def session(self) -> boto3.session.Session:
        key_id, secret = self.settings.credentials or (None, None)
        return boto3.session.Session(
            region_name=self.settings.region, aws_access_key_id=key_id, aws_secret_access_key=secret
        )

    def _client(self, service: str) -> Any:
        return make_client(self.session, service, endpoint_url=self.settings.endpoint_url)

    @cached_property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @cached_property
    def s3(self) -> S3Client:
        client: S3Client = self._client("s3")
        return client


def answer_field(answer: Any, name: str, kind: type, call: str) -> Any:
    """``answer[name]`` when it is a ``kind``; otherwise an AwsError: what answered is not the AWS service
    the call was meant for (an --endpoint-url pointing elsewhere), and nothing can be made of it."""
    value = answer.get(name) if isinstance(answer, dict) else None
    if not isinstance(value, kind):
        raise AwsError(f"the answer to {call} has no {name}: is the endpoint URL an AWS (or emulation) endpoint?")
    return value


def answer_items(answer: Any, name: str) -> list[dict[str, Any]]:
    """The objects of the list ``answer[name]`` (an absent list is empty; entries that are not objects are dropped)."""
    value = answer.get(name) if isinstance(answer, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def make_client(session: boto3.session.Session, service: str, endpoint_url: str | None = None) -> Any:
    """A client, or a ConfigError when botocore refuses its settings (a region or endpoint URL, possibly
    from a variable botocore reads itself, such as AWS_ENDPOINT_URL_SQS)."""
    try:
        return session.client(service, endpoint_url=endpoint_url, config=CLIENT_CONFIG)  # type: ignore[call-overload]
    except ValueError as exc:  # botocore's InvalidRegionError is a ValueError too
        raise ConfigError(f"cannot set up the AWS {service} client: {one_line(exc, 200)}") from None


def read_stack_settings(stack: str, region: str | None, with_api_key: bool) -> dict[str, str]:
    """Settings from a deployed stack's outputs; the API key's value comes from API Gateway by its id."""
    session = boto3.session.Session(region_name=region)
    cloudformation: Any = make_client(session, "cloudformation")
    try:
        stacks = answer_items(cloudformation.describe_stacks(StackName=stack), "Stacks")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ValidationError":
            where = session.region_name or "the default region"
            message = f"stack {stack!r} was not found in {where}: pass --region if it lives elsewhere"
            raise ConfigError(message) from None
        raise
    if not stacks:
        raise AwsError(f"CloudFormation DescribeStacks answered no stack named {stack!r}")
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in answer_items(stacks[0], "Outputs")
        if isinstance(o.get("OutputKey"), str) and isinstance(o.get("OutputValue"), str)
    }
    found = {name: outputs[key] for name, key in STACK_OUTPUTS.items() if key in outputs}
    if with_api_key and API_KEY_ID_OUTPUT in outputs:
        apigateway: Any = make_client(session, "apigateway")
        key = apigateway.get_api_key(apiKey=outputs[API_KEY_ID_OUTPUT], includeValue=True)
        found["api_key"] = answer_field(key, "value", str, "API Gateway GetApiKey")
    if session.region_name:
        found["region"] = session.region_name
    return found


def as_cli_error(exc: BotoCoreError | ClientError) -> CliError:
    """botocore's failure as the CLI error (and so the exit code) it amounts to."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ConfigError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
            "(the local stack needs none: run from the repository with .local/endpoints.json present)"
        )
    if isinstance(exc, NoRegionError):
        return ConfigError("no AWS region: pass --region REGION or set AWS_REGION")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError):
        return NetworkError(f"could not reach AWS: {one_line(exc)}")
    if isinstance(exc, ParamValidationError):
        return ConfigError(f"invalid AWS request parameters: {one_line(exc)}")
    if isinstance(exc, ValueError):  # InvalidRegionError and other settings botocore refuses
        return ConfigError(f"invalid AWS settings: {one_line(exc)}")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = one_line(error.get("Code", "Unknown"), 64)
        text = f"AWS {exc.operation_name} failed ({code}): {one_line(error.get('Message', ''))}".rstrip(": ")
        hint = _HINTS.get(code)
        return AwsError(f"{text}\n{hint}" if hint else text)
    return AwsError(f"AWS call failed: {one_line(exc)}")
