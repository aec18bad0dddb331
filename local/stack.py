"""The whole system on one machine: moto (S3, SQS), the Bedrock stand-in, API Gateway and Lambda.

``python -m local`` starts, in order: moto with the template's bucket, DLQ and queue; the Bedrock
stand-in; a container pool per function (one container warmed at once); the API shim; the SQS poller.
Then it writes ``endpoints.json`` and prints how to use it. ``stop()`` undoes it in reverse order.
Settings come from ``LOCAL_*`` variables (``StackSettings``); docs/local-stack.md lists them.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self, TextIO

from pydantic import BeforeValidator

from imagegen_core.env_settings import ConfigError, EnvSettings, between
from local.api_shim import ApiDefinition, ApiGateway, ApiShim, TokenBucket
from local.aws_emulation import (
    ACCOUNT_ID,
    FAKE_ACCESS_KEY_ID,
    FAKE_SECRET_ACCESS_KEY,
    MotoServer,
    QueueInfo,
    aws_client,
    clients,
    create_bucket,
    create_queue,
    register_queue,
)
from local.containers import ContainerPool, FunctionSpec
from local.intrinsics import Resolver, TemplateError
from local.resources import (
    ApiThrottle,
    api_definition,
    api_throttle,
    create_table,
    function_spec,
    resource,
    sqs_event_source,
)
from local.sqs_poller import MappingSettings, SqsPoller

ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "imagegen-local"
DEFAULT_API_KEY = "local-dev-api-key"  # not a secret: the same as in events/*.json
API_ID, API_FUNCTION, WORKER_FUNCTION = "ImageApi", "GenerateImageFunction", "SqsWorkerFunction"
BUCKET_ID, QUEUE_ID, DLQ_ID = "ImageBucket", "ImageQueue", "ImageDeadLetterQueue"
JOBS_TABLE_ID = "JobsTable"
GENERATE_ROUTE = "/generate-image"
# The jobs' completions (source imagegen, README: Jobs), as a rule on the default bus would match them.
JOB_EVENT_PATTERN = {"source": ["imagegen"], "detail-type": ["Job Succeeded", "Job Failed"]}
ENDPOINTS_FILE = "endpoints.json"
FUNCTION_ENV_PREFIX = "LOCAL_ENV_"


def _on_off(value: Any) -> Any:
    """A switch's text: on/off, true/false, yes/no, 1/0 (any case)."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if text in ("1", "on", "true", "yes"):
        return True
    if text in ("0", "off", "false", "no"):
        return False
    raise ValueError("must be on or off")


def _parameter_overrides(value: Any) -> Any:
    """``Key=Value Key2=Value2`` (sam deploy's --parameter-overrides) as a dict."""
    if not isinstance(value, str):
        return value
    overrides: dict[str, str] = {}
    for item in value.split():
        key, equals, setting = item.partition("=")
        if not equals or not key:
            raise ValueError(f"{item!r} is not Key=Value (e.g. 'BedrockRequestsPerMinute=120')")
        overrides[key] = setting
    return overrides


Port = Annotated[int, between(0, 65535)]  # 0: a free port, chosen when the server binds


class StackSettings(EnvSettings):
    """Everything the local stack can be told, from ``LOCAL_*`` environment variables (docs/local-stack.md).

    ``function_env`` is every ``LOCAL_ENV_<NAME>`` variable, as ``<NAME>`` (set in both functions' environment).
    """

    env_prefix: ClassVar[str] = "LOCAL_"
    env_names: ClassVar[Mapping[str, str]] = {
        "template_path": "LOCAL_TEMPLATE",
        "parameters": "LOCAL_PARAMETER_OVERRIDES",
    }

    aws_port: Port = 4566
    bedrock_port: Port = 4567
    api_port: Port = 3000
    api_key: str = DEFAULT_API_KEY
    region: str = "eu-west-1"  # the region samconfig.toml deploys to
    state_dir: Path = ROOT / ".local"
    template_path: Path = ROOT / "template.yaml"
    api_concurrency: Annotated[int, between(1, 64)] = 4
    worker_concurrency: Annotated[int | None, between(1, 64)] = None  # None: the template's MaximumConcurrency
    visibility_timeout: Annotated[int | None, between(0, 43200)] = None  # None: batching window + 10 s
    batching_window: Annotated[int | None, between(0, 300)] = None  # None: the template's batching window
    model_id: str | None = None  # None: the core's default model
    api_throttle: Annotated[bool, BeforeValidator(_on_off)] = True
    function_env: Mapping[str, str] = {}
    parameters: Annotated[Mapping[str, str], BeforeValidator(_parameter_overrides)] = {}  # sam's --parameter-overrides

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        env = os.environ if env is None else env
        function_env = {
            name[len(FUNCTION_ENV_PREFIX) :]: value
            for name, value in env.items()
            if name.startswith(FUNCTION_ENV_PREFIX) and len(name) > len(FUNCTION_ENV_PREFIX)
        }
        overrides.setdefault("function_env", function_env)
        return super().from_env(env, **overrides)


