"""Jobs: what became of each request, however it came in, kept in DynamoDB (docs/architecture.md, "Jobs").

A job is a request over HTTP (its API Gateway request id for ``POST /generate-image``, the SQS message id for
``POST /jobs``) or a message sent straight to the queue (its SQS message id). Its status only moves forward:

    queued ──► running ──► succeeded
      │           │ ▲
      │           └─┘ (a redelivery: attempts grows)
      └───────────┴──► failed

Every transition is one conditional write (``UpdateItem``; a ``PutItem`` for a job its caller waited on, written
once when it ends): a redelivery, a duplicate delivery or a race between two never moves a job backwards, and
only the write that really completes a job publishes its EventBridge event.
Recording is best effort: a job that cannot be written is logged, and the generation goes on (the images
matter more than their bookkeeping).

Items: ``job_id`` (the key), ``status``, ``source``, ``model_id``, ``request`` (the request's fields, the
prompt included), ``attempts``, ``created_at``/``updated_at`` (ISO 8601 UTC), ``images`` or ``error``,
``expires_at`` (epoch seconds, the table's TTL), and ``list_pk``/``list_sk`` for the "newest first" index.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from imagegen_core.errors import BadRequestError, ImageGenError
from imagegen_core.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient

Status = Literal["queued", "running", "succeeded", "failed"]
Source = Literal["api", "queue"]
LIST_PARTITION = "jobs"
LIST_INDEX = "newest-first"
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}$")
EVENT_SOURCE = "imagegen"
DETAIL_TYPES = {"succeeded": "Job Succeeded", "failed": "Job Failed"}
BODY_EXCERPT_CHARS = 200


@dataclass(frozen=True)
class JobImage:
    key: str
    width: int
    height: int


class JobStore:
    """The jobs table, and the events a completed job publishes."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        events: Callable[[], EventBridgeClient],
        *,
        retention_days: int,
        event_bus: str = "default",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._dynamodb = dynamodb
        self.table = table
        self._events = events
        self._retention = timedelta(days=retention_days)
        self._event_bus = event_bus
        self._clock = clock

    # -- transitions ------------------------------------------------------------------------------------

    def queue(self, job_id: str, *, source: Source, request: Mapping[str, Any], model_id: str) -> bool:
        """A new job, queued (``POST /jobs``); a worker that got there first keeps its later status."""
        return self._update(
            job_id,
            {"status": "queued", "source": source, "request": dict(request), "model_id": model_id},
            keep_existing=True,
            condition="attribute_not_exists(job_id) OR #status IN (:queued, :running)",
        )

    def start(self, job_id: str, *, source: Source, request: Mapping[str, Any], model_id: str, attempt: int) -> bool:
        """The job runs its ``attempt``-th time; False when it is already past that (stale or finished)."""
        return self._update(
            job_id,
            {"status": "running", "attempts": attempt},
            first={"source": source, "request": dict(request), "model_id": model_id},
            condition=(
                "attribute_not_exists(job_id) OR "
                "(#status IN (:queued, :running) AND (attribute_not_exists(attempts) OR attempts < :attempt))"
            ),
            condition_values={":attempt": attempt},
        )

    def record_finished(
        self,
        job_id: str,
        *,
        source: Source,
        request: Mapping[str, Any],
        model_id: str,
        images: list[JobImage] | None = None,
        error: ImageGenError | None = None,
    ) -> bool:
        """A job that ran while its caller waited (``POST /generate-image``), recorded once, when it ended: the
        open connection was its status meanwhile. Succeeded with ``images``, or failed with ``error``."""
        fields, detail = _failed(error) if error is not None else _succeeded(images or [])
        done = self._put_new(
            job_id,
            {**fields, "attempts": 1, "source": source, "request": dict(request), "model_id": model_id},
        )
        if done:
            self._publish(job_id, fields["status"], detail)
        return done

    def succeed(self, job_id: str, images: list[JobImage]) -> bool:
        """The job made its images; published once, by whichever delivery got here first."""
        fields, detail = _succeeded(images)
        done = self._update(job_id, fields, condition="attribute_exists(job_id) AND #status IN (:queued, :running)")
        if done:
            self._publish(job_id, "succeeded", detail)
        return done

    def fail(
        self,
        job_id: str,
        error: ImageGenError,
        *,
        source: Source,
        model_id: str,
        request: Mapping[str, Any] | None = None,
        body: str | None = None,
    ) -> bool:
        """The job failed for good (a permanent error, or its last attempt); a succeeded job stays succeeded."""
        first: dict[str, Any] = {"source": source, "model_id": model_id}
        if request is not None:
            first["request"] = dict(request)
        elif body is not None:
            first["body_excerpt"] = body[:BODY_EXCERPT_CHARS]
        fields, detail = _failed(error)
        done = self._update(
            job_id, fields, first=first, condition="attribute_not_exists(job_id) OR #status IN (:queued, :running)"
        )
        if done:
            self._publish(job_id, "failed", detail)
        return done

    # -- reads --------------------------------------------------------------------------------------------

    def get(self, job_id: str) -> dict[str, Any] | None:
        if not JOB_ID_PATTERN.match(job_id):
            return None
        item = self._dynamodb.get_item(TableName=self.table, Key={"job_id": {"S": job_id}}, ConsistentRead=True)
        return _plain(item["Item"]) if "Item" in item else None

    def newest(self, limit: int, next_token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` jobs, newest first, and the token of the next page (None on the last)."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "list_pk = :jobs",
            "ExpressionAttributeValues": {":jobs": {"S": LIST_PARTITION}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if next_token:
            query["ExclusiveStartKey"] = _decode_token(next_token)
        page = self._dynamodb.query(**query)
        last = page.get("LastEvaluatedKey")
        return [_plain(item) for item in page.get("Items", [])], _encode_token(last) if last else None

    # -- writes -------------------------------------------------------------------------------------------

    def _put_new(self, job_id: str, fields: Mapping[str, Any]) -> bool:
        """One conditional PutItem: the whole job at once, only if there is none under its id yet."""
        item = {"job_id": job_id, **self._creation_fields(job_id), **fields}
        return self._write(
            job_id,
            self._dynamodb.put_item,
            TableName=self.table,
            Item={name: _typed(value) for name, value in item.items()},
            ConditionExpression="attribute_not_exists(job_id)",
        )

    def _update(
        self,
        job_id: str,
        values: Mapping[str, Any],
        *,
        condition: str,
        first: Mapping[str, Any] | None = None,
        keep_existing: bool = False,
        condition_values: Mapping[str, Any] | None = None,
    ) -> bool:
        """One conditional UpdateItem: ``values`` set (or kept, with ``keep_existing``), ``first`` only when the
        job is new; the creation fields (times, TTL, list keys) always if not yet there. False when the condition
        refused it (the job is past this transition) or DynamoDB failed (logged)."""
        creation = self._creation_fields(job_id)
        names = {"#status": "status"}
        attributes: dict[str, Any] = {
            ":queued": "queued",
            ":running": "running",
            **{f":{name}": value for name, value in creation.items()},
            **(condition_values or {}),
        }
        clauses = [f"{name} = if_not_exists({name}, :{name})" for name in creation if name != "updated_at"]
        clauses.append("updated_at = :updated_at")
        for index, (name, value) in enumerate({**values, **(first or {})}.items()):
            placeholder, alias = f":v{index}", f"#f{index}"
            names[alias] = name
            attributes[placeholder] = value
            keep = keep_existing or name in (first or {})
            clauses.append(f"{alias} = if_not_exists({alias}, {placeholder})" if keep else f"{alias} = {placeholder}")
        return self._write(
            job_id,
            self._dynamodb.update_item,
            TableName=self.table,
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET " + ", ".join(clauses),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={key: _typed(value) for key, value in attributes.items()},
        )

    def _creation_fields(self, job_id: str) -> dict[str, Any]:
        """What a job gets when it is first written: its times, its TTL and its place in the newest-first list."""
        now = self._clock()
        stamp = _iso(now)
        return {
            "created_at": stamp,
            "updated_at": stamp,
            "list_pk": LIST_PARTITION,
            "list_sk": f"{stamp}#{job_id}",
            "expires_at": int((now + self._retention).timestamp()),
        }

    def _write(self, job_id: str, call: Callable[..., Any], **request: Any) -> bool:
        """One conditional write; False when its condition refused it or DynamoDB failed (logged)."""
        try:
            call(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            logger.exception("the job could not be recorded", extra={"job_id": job_id})
            return False
        except BotoCoreError:
            logger.exception("the job could not be recorded", extra={"job_id": job_id})
            return False
        return True

    def _publish(self, job_id: str, status: Status, detail: Mapping[str, Any]) -> None:
        """The job's completion on EventBridge, for other systems to react to (best effort, logged)."""
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": DETAIL_TYPES[status],
            "Detail": json.dumps({"job_id": job_id, "status": status, **detail}),
            "EventBusName": self._event_bus,
        }
        try:
            answer = self._events().put_events(Entries=[entry])  # type: ignore[list-item]
        except (ClientError, BotoCoreError):
            logger.exception("the job's event could not be published", extra={"job_id": job_id})
            return
        if answer.get("FailedEntryCount"):
            logger.error("the job's event was refused", extra={"job_id": job_id, "entries": answer.get("Entries")})


def _succeeded(images: list[JobImage]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A succeeded job's fields, and its event's detail (the images' keys)."""
    fields = {"status": "succeeded", "images": [vars(image) for image in images]}
    return fields, {"images": [image.key for image in images]}


def _failed(error: ImageGenError) -> tuple[dict[str, Any], dict[str, Any]]:
    """A failed job's fields, and its event's detail: the client-safe code and message, never the detail."""
    reason = {"code": error.code, "message": error.message}
    return {"status": "failed", "error": reason}, {"error": reason}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _typed(value: Any) -> dict[str, Any]:
    """A Python value in DynamoDB's attribute-value form."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {str(key): _typed(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_typed(item) for item in value]}
    raise TypeError(f"cannot store {type(value).__name__} in a job")


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _untyped(value) for key, value in item.items()}


def _untyped(value: Mapping[str, Any]) -> Any:
    ((kind, content),) = value.items()
    if kind == "N":
        number = float(content)
        return int(number) if number.is_integer() and "." not in content and "e" not in content.lower() else number
    if kind == "M":
        return _plain(content)
    if kind == "L":
        return [_untyped(item) for item in content]
    if kind == "NULL":
        return None
    return content


def _encode_token(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(_plain(key), separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, Any]:
    """A page token back to DynamoDB's ExclusiveStartKey; anything else is the caller's mistake (400)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if (
        not isinstance(key, dict)
        or set(key) != {"job_id", "list_pk", "list_sk"}
        or not all(isinstance(value, str) and len(value) <= 200 for value in key.values())
    ):
        raise BadRequestError("the next token is not one this API gave out; start again without it")
    return {name: {"S": value} for name, value in key.items()}
