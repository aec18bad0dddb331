"""Exit codes and the errors behind them: every failure the CLI reports is one of these."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from imagegen_cli.console import one_line


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1  # an unexpected failure: a bug in imagegen
    USAGE = 2  # bad arguments, or configuration missing or invalid, or an output folder that cannot be used
    API = 3  # the service (or AWS) answered with an error, or with an answer that is not usable
    NETWORK = 4  # nothing answered: connection refused, timeout, DNS
    PARTIAL = 5  # some of the work was done, some was not
    CHECK_FAILED = 6  # a check (preflight, smoke) found the deployment unfit; the report says why
    STILL_RUNNING = 7  # the job is still queued or running (`job --wait` timed out, `job --out` had nothing yet)
    INTERRUPTED = 130  # Ctrl-C


# What each exit code means, for --help (the READMEs carry the same table).
EXIT_CODE_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.INTERNAL: "unexpected failure: a bug in imagegen (IMAGEGEN_DEBUG=1 shows the traceback)",
    ExitCode.USAGE: "usage or configuration error (bad arguments, a setting missing or invalid, --out unusable)",
    ExitCode.API: "API error: the service or AWS answered with an error (4xx/5xx) or an unusable answer; a job failed",
    ExitCode.NETWORK: "network error: connection refused, timeout, DNS",
    ExitCode.PARTIAL: "partial failure: some prompts not queued, or some images not downloaded",
    ExitCode.CHECK_FAILED: "a check failed (preflight, smoke): the report says which and what to change",
    ExitCode.STILL_RUNNING: "job not finished (queued or running): job --wait timed out, or job --out had nothing yet",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


class CliError(Exception):
    """A failure with a message for a person and the exit code that tells a script what happened.

    ``explain()`` is what the user reads after ``imagegen: ``. Its first line says what failed, on its own;
    any further lines say what to do about it.
    """

    exit_code = ExitCode.API

    def explain(self) -> str:
        return str(self)


class ConfigError(CliError):
    """Configuration is missing or invalid; the message says what and how to provide it."""

    exit_code = ExitCode.USAGE


class UsageError(ConfigError):
    """The command line itself is wrong (argparse's complaint), with a pointer to the command's --help."""


class InternalError(CliError):
    """Anything nobody planned for: reported in one line, with the way to see the traceback."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, error: BaseException) -> None:
        detail = one_line(f"{type(error).__name__}: {error}", 200)
        super().__init__(
            f"unexpected failure, a bug in imagegen ({detail}); IMAGEGEN_DEBUG=1 shows the traceback, please report it"
        )


class NetworkError(CliError):
    """The other side could not be reached or did not answer in time."""

    exit_code = ExitCode.NETWORK


class CheckFailed(CliError):
    """A preflight or smoke check failed; the report above it says which and what to change."""

    exit_code = ExitCode.CHECK_FAILED


class PartialFailure(CliError):
    """Part of the work failed; what succeeded has already been printed."""

    exit_code = ExitCode.PARTIAL


# Which option of `imagegen generate` / `submit` sets each field of the API's request body.
FIELD_OPTIONS = {
    "prompt": "the prompt",
    "negative_prompt": "--negative",
    "width": "--size (width)",
    "height": "--size (height)",
    "number_of_images": "--n",
    "cfg_scale": "--cfg-scale",
    "seed": "--seed",
    "quality": "--quality",
}


class ApiError(CliError):
    """The API answered with an error. ``code`` is the API's error code (or ``http_<status>``)."""

    exit_code = ExitCode.API

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int,
        details: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        retry_after: str | None = None,
        body: Any = None,
        api_url: str = "",
    ) -> None:
        # Everything here may come from the other side: one printable line each, bounded.
        code, message = one_line(code, 64), one_line(message, 300)
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = [_detail(d) for d in (details or [])[:_MAX_DETAILS] if isinstance(d, dict)]
        self.request_id = one_line(request_id, 100) if isinstance(request_id, str | int) else None
        self.retry_after = one_line(retry_after, 40) if retry_after else None
        self.body = body
        self.api_url = api_url
        self.api_key_sent = True

    def explain(self) -> str:
        explain = _EXPLANATIONS.get(self.code, _explain_unknown)
        first, newline, rest = explain(self).partition("\n")
        if self.request_id:  # on the first line: the one a script or a log keeps
            first += f" (request id {self.request_id})"
        return first + newline + rest


_MAX_DETAILS = 20


def _detail(detail: dict[str, Any]) -> dict[str, str]:
    return {
        "field": one_line(detail.get("field", "body"), 60),
        "message": one_line(detail.get("message", "invalid"), 200),
    }


def _explain_validation(error: ApiError) -> str:
    lines = [f"the API rejected the request (HTTP {error.status} validation_error): {error.message}"]
    for detail in error.details:
        field = detail["field"]
        lines.append(f"  {FIELD_OPTIONS.get(field, field)}: {detail['message']}")
    return "\n".join(lines)


def _explain_invalid_json(error: ApiError) -> str:
    return (
        f"the API could not read the request body as JSON (HTTP {error.status} invalid_json): {error.message}\n"
        "imagegen always sends JSON, so a proxy in between may have changed the body; please report this."
    )


def _explain_content_filtered(error: ApiError) -> str:
    return (
        f"the content filter blocked the prompt or the image (HTTP {error.status} content_filtered): "
        f"{error.message}\nRephrase the prompt (or --negative) and try again."
    )


def _explain_throttled(error: ApiError) -> str:
    wait = f"retry after {error.retry_after} seconds" if error.retry_after else "retry in a little while"
    return f"the service is busy (HTTP {error.status} throttled): {error.message}\nToo many requests right now: {wait}."


