"""What becomes of each message of an SQS batch: stored, dead-lettered with its reason, or handed back to SQS.

The rules, the time guard and the bound on images in flight are explained in docs/architecture.md
("The queue worker"). ``process_batch`` is the whole worker; ``sqs_worker/app.py`` only decorates it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from imagegen_core.batch import ConcurrentBatchProcessor, WeightedSemaphore
from imagegen_core.clients import sqs_client
from imagegen_core.config import WorkerSettings, get_worker_settings
from imagegen_core.errors import ImageGenError, ThrottledError
from imagegen_core.jobs import JobImage, JobStore, Source
from imagegen_core.observability import count_failure, log_request, logger, metrics
from imagegen_core.queue_messages import dead_letter_attributes, fit_dead_letter, job_id_for, request_for
from imagegen_core.service import ImageService, default_jobs, default_service
from imagegen_core.throttling import HandBack, QuotaWaitTimeout, pace, pacing_deadline, report_pace

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef


def process_batch(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Handle one SQS batch with the container's service; Lambda's ``batchItemFailures`` response."""
    settings = get_worker_settings()
    pace(settings)
    dead_letters = DeadLetterQueue(sqs_client, settings.dlq_url)
    hand_back = HandBack.for_worker(sqs_client, settings)
    worker = MessageWorker(default_service(), default_jobs(), dead_letters, settings, hand_back)
    processor = ConcurrentBatchProcessor(max_workers=settings.concurrency)
    with processor(records=event.get("Records") or [], handler=worker.handle, lambda_context=context):
        results = processor.process()
        count_outcomes(results, worker.failure_codes)  # before the context's exit raises when every message failed
        report_pace()
    return processor.response()


class Outcome(Enum):
    SUCCEEDED = "succeeded"
    DEAD_LETTERED = "dead_lettered"


class NotStartedError(Exception):
    """Too little time was left to start the message; SQS will deliver it again."""


class DeadLetterFailedError(Exception):
    """A permanent failure could not be written to the DLQ; SQS will deliver the message again."""


class GaveUpError(ImageGenError):
    """A message failed on its last receive; it is dead-lettered with the last failure's code and reason."""

    def __init__(self, code: str, message: str, detail: str, attempts: int) -> None:
        super().__init__(
            f"{message} (gave up after {attempts} attempts)",
            detail=f"failed on each of {attempts} receives; last: {detail}",
        )
        self.code = code


class DeadLetterQueue:
    """Sends a failed message's original body, with the reason as attributes, to the DLQ.

    The SQS client is asked for on the first dead letter (``imagegen_core.clients`` creates it once and shares
    it between threads), so a batch without permanent failures does not pay for it at cold start.
    """

    def __init__(self, client: Callable[[], SQSClient], queue_url: str) -> None:
        self._client = client
        self.queue_url = queue_url

    def send(self, body: str, attributes: dict[str, MessageAttributeValueTypeDef]) -> str:
        """The dead letter's message id; botocore's errors propagate (the caller keeps the message)."""
        response = self._client().send_message(QueueUrl=self.queue_url, MessageBody=body, MessageAttributes=attributes)
        return response["MessageId"]