@dataclass(frozen=True)
class QueueNumbers:
    """The retry numbers of template.yaml (through ``local.template.queue_settings``)."""

    visibility_timeout_seconds: int
    retention_seconds: int
    dlq_retention_seconds: int
    max_receive_count: int
    batch_size: int
    batching_window_seconds: int

    @classmethod
    def from_template_settings(cls, settings: Mapping[str, Mapping[str, int | None]]) -> QueueNumbers:
        queue, dlq, event = settings[QUEUE_ID], settings[DLQ_ID], settings["SqsEvent"]
        max_receive_count = queue["maxReceiveCount"]
        if max_receive_count is None:
            raise TemplateError(f"{QUEUE_ID} has no RedrivePolicy in the template; the local stack needs one")
        return cls(
            visibility_timeout_seconds=int(queue["VisibilityTimeout"] or 0),
            retention_seconds=int(queue["MessageRetentionPeriod"] or 0),
            dlq_retention_seconds=int(dlq["MessageRetentionPeriod"] or 0),
            max_receive_count=max_receive_count,
            batch_size=int(event["BatchSize"] or 1),
            batching_window_seconds=int(event["MaximumBatchingWindowInSeconds"] or 0),
        )


@dataclass(frozen=True)
class Endpoints:
    """What ``endpoints.json`` holds: all a client (curl, aws, the CLI, the e2e tests) needs."""

    api_url: str
    api_stage_url: str
    api_base_url: str
    web_page_url: str
    api_key: str
    aws_endpoint_url: str
    bedrock_endpoint_url: str
    region: str
    aws_access_key_id: str
    aws_secret_access_key: str
    bucket: str
    image_prefix: str
    queue_url: str
    dlq_url: str
    jobs_table: str
    job_events_queue_url: str
    model_id: str
    visibility_timeout: int
    max_receive_count: int
    pid: int


@dataclass(frozen=True)
class _Aws:
    url: str
    sqs: Any
    bucket: str
    queue: QueueInfo
    dlq: QueueInfo
    jobs_table: str
    job_events: QueueInfo