def _explain_quota(error: ApiError) -> str:
    return (
        f"this API key's quota is used up (HTTP {error.status} quota_exceeded): {error.message}\n"
        "Wait for the usage plan's quota period to reset, or ask the stack's owner for a larger quota."
    )


def _explain_model(error: ApiError) -> str:
    return (
        f"the image model failed (HTTP {error.status} model_error): {error.message}\n"
        "If this repeats, the model may not be enabled in the stack's Bedrock region, or may not exist.\n"
        "The model is the stack's MODEL_ID setting: grant access to it in the Bedrock console (Model access),\n"
        "or redeploy with another model, e.g.\n"
        "  sam deploy --parameter-overrides ModelId=stability.stable-image-core-v1:1 BedrockRegion=us-west-2"
        "   (or stability.sd3-5-large-v1:0)\n"
        "(locally: LOCAL_MODEL_ID=<id> make local)."
    )


def _explain_internal(error: ApiError) -> str:
    return (
        f"the service failed (HTTP {error.status} internal_error): {error.message}\n"
        "Try again; if it keeps failing, look the request id up in the function's logs."
    )


def _explain_forbidden(error: ApiError) -> str:
    refused = "refused the API key" if error.api_key_sent else "needs an API key and none was sent"
    return (
        f"the API {refused} (HTTP {error.status} forbidden): {error.message}\n"
        "Send a valid key: --api-key KEY or IMAGEGEN_API_KEY, or --stack NAME to read it from the deployed stack\n"
        "(`aws apigateway get-api-key --api-key <ApiKeyId output> --include-value`); the local stack's key is in "
        ".local/endpoints.json."
    )


def _explain_not_found(error: ApiError) -> str:
    return (
        f"the API has no such route (HTTP {error.status} not_found): {error.message}\n"
        f"Check the API URL {error.api_url!r}: it must be the full POST URL ending in /generate-image "
        "(the stack's ApiUrl output)."
    )


def _explain_unknown(error: ApiError) -> str:
    return f"the API answered HTTP {error.status} ({error.code}): {error.message}"


_EXPLANATIONS = {
    "validation_error": _explain_validation,
    "invalid_json": _explain_invalid_json,
    "content_filtered": _explain_content_filtered,
    "throttled": _explain_throttled,
    "quota_exceeded": _explain_quota,
    "model_error": _explain_model,
    "internal_error": _explain_internal,
    "forbidden": _explain_forbidden,
    "not_found": _explain_not_found,
}


class AwsError(CliError):
    """An AWS service (SQS, S3, CloudFormation) answered with an error."""

    exit_code = ExitCode.API


class JobFailed(ApiError):
    """A job ended ``failed``: its error code explained as the API's own errors are, under the job's id."""

    def __init__(self, job_id: str, code: str, message: str) -> None:
        super().__init__(code, message, status=200)
        self.job_id = one_line(job_id, 100)

    def explain(self) -> str:
        # The advice (every line after the first) is the one the API's error of the same code gets.
        _, newline, advice = super().explain().partition("\n")
        return f"job {self.job_id} failed ({self.code}): {self.message}" + newline + advice


class JobNotFound(ApiError):
    """``GET /jobs/{id}`` answered 404: no such job (yet), or no jobs route at that URL."""

    def __init__(self, job_id: str, error: ApiError) -> None:
        super().__init__(error.code, error.message, status=error.status, request_id=error.request_id, body=error.body)
        self.job_id = one_line(job_id, 100)
        self.api_url = error.api_url

    def explain(self) -> str:
        request = f" (request id {self.request_id})" if self.request_id else ""
        return (
            f"no job {self.job_id} (HTTP {self.status} {self.code}): {self.message}{request}\n"
            "Check the id (`imagegen jobs` lists the recent ones). A message sent straight to the queue becomes a\n"
            "job when the worker first receives it, and jobs expire after the stack's retention period.\n"
            f"If no id is ever found, the API at {one_line(self.api_url, 200)!r} has no jobs: deploy the current "
            "template (or restart `make local`), or check the API URL."
        )


class JobsRouteMissing(ApiError):
    """``POST /jobs`` or ``GET /jobs`` answered 404: the stack predates jobs, or the URL is not the API's."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.code, error.message, status=error.status, request_id=error.request_id, body=error.body)
        self.api_url = error.api_url

    def explain(self) -> str:
        request = f" (request id {self.request_id})" if self.request_id else ""
        return (
            f"the API has no jobs route (HTTP {self.status} {self.code}): {self.message}{request}\n"
            f"The stack behind {one_line(self.api_url, 200)!r} may predate jobs: deploy the current template "
            "(or restart `make local`).\nOr the API URL is wrong: it is the stack's ApiUrl output "
            "(.../generate-image) or its ApiBaseUrl output."
        )


class StillRunning(CliError):
    """The job is not finished: ``job --wait`` reached its timeout, or ``job --out`` found no images yet."""

    exit_code = ExitCode.STILL_RUNNING

    def __init__(
        self, job_id: str, status: str, waited: float | None = None, last_answer: dict[str, Any] | None = None
    ) -> None:
        self.last_answer = last_answer  # the API's last answer about the job, for --json
        job_id, status = one_line(job_id, 100), one_line(status, 40)
        if waited is None:
            message = (
                f"job {job_id} is {status}: no images to save yet\n"
                f"`imagegen job {job_id} --wait --out DIR` waits for them."
            )
        else:
            message = (
                f"job {job_id} is still {status} after {waited:g} seconds of waiting; it goes on:\n"
                f"`imagegen job {job_id} --wait` waits again (--timeout SECONDS to wait longer)."
            )
        super().__init__(message)
