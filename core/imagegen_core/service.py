"""generate(): family -> Bedrock -> S3. The only orchestration, shared by both entry points."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from imagegen_core import bedrock
from imagegen_core.catalog import spec_for
from imagegen_core.clients import bedrock_client, dynamodb_client, events_client, s3_client
from imagegen_core.config import Settings, get_api_settings, get_settings, get_worker_settings
from imagegen_core.errors import ModelError, RequestValidationError
from imagegen_core.families import FAMILIES, limit_problems
from imagegen_core.jobs import JobStore
from imagegen_core.models import GenerationRequest
from imagegen_core.observability import logger, metrics, tracer
from imagegen_core.storage import ImageStore, StoredImage, decode_png


@dataclass(frozen=True)
class GenerationResult:
    model_id: str
    seed: int
    images: list[StoredImage]
    bedrock_called: bool


class ImageService:
    def __init__(self, settings: Settings, bedrock_runtime: object, store: ImageStore) -> None:
        self.settings = settings
        self.model = spec_for(settings.model_id)
        self.family = FAMILIES[self.model.family]
        self.store = store
        self._bedrock = bedrock_runtime

    def validate(self, request: GenerationRequest) -> None:
        """Apply the configured model's limits (sizes, counts, lengths, seeds) on top of the common rules."""
        problems = limit_problems(request, self.model, self.family)
        if problems:
            fields = ", ".join(sorted({p["field"] for p in problems}))
            raise RequestValidationError(
                f"invalid request for model {self.settings.model_id}: check {fields}", problems
            )

    @tracer.capture_method(capture_response=False)
    def generate(
        self, request: GenerationRequest, job_id: str, request_id: str, *, resume: bool = False
    ) -> GenerationResult:
        """Generate the request's images and store them under ``job_id``.

        With ``resume`` (queue redeliveries), images already stored for the job are kept: when all
        exist, Bedrock is not called at all; otherwise only the missing ones are written.
        """
        self.validate(request)
        seed = request.seed if request.seed is not None else 1 + secrets.randbelow(self.model.limits.seed_max)
        keys = [self.store.key_for(job_id, index, seed) for index in range(request.number_of_images)]
        existing = self.store.existing_keys(job_id) if resume else set()
        if existing.issuperset(keys):
            logger.info("images already stored; Bedrock not called", extra={"job_id": job_id})
            images = [StoredImage(self.store.bucket, key, request.width, request.height) for key in keys]
            return GenerationResult(self.settings.model_id, seed, images, bedrock_called=False)

        encoded = self._invoke(request, seed)
        if len(encoded) < len(keys):
            raise ModelError(
                "the image model returned fewer images than asked; try again later",
                transient=True,
                detail=f"{self.settings.model_id} returned {len(encoded)} of {len(keys)} images",
            )
        # Every image is decoded and checked before the first is written: a bad answer leaves nothing behind.
        pngs: dict[str, bytes] = {}
        for index, key in enumerate(keys):
            if key not in existing:
                pngs[key] = decode_png(encoded[index])
            encoded[index] = ""  # drop the base64 text once decoded
        metadata = {"model-id": self.settings.model_id, "seed": str(seed), "request-id": request_id}
        written = {image.key: image for image in self.store.put_pngs(pngs, metadata, all_or_none=not resume)}
        stored = [
            written.get(key) or StoredImage(self.store.bucket, key, request.width, request.height) for key in keys
        ]
        metrics.add_metric(name="ImagesGenerated", unit=MetricUnit.Count, value=len(pngs))
        return GenerationResult(self.settings.model_id, seed, stored, bedrock_called=True)

    def _invoke(self, request: GenerationRequest, seed: int) -> list[str]:
        body = self.family.build_body(request, seed)
        started = time.perf_counter()
        try:
            answer = bedrock.invoke(
                self._bedrock,  # type: ignore[arg-type]
                self.settings.model_id,
                body,
                max_attempts=self.settings.bedrock_max_attempts,
            )
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            metrics.add_metric(name="BedrockLatency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
        return self.family.parse_response(answer)


_service: ImageService | None = None
_jobs: JobStore | None = None


def default_service() -> ImageService:
    """The container's service: settings validated and clients created on first use, then reused."""
    global _service
    if _service is None:
        settings = get_settings()
        client = bedrock_client(settings.bedrock_region, settings.bedrock_read_timeout_seconds)
        store = ImageStore(s3_client(), settings.bucket_name, settings.image_prefix, settings.presign_expiry_seconds)
        _service = ImageService(settings, client, store)
    return _service


def default_jobs() -> JobStore:
    """The container's job store (the jobs table and EventBridge), created on first use, then reused."""
    global _jobs
    if _jobs is None:
        settings = get_settings()
        _jobs = JobStore(
            dynamodb_client(),
            settings.jobs_table,
            events_client,
            retention_days=settings.job_retention_days,
            event_bus=settings.event_bus_name,
        )
    return _jobs


def reset_default_service() -> None:
    """Forget the container's service, job store and settings (tests use it between environments)."""
    global _service, _jobs
    _service = None
    _jobs = None
    get_settings.cache_clear()
    get_worker_settings.cache_clear()
    get_api_settings.cache_clear()