class Console:
    """One line at a time on stdout, prefixed with where it comes from (threads share it)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    def line(self, source: str, text: str) -> None:
        with self._lock:
            self._out.write(f"[{source}] {text}\n" if source else f"{text}\n")
            self._out.flush()

    def sink(self, source: str) -> Callable[[str], None]:
        return lambda text: self.line(source, text)


class LocalStack:
    """``standin`` replaces the Bedrock stand-in's settings read from ``BEDROCK_STANDIN_*`` (benchmarks use it)."""

    def __init__(self, settings: StackSettings, out: TextIO = sys.stdout, standin: Any = None) -> None:
        self.settings = settings
        self.console = Console(out)
        self._standin_settings = standin
        self.endpoints: Endpoints | None = None
        self._moto: MotoServer | None = None
        self._standin: Any = None
        self._pools: list[ContainerPool] = []
        self._worker_pool: ContainerPool | None = None
        self._shim: ApiShim | None = None
        self._poller: SqsPoller | None = None
        self._notes: list[str] = []

    # -- start -----------------------------------------------------------------------------------------

    def start(self, launched: float | None = None, *, poll: bool = True) -> Endpoints:
        """Start everything; ``launched`` (a ``time.monotonic()``) is when the command began, for the banner.

        ``poll=False`` leaves the SQS event source stopped until ``start_polling()``: a benchmark fills the queue
        first and warms the worker's containers (``warm_worker``), then lets the event source loose.
        """
        started = time.monotonic() if launched is None else launched
        settings = self.settings
        endpoints_file = settings.state_dir / ENDPOINTS_FILE
        endpoints_file.unlink(missing_ok=True)
        from local.template import load_template, queue_settings

        template = load_template(settings.template_path)
        numbers = QueueNumbers.from_template_settings(queue_settings(template))
        from local.bedrock_standin import StandinSettings

        standin_settings = self._standin_settings or StandinSettings.from_env()
        resolver = Resolver(template, settings.region, ACCOUNT_ID, STACK_NAME)
        resolver.refs.update(parameter_values(template, settings, standin_settings.quota_rps))
        window = numbers.batching_window_seconds if settings.batching_window is None else settings.batching_window
        visibility = window + 10 if settings.visibility_timeout is None else settings.visibility_timeout

        aws = self._start_aws(resolver, numbers, visibility)
        self._standin = self._start_standin(standin_settings, resolver.ref("BedrockRequestsPerMinute"))
        specs = self._function_specs(resolver, aws.url, self._standin.url)
        mapping = sqs_event_source(template, resolver, WORKER_FUNCTION)
        worker_size = settings.worker_concurrency or mapping.maximum_concurrency or 2
        api_pool = self._pool(specs[API_FUNCTION], settings.api_concurrency)
        worker_pool = self._worker_pool = self._pool(specs[WORKER_FUNCTION], worker_size)
        api, throttle = self._bind_api(resolver, api_pool)  # the last port bound: containers next
        warming = [threading.Thread(target=pool.warm, name=f"warm-{pool.spec.name}") for pool in self._pools]
        for thread in warming:
            thread.start()
        assert self._shim is not None
        self._shim.start()
        mapping_settings = MappingSettings(
            queue_url=aws.queue.url,
            queue_arn=aws.queue.arn,
            region=settings.region,
            batch_size=numbers.batch_size,
            batching_window_seconds=window,
            pollers=worker_size,
            report_batch_item_failures=mapping.report_batch_item_failures,
        )
        self._poller = SqsPoller(aws.sqs, mapping_settings, worker_pool.invoke, self.console.sink("sqs"))
        if poll:
            self._poller.start()
        for thread in warming:
            thread.join()

        api_base = f"http://127.0.0.1:{self._shim.port}"
        self.endpoints = Endpoints(
            api_url=f"{api_base}{GENERATE_ROUTE}",
            api_stage_url=f"{api_base}/{api.stage}{GENERATE_ROUTE}",
            api_base_url=f"{api_base}/{api.stage}",
            web_page_url=f"{api_base}/",
            api_key=settings.api_key,
            aws_endpoint_url=aws.url,
            bedrock_endpoint_url=self._standin.url,
            region=settings.region,
            aws_access_key_id=FAKE_ACCESS_KEY_ID,
            aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
            bucket=aws.bucket,
            image_prefix=specs[API_FUNCTION].environment.get("IMAGE_PREFIX", ""),
            queue_url=aws.queue.url,
            dlq_url=aws.dlq.url,
            jobs_table=aws.jobs_table,
            job_events_queue_url=aws.job_events.url,
            model_id=specs[API_FUNCTION].environment["MODEL_ID"],
            visibility_timeout=visibility,
            max_receive_count=numbers.max_receive_count,
            pid=os.getpid(),
        )
        self._write_endpoints(endpoints_file)
        self._print_ready(time.monotonic() - started, numbers, window, worker_size, throttle)
        return self.endpoints

    def start_polling(self) -> None:
        """Start the SQS event source of a stack started with ``poll=False``."""
        assert self._poller is not None, "start() first"
        self._poller.start()

    def warm_worker(self) -> None:
        """Start every container of the worker's pool (as many as the event source's concurrency) at once."""
        pool = self._worker_pool
        assert pool is not None, "start() first"
        threads = [threading.Thread(target=pool.warm) for _ in range(pool.size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    @property
    def standin(self) -> Any:
        """The running Bedrock stand-in (its ``calls``, ``throttled_calls``, ``configure()``)."""
        return self._standin

    def _start_aws(self, resolver: Resolver, numbers: QueueNumbers, visibility: int) -> _Aws:
        """moto, with the template's bucket, DLQ and queue (the queue with the local visibility timeout)."""
        self._moto = MotoServer("127.0.0.1", self.settings.aws_port)
        self._moto.start()
        s3, sqs = clients(self._moto.url, self.settings.region)
        bucket = self._create_bucket(s3, resolver)
        dlq = self._create_queue(sqs, resolver, DLQ_ID, {"MessageRetentionPeriod": str(numbers.dlq_retention_seconds)})
        redrive = {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": numbers.max_receive_count}
        queue_numbers = {
            "VisibilityTimeout": str(visibility),
            "MessageRetentionPeriod": str(numbers.retention_seconds),
            "RedrivePolicy": json.dumps(redrive),
        }
        queue = self._create_queue(sqs, resolver, QUEUE_ID, queue_numbers)
        jobs_table = self._create_table(resolver)
        job_events = self._route_job_events(sqs)
        return _Aws(self._moto.url, sqs, bucket, queue, dlq, jobs_table, job_events)

    def _create_table(self, resolver: Resolver) -> str:
        """The template's jobs table, in moto's DynamoDB."""
        properties = resolver.resolve(resource(resolver.template, JOBS_TABLE_ID).get("Properties") or {})
        name = str(properties.get("TableName") or resolver.physical_name(JOBS_TABLE_ID))
        create_table(aws_client("dynamodb", self._aws_url(), self.settings.region), name, properties)
        resolver.refs[JOBS_TABLE_ID] = name
        return name

    def _route_job_events(self, sqs: Any) -> QueueInfo:
        """A queue that receives the jobs' EventBridge events (the README's sample rule), so they can be seen."""
        events = aws_client("events", self._aws_url(), self.settings.region)
        queue = create_queue(sqs, f"{STACK_NAME}-job-events", {}, {})
        events.put_rule(Name=f"{STACK_NAME}-job-events", EventPattern=json.dumps(JOB_EVENT_PATTERN), State="ENABLED")
        events.put_targets(Rule=f"{STACK_NAME}-job-events", Targets=[{"Id": "queue", "Arn": queue.arn}])
        return queue

    def _aws_url(self) -> str:
        assert self._moto is not None
        return self._moto.url

    def _function_specs(self, resolver: Resolver, aws_url: str, bedrock_url: str) -> dict[str, FunctionSpec]:
        settings = self.settings
        base_env = self._container_environment(aws_url, bedrock_url)
        model_id = settings.model_id or _core_default_model()
        overrides = {"MODEL_ID": model_id, "POWERTOOLS_TRACE_DISABLED": "true", **settings.function_env}
        root = settings.template_path.parent
        return {
            logical_id: function_spec(
                resolver.template, resolver, logical_id, root=root, environment=base_env, overrides=overrides
            )
            for logical_id in (API_FUNCTION, WORKER_FUNCTION)
        }

    def _bind_api(self, resolver: Resolver, pool: ContainerPool) -> tuple[ApiDefinition, ApiThrottle | None]:
        api = api_definition(resolver.template, resolver, API_ID)
        throttle = api_throttle(resolver.template, resolver, API_ID) if self.settings.api_throttle else None
        bucket = TokenBucket(throttle.rate, throttle.burst) if throttle else None
        gateway = ApiGateway(
            api,
            self.settings.api_key,
            pool.invoke,
            self.console.sink("api"),
            bucket,
            page_settings={"api_key": self.settings.api_key},
        )
        self._shim = ApiShim(gateway, "127.0.0.1", self.settings.api_port)
        return api, throttle

    def _create_bucket(self, s3: Any, resolver: Resolver) -> str:
        properties = resolver.resolve(resource(resolver.template, BUCKET_ID).get("Properties") or {})
        name = str(properties.get("BucketName") or resolver.physical_name(BUCKET_ID))
        skipped = create_bucket(s3, name, properties, self.settings.region)
        resolver.refs[BUCKET_ID] = name
        resolver.attributes[f"{BUCKET_ID}.Arn"] = f"arn:aws:s3:::{name}"
        if skipped:
            self._notes.append(f"bucket settings not emulated: {', '.join(skipped)}")
        return name

    def _create_queue(self, sqs: Any, resolver: Resolver, logical_id: str, overrides: Mapping[str, str]) -> QueueInfo:
        properties = resolver.resolve(resource(resolver.template, logical_id).get("Properties") or {})
        name = str(properties.get("QueueName") or resolver.physical_name(logical_id))
        queue = create_queue(sqs, name, properties, overrides)
        register_queue(resolver, logical_id, queue)
        return queue

    def _start_standin(self, settings: Any, worker_quota: Any) -> Any:
        from local.bedrock_standin import BedrockStandin

        standin = BedrockStandin(settings, host="127.0.0.1", port=self.settings.bedrock_port).start()
        quota = f"{settings.quota_rps:g} req/s (burst {settings.quota_burst})" if settings.quota_rps > 0 else "none"
        pace = f"{worker_quota} calls/min" if int(worker_quota) > 0 else "off"
        self._notes.append(f"Bedrock quota {quota}; the worker's pace: {pace} (BedrockRequestsPerMinute)")
        return standin

    def _container_environment(self, aws_url: str, bedrock_url: str) -> dict[str, str]:
        """What every container starts with: Lambda's basics, fake credentials, the local endpoints.

        Nothing else of the launcher's environment is passed on, so real AWS credentials or a profile
        in the user's shell can never reach a container (AWS_CONFIG_FILE points nowhere, too).
        """
        return {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "AWS_REGION": self.settings.region,
            "AWS_DEFAULT_REGION": self.settings.region,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_S3": aws_url,
            "AWS_ENDPOINT_URL_SQS": aws_url,
            "AWS_ENDPOINT_URL_DYNAMODB": aws_url,
            "AWS_ENDPOINT_URL_EVENTBRIDGE": aws_url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url,
            "AWS_ENDPOINT_URL_BEDROCK": bedrock_url,  # the control plane: no call from here reaches AWS's either
        }

    def _pool(self, spec: FunctionSpec, size: int) -> ContainerPool:
        pool = ContainerPool(spec, size, self.console.line)
        self._pools.append(pool)
        return pool

    def _write_endpoints(self, path: Path) -> None:
        """Atomically (a reader never sees half a file): written to a temporary name, then renamed."""
        assert self.endpoints is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self.endpoints), indent=2) + "\n")
        temporary.replace(path)

    def _print_ready(
        self, elapsed: float, numbers: QueueNumbers, window: int, worker_size: int, throttle: ApiThrottle | None
    ) -> None:
        assert self.endpoints is not None
        endpoints_file = self.settings.state_dir / ENDPOINTS_FILE
        notes = [f"state in {endpoints_file}", *self._notes]
        for line in ready_text(self.endpoints, elapsed, numbers, window, worker_size, throttle, notes):
            self.console.line("", line)

    # -- stop ------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Everything down, newest first; safe to call after a partial start."""
        if self._shim is not None:
            self._shim.stop_accepting()
        if self._poller is not None:
            self._poller.signal_stop()
        for pool in self._pools:
            pool.stop()
        if self._poller is not None:
            self._poller.join(timeout=30)
        if self._shim is not None:
            self._shim.close()
        if self._standin is not None:
            self._standin.stop()
        if self._moto is not None:
            self._moto.stop()
        (self.settings.state_dir / ENDPOINTS_FILE).unlink(missing_ok=True)