class MessageWorker:
    """Handles the records of one batch (one worker per invocation), shared by the batch's threads.

    It keeps no per-record state; the error codes of failed messages are collected in ``failure_codes`` and
    published once the threads are done: Powertools prints a ``single_metric`` in two writes, so EMF lines
    printed from several threads at once could interleave and be lost to CloudWatch.
    """

    def __init__(
        self,
        service: ImageService,
        jobs: JobStore,
        dead_letters: DeadLetterQueue,
        settings: WorkerSettings,
        hand_back: HandBack,
    ) -> None:
        self.service = service
        self.jobs = jobs
        self.dead_letters = dead_letters
        self.hand_back = hand_back
        self.images_in_flight = WeightedSemaphore(settings.max_images_in_flight)
        self.time_guard_ms = settings.time_guard_ms
        self.max_receive_count = settings.max_receive_count
        self.failure_codes: list[str] = []  # list.append is atomic: no lock needed

    def handle(self, record: SQSRecord, lambda_context: LambdaContext) -> Outcome:
        """Powertools' record handler: returns when SQS may delete the message, raises when it must retry.

        On the message's last receive (the queue's maxReceiveCount) a failure that would be retried is
        dead-lettered here instead, with its reason: SQS's redrive would move the message without one.
        """
        logger.thread_safe_append_keys(message_id=record.message_id)  # this record's context only
        last_try = receive_count(record) >= self.max_receive_count
        try:
            return self._handle(record, lambda_context)
        except DeadLetterFailedError:
            raise  # logged where it arises; SQS's redrive is the last resort
        except NotStartedError as error:
            if not last_try:
                self.failure_codes.append("not_started")
                self.hand_back.soon(record.receipt_handle, receive_count(record), "not_started")
                raise
            gave_up = GaveUpError("not_started", "the service had no time for it", str(error), self.max_receive_count)
            return self._dead_letter(record, gave_up)
        except ImageGenError as error:  # transient: permanent ones were dead-lettered in _handle
            if last_try:
                gave_up = GaveUpError(error.code, error.message, error.detail, self.max_receive_count)
                return self._dead_letter(record, gave_up)
            self.failure_codes.append(error.code)
            logger.warning(
                "message failed; SQS will retry it",
                extra={"code": error.code, "reason": error.detail, "receive_count": receive_count(record)},
            )
            if isinstance(error, ThrottledError):
                self.hand_back.soon(record.receipt_handle, receive_count(record), error.code)
            raise
        except Exception as error:
            if last_try:
                logger.exception("unexpected error on the message's last receive; it goes to the DLQ")
                detail = f"{type(error).__name__}: {error}"
                gave_up = GaveUpError("internal_error", "internal error", detail, self.max_receive_count)
                return self._dead_letter(record, gave_up)
            logger.exception("unexpected error; SQS will retry the message")
            self.failure_codes.append("internal_error")
            raise

    def _handle(self, record: SQSRecord, lambda_context: LambdaContext) -> Outcome:
        self._check_time(lambda_context)
        try:
            request = request_for(record.body, record.message_id, self.service.model.limits.seed_max)
            self.service.validate(request)
        except ImageGenError as error:
            return self._dead_letter(record, error)

        spare_seconds = self._spare_ms(lambda_context) / 1000
        if not self.images_in_flight.acquire(request.number_of_images, timeout=spare_seconds):
            raise self._not_started("no room for the message's images before the time guard", lambda_context)
        try:
            self._check_time(lambda_context)
            log_request("generating", request, self.service.settings.model_id, receive_count=receive_count(record))
            self.jobs.start(
                record.message_id,
                source=job_source(record),
                request=request.model_dump(exclude_unset=True),
                model_id=self.service.settings.model_id,
                attempt=receive_count(record),
            )
            with pacing_deadline(self._spare_ms(lambda_context) / 1000):
                result = self.service.generate(
                    request, job_id=job_id_for(record.message_id), request_id=record.message_id, resume=True
                )
        except QuotaWaitTimeout:
            raise self._not_started("no turn to call Bedrock before the time guard", lambda_context) from None
        except ImageGenError as error:
            if error.transient:
                raise
            return self._dead_letter(record, error)
        finally:
            self.images_in_flight.release(request.number_of_images)
        logger.info(
            "images stored",
            extra={"keys": [image.key for image in result.images], "bedrock_called": result.bedrock_called},
        )
        self.jobs.succeed(
            record.message_id, [JobImage(image.key, image.width, image.height) for image in result.images]
        )
        return Outcome.SUCCEEDED

    def _dead_letter(self, record: SQSRecord, error: ImageGenError) -> Outcome:
        """The message to the DLQ with its reason, and its job failed with the same code."""
        self.failure_codes.append(error.code)
        attributes = dead_letter_attributes(
            error,
            original_message_id=record.message_id,
            model_id=self.service.settings.model_id,
            receive_count=receive_count(record),
            failed_at=datetime.now(UTC),
        )
        try:
            dead_letter_id = self.dead_letters.send(record.body, fit_dead_letter(record.body, attributes))
        except (ClientError, BotoCoreError) as exc:
            logger.exception("sending to the DLQ failed; SQS will retry the message", extra={"code": error.code})
            raise DeadLetterFailedError(f"sending message {record.message_id} to the DLQ failed: {exc}") from exc
        logger.warning(
            "message sent to the DLQ",
            extra={"code": error.code, "reason": error.detail, "dead_letter_id": dead_letter_id},
        )
        self.jobs.fail(
            record.message_id,
            error,
            source=job_source(record),
            model_id=self.service.settings.model_id,
            body=record.body,
        )
        return Outcome.DEAD_LETTERED

    def _check_time(self, lambda_context: LambdaContext) -> None:
        if self._spare_ms(lambda_context) <= 0:
            raise self._not_started("too little time left to start the message", lambda_context)

    def _not_started(self, reason: str, lambda_context: LambdaContext) -> NotStartedError:
        logger.warning(
            f"{reason}; SQS will deliver it again",
            extra={"remaining_ms": lambda_context.get_remaining_time_in_millis(), "time_guard_ms": self.time_guard_ms},
        )
        return NotStartedError(reason)

    def _spare_ms(self, lambda_context: LambdaContext) -> int:
        return lambda_context.get_remaining_time_in_millis() - self.time_guard_ms


def job_source(record: SQSRecord) -> Source:
    """``api`` for the messages POST /jobs sends (their ``source`` attribute), ``queue`` for any other."""
    attribute = record.message_attributes["source"]
    return "api" if attribute is not None and attribute.string_value == "api" else "queue"


def receive_count(record: SQSRecord) -> int:
    try:
        return int(record.attributes.approximate_receive_count)
    except (TypeError, ValueError):
        return 0


def count_outcomes(results: list[tuple[Any, ...]], failure_codes: list[str]) -> None:
    """The batch's metrics (succeeded, dead-lettered, retried; failures by code) and its summary log line."""
    for code in failure_codes:
        count_failure(code)
    outcomes = [result if status == "success" else "retried" for status, result, _ in results]
    counts = {
        "MessagesSucceeded": outcomes.count(Outcome.SUCCEEDED),
        "MessagesDeadLettered": outcomes.count(Outcome.DEAD_LETTERED),
        "MessagesRetried": outcomes.count("retried"),
    }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("batch done", extra={"messages": len(results), **counts})
