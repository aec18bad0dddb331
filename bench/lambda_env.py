"""The process a benchmarked function runs in: template.yaml's settings plus what Lambda itself sets.

The function's own variables (POWERTOOLS_*, BUCKET_NAME, MODEL_ID, BEDROCK_*, WORKER_CONCURRENCY, DLQ_URL,
...), its handler, code directory and layer come from template.yaml through ``local.resources.function_spec``,
the same reading the local stack uses, so nothing is copied by hand. On top come the variables the Lambda
runtime sets, because the libraries change behaviour on them:

- ``LAMBDA_TASK_ROOT`` makes Powertools' Tracer *enabled* (it disables itself outside Lambda) and makes the
  X-Ray SDK use its Lambda context; ``_X_AMZN_TRACE_ID`` (set per invocation by the runner, as the runtime
  does, ``Sampled=1``) gives the subsegments a parent. The template says ``Tracing: Active``, so on Lambda
  aws_xray_sdk is imported, botocore is patched and every AWS call is recorded: the benchmark does the same.
  Only the daemon address differs: Lambda's is a link-local address, here it is a UDP listener on loopback.
- ``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_EXECUTION_ENV``, memory size, log group and stream, region,
  session credentials.

Nothing is disabled that is on in Lambda: POWERTOOLS_TRACE_DISABLED, POWERTOOLS_DEV and friends are unset.
The process is started with ``python -I``, so no PYTHON* variable or user site of the shell leaks in.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.services import FAKE_CREDENTIALS, REGION, Endpoints

ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "imagegen-bench"
# The benchmarks run the Amazon TEXT_IMAGE format (Titan Image Generator v1, past its end of life on Bedrock but
# still a supported format): its answers carry up to five images per call, the heaviest payload the core
# handles, and the baselines in bench/baseline_handlers.py speak it, so figures stay comparable across runs.
MODEL = {"MODEL_ID": "amazon.titan-image-generator-v1", "BEDROCK_REGION": "us-east-1"}
# The Bedrock stand-in judges lifecycles by its clock: the benchmarks run it on a day Titan still answered.
STANDIN_TODAY = "2026-06-01"
JOBS_TABLE = "imagegen-bench-jobs"
ACCOUNT_ID = "123456789012"  # moto's default account
API_FUNCTION, WORKER_FUNCTION = "GenerateImageFunction", "SqsWorkerFunction"
BUCKET_ID, QUEUE_ID, DLQ_ID, JOBS_TABLE_ID = "ImageBucket", "ImageQueue", "ImageDeadLetterQueue", "JobsTable"
_HOME = Path(tempfile.gettempdir()) / "imagegen-bench-home"  # no ~/.aws of the user's


def bucket_name() -> str:
    """The bucket name the template's ``!Ref ImageBucket`` resolves to for the benchmark's stack."""
    return f"{STACK_NAME}-{BUCKET_ID}".lower()


@dataclass(frozen=True)
class FunctionSetup:
    """What a benchmark child needs: the handler (``module.function``), its sys.path entries, its environment."""

    handler: str
    paths: tuple[str, ...]
    environment: dict[str, str]


def baseline_of(function: FunctionSetup, handler_name: str) -> FunctionSetup:
    """The naive baseline (``bench/baseline_handlers.py``) in the same environment as ``function``."""
    return FunctionSetup(f"baseline_handlers.{handler_name}", (str(ROOT / "bench"),), function.environment)


def lambda_function(logical_id: str, endpoints: Endpoints, dlq_url: str) -> FunctionSetup:
    """``logical_id`` of template.yaml as Lambda would run it, talking to ``endpoints``.

    The worker's own queue (QUEUE_URL, used only to hand throttled messages back) is the DLQ's URL without its
    ``-dlq`` suffix, which these benchmarks never throttle and so do not create.
    """
    from local.intrinsics import Resolver
    from local.resources import function_spec
    from local.template import load_template

    template = load_template(ROOT / "template.yaml")
    resolver = Resolver(template, REGION, ACCOUNT_ID, STACK_NAME)
    resolver.refs[BUCKET_ID] = bucket_name()
    resolver.refs[DLQ_ID] = dlq_url
    resolver.refs[QUEUE_ID] = dlq_url.removesuffix("-dlq")
    resolver.refs[JOBS_TABLE_ID] = JOBS_TABLE
    spec = function_spec(
        template, resolver, logical_id, root=ROOT, environment=lambda_runtime_environment(endpoints), overrides=MODEL
    )
    environment = dict(spec.environment)
    environment["AWS_LAMBDA_LOG_STREAM_NAME"] = "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef"
    return FunctionSetup(spec.handler, tuple(str(path) for path in spec.paths), environment)


def lambda_runtime_environment(endpoints: Endpoints) -> dict[str, str]:
    """What the Lambda runtime sets in every function's process (the function's own variables come on top)."""
    _HOME.mkdir(exist_ok=True)
    daemon_host, daemon_port = endpoints.xray_address.rsplit(":", 1)
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "HOME": str(_HOME),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **FAKE_CREDENTIALS,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": endpoints.xray_address,
        "_AWS_XRAY_DAEMON_ADDRESS": daemon_host,
        "_AWS_XRAY_DAEMON_PORT": daemon_port,
        "AWS_ENDPOINT_URL_S3": endpoints.aws_url,
        "AWS_ENDPOINT_URL_SQS": endpoints.aws_url,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoints.aws_url,
        "AWS_ENDPOINT_URL_EVENTBRIDGE": endpoints.aws_url,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": endpoints.bedrock_url,
    }