def ready_text(
    endpoints: Endpoints,
    elapsed: float,
    numbers: QueueNumbers,
    window: int,
    worker_size: int,
    throttle: ApiThrottle | None,
    notes: list[str],
) -> list[str]:
    """The banner: where everything is, ready-to-paste commands, how to see the images."""
    aws = _aws_command(endpoints)
    curl = (
        f"curl -sS -X POST {endpoints.api_url} -H 'x-api-key: {endpoints.api_key}' "
        "-H 'Content-Type: application/json' -d '{\"prompt\": \"a lighthouse at dawn, watercolor\"}'"
    )
    send = f"{aws} sqs send-message --queue-url {endpoints.queue_url} --message-body 'a lighthouse at dawn, watercolor'"
    key = f"-H 'x-api-key: {endpoints.api_key}'"
    queue_job = (
        f"curl -sS -X POST {endpoints.api_base_url}/jobs {key} -H 'Content-Type: application/json' "
        '-d \'{"prompt": "a lighthouse at dawn, watercolor"}\''
    )
    throttle_text = f"{throttle.rate:g} req/s, burst {throttle.burst}" if throttle else "off"
    lines = [
        "",
        f"imagegen local stack ready in {elapsed:.1f} s  (no AWS account used; Ctrl-C stops everything)",
        f"  Web page  {endpoints.web_page_url}  (open it in a browser: the local API key is filled in)",
        f"  API       POST {endpoints.api_url}  (or {endpoints.api_stage_url})",
        f"            x-api-key: {endpoints.api_key}   stage throttle: {throttle_text}",
        f"  AWS       {endpoints.aws_endpoint_url}  (moto: S3, SQS, DynamoDB, EventBridge)  region {endpoints.region}",
        f"            bucket {endpoints.bucket}, images under {endpoints.image_prefix}/",
        f"            queue  {endpoints.queue_url}",
        f"            DLQ    {endpoints.dlq_url}",
        f"            jobs   table {endpoints.jobs_table}; their events in {endpoints.job_events_queue_url}",
        f"  Bedrock   {endpoints.bedrock_endpoint_url}  (stand-in, NOT an AI model; model id {endpoints.model_id})",
        f"  Worker    batches of up to {numbers.batch_size}, batching window {window} s, {worker_size} at a time;",
        f"            visibility timeout {endpoints.visibility_timeout} s locally (template: "
        f"{numbers.visibility_timeout_seconds} s; LOCAL_VISIBILITY_TIMEOUT), DLQ after "
        f"{endpoints.max_receive_count} receives",
        *[f"  Note      {note}" for note in notes],
        "",
        "Generate over HTTP:",
        f"  {curl}",
        "Generate through the queue (images land under <prefix>/sqs/<message id>/):",
        f"  {send}",
        "Queue a job over HTTP (202 at once), then follow it; any queue message is a job too, under its MessageId:",
        f"  {queue_job}",
        f"  curl -sS {endpoints.api_base_url}/jobs/<job_id> {key}      # or the newest: {endpoints.api_base_url}/jobs",
        'See the images: open an image\'s "url" from the HTTP answer (a presigned URL), or',
        f"  {aws} s3 ls s3://{endpoints.bucket}/{endpoints.image_prefix}/ --recursive",
        f"  {aws} s3 cp s3://{endpoints.bucket}/<key> .",
        "Dead letters:",
        f"  {aws} sqs receive-message --queue-url {endpoints.dlq_url} --message-attribute-names All",
        "Preflight a model against the stand-in (as `make preflight` asks Bedrock before a deploy):",
        "  make preflight LOCAL=1   (MODEL_ID=... BEDROCK_REGION=... for another model)",
        "",
    ]
    return lines


def _aws_command(endpoints: Endpoints) -> str:
    """``aws`` with fake credentials inline, so the command works in a fresh shell."""
    aws = _aws_executable()
    return (
        f"AWS_ACCESS_KEY_ID={endpoints.aws_access_key_id} AWS_SECRET_ACCESS_KEY={endpoints.aws_secret_access_key} "
        f"AWS_DEFAULT_REGION={endpoints.region} {aws} --endpoint-url {endpoints.aws_endpoint_url}"
    )


def _aws_executable() -> str:
    """The virtualenv's ``aws`` (awscli is a dev dependency) when there is one, else whatever is on PATH."""
    venv_aws = Path(sys.executable).with_name("aws")
    if not venv_aws.exists():
        return "aws"
    try:
        return shlex.quote(str(venv_aws.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(venv_aws))


def _core_default_model() -> str:
    """The core's default MODEL_ID (read from the core's catalog, not copied)."""
    from imagegen_core.catalog import DEFAULT_MODEL_ID

    return DEFAULT_MODEL_ID


def parameter_values(template: Mapping[str, Any], settings: StackSettings, quota_rps: float) -> dict[str, str]:
    """The parameter values to resolve the template with: LOCAL_PARAMETER_OVERRIDES first; then, as a deployment
    sized to its quota would have them, BedrockRequestsPerMinute from the stand-in's quota (0, no pacing, when it
    has none) and WorkerMaxConcurrency from LOCAL_WORKER_CONCURRENCY (the worker's share matches its pollers)."""
    known = template.get("Parameters") or {}
    unknown = sorted(set(settings.parameters) - set(known))
    if unknown:
        raise ConfigError(f"LOCAL_PARAMETER_OVERRIDES names no parameter of the template: {', '.join(unknown)}")
    values = dict(settings.parameters)
    if "BedrockRequestsPerMinute" in known:
        values.setdefault("BedrockRequestsPerMinute", str(math.floor(quota_rps * 60)))
    if settings.worker_concurrency is not None:
        values.setdefault("WorkerMaxConcurrency", str(settings.worker_concurrency))
    return values
