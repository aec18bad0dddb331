"""`imagegen submit`: put prompts on the queue, one message each, for the worker to generate later.

Each message is a job under its SQS message id: the ids printed are job ids, for `imagegen job ID --wait`.

A prompt without options travels as plain text; with options, as the JSON request object. A file is
sent with SendMessageBatch in groups of at most 10 messages and 256 KiB (SQS's limits per call), and
every line that did not make it is reported with its line number.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from imagegen_cli.aws import AwsClients, answer_field, answer_items, as_cli_error
from imagegen_cli.config import Settings
from imagegen_cli.console import one_line
from imagegen_cli.errors import AwsError, ConfigError, ExitCode, NetworkError, PartialFailure
from imagegen_cli.generation_options import add_generation_options, prompt_text, request_fields
from imagegen_cli.job import say_queued

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

NEEDS = ("queue_url",)
MAX_BATCH_ENTRIES = 10
# 256 KiB: the classic SQS limit for one message and for one batch. Queues may allow more today
# (up to 1 MiB), but a prompt is at most a few hundred characters, so anything near this is a mistake.
MAX_MESSAGE_BYTES = 262_144
MAX_BATCH_BYTES = 262_144


@dataclass(frozen=True)
class PromptLine:
    number: int
    text: str


@dataclass(frozen=True)
class FailedLine:
    number: int
    code: str
    message: str


@dataclass
class SubmitReport:
    sent: list[tuple[int, str]] = field(default_factory=list)  # (line number, message id)
    failed: list[FailedLine] = field(default_factory=list)
    batches: int = 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "submit",
        parents=parents,
        help="queue prompts for the worker (one prompt, or --file with one per line); prints their job ids",
        description=(
            "Send prompts to the queue. Without options a prompt is sent as plain text, with options as "
            "a JSON request. In --file, blank lines and lines starting with # are skipped, and a line that "
            "is a JSON object is sent as a request of its own (options fill the fields it leaves out). "
            "Each message is a job: its id (the SQS message id) is printed, for `imagegen job ID --wait`."
        ),
    )
    parser.add_argument("prompt", nargs="?", type=prompt_text, help="what the image should show")
    parser.add_argument("--file", "-f", type=Path, metavar="FILE", help="a file of prompts, one per line ('-': stdin)")
    add_generation_options(parser)
    parser.set_defaults(run=run, needs=NEEDS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if (args.prompt is None) == (args.file is None):
        raise ConfigError("give either a prompt or --file FILE (not both)")
    assert settings.queue_url is not None  # required by NEEDS
    sqs = AwsClients(settings).sqs
    options = request_fields(args)
    if args.prompt is not None:
        body = message_body(args.prompt, options)
        _check_size(body)
        answer = sqs.send_message(QueueUrl=settings.queue_url, MessageBody=body)
        job_id = one_line(answer_field(answer, "MessageId", str, "SQS SendMessage"), 100)
        print(job_id)
        say_queued(job_id)
        return ExitCode.OK
    lines = read_prompt_lines(_read_text(args.file))
    if not lines:
        raise ConfigError(f"no prompts in {args.file} (blank lines and # comments are skipped)")
    report = submit_lines(sqs, settings.queue_url, lines, options)
    return _print_report(report, len(lines))


def read_prompt_lines(text: str) -> list[PromptLine]:
    """The prompts of a file with their line numbers; blank lines and # comments are skipped."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(PromptLine(number, stripped))
    return lines


def message_body(prompt: str, options: dict[str, Any]) -> str:
    """Plain text without options; otherwise the JSON request. A JSON object line keeps its own fields."""
    own = _json_object(prompt)
    if own is not None:
        return prompt if not options else json.dumps({**options, **own})
    return prompt if not options else json.dumps({"prompt": prompt, **options})


def submit_lines(sqs: SQSClient, queue_url: str, lines: list[PromptLine], options: dict[str, Any]) -> SubmitReport:
    """Send every line; lines that fail (too large, refused by SQS, never sent) are in the report."""
    report = SubmitReport()
    bodies = []
    for line in lines:
        body = message_body(line.text, options)
        size = len(body.encode())
        if size > MAX_MESSAGE_BYTES:
            message = f"the message is {size:,} bytes; SQS takes at most {MAX_MESSAGE_BYTES:,}"
            report.failed.append(FailedLine(line.number, "MessageTooLong", message))
        else:
            bodies.append((line.number, body))
    batches = list(_batches(bodies))
    for position, batch in enumerate(batches):
        try:
            _send_batch(sqs, queue_url, batch, report)
        except (BotoCoreError, ClientError) as exc:
            error = as_cli_error(exc)
            if isinstance(error, NetworkError):  # the rest would fail the same way, slowly: stop here
                for rest in batches[position:]:
                    report.failed.extend(FailedLine(n, "NotSent", str(error)) for n, _ in rest)
                break
            report.failed.extend(FailedLine(n, "BatchRefused", str(error)) for n, _ in batch)
    report.failed.sort(key=lambda failed: failed.number)
    return report


def _batches(bodies: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    batch_bytes = 0
    for number, body in bodies:
        size = len(body.encode())
        if batch and (len(batch) == MAX_BATCH_ENTRIES or batch_bytes + size > MAX_BATCH_BYTES):
            yield batch
            batch, batch_bytes = [], 0
        batch.append((number, body))
        batch_bytes += size
    if batch:
        yield batch


def _send_batch(sqs: SQSClient, queue_url: str, batch: list[tuple[int, str]], report: SubmitReport) -> None:
    entries: list[SendMessageBatchRequestEntryTypeDef] = [
        {"Id": f"line-{number}", "MessageBody": body} for number, body in batch
    ]
    report.batches += 1
    answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    numbers = {number for number, _ in batch}
    for ok in answer_items(answer, "Successful"):
        if (number := _line_number(ok.get("Id"))) in numbers:
            numbers.discard(number)
            report.sent.append((number, one_line(ok.get("MessageId", "?"), 100)))
    for bad in answer_items(answer, "Failed"):
        if (number := _line_number(bad.get("Id"))) in numbers:
            numbers.discard(number)
            code, message = one_line(bad.get("Code", "Failed"), 64), one_line(bad.get("Message", ""))
            report.failed.append(FailedLine(number, code, message))
    # SQS answers for every entry; one it did not mention cannot be counted as queued.
    report.failed.extend(FailedLine(n, "NoAnswer", "SQS's answer did not mention this line") for n in sorted(numbers))
    report.sent.sort()


def _print_report(report: SubmitReport, total: int) -> int:
    for number, message_id in report.sent:
        print(f"line {number}\t{message_id}")
    for failed in report.failed:
        print(f"imagegen: line {failed.number} not queued ({failed.code}): {failed.message}", file=sys.stderr)
    batches = f"{report.batches} batch{'es' if report.batches != 1 else ''}"
    summary = f"queued {len(report.sent)} of {total} prompts in {batches}"
    if not report.failed:
        print(f"{summary}; each id is a job id: `imagegen job ID --wait` follows one", file=sys.stderr)
        return ExitCode.OK
    summary += f"; {len(report.failed)} failed (lines {', '.join(str(f.number) for f in report.failed)})"
    if report.sent:
        raise PartialFailure(summary)
    if all(failed.code == "NotSent" for failed in report.failed):
        raise NetworkError(f"{summary}: {report.failed[0].message}")
    raise AwsError(summary)


def _check_size(body: str) -> None:
    size = len(body.encode())
    if size > MAX_MESSAGE_BYTES:
        raise ConfigError(f"the prompt makes a {size:,}-byte message; SQS takes at most {MAX_MESSAGE_BYTES:,}")


def _read_text(path: Path) -> str:
    """The file (or standard input, for '-') as UTF-8 text; ConfigError naming the line that is not UTF-8."""
    name = "standard input" if str(path) == "-" else str(path)
    try:
        if str(path) == "-":
            stream = getattr(sys.stdin, "buffer", sys.stdin)
            data = stream.read()
        else:
            data = path.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name, or a closed stdin
        raise ConfigError(
            f"cannot read {one_line(name, 200)}: {one_line(getattr(exc, 'strerror', None) or exc)}"
        ) from None
    if isinstance(data, str):  # a text stream without a binary buffer
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{one_line(name, 200)} is not UTF-8 text: line {line} holds the byte {data[exc.start]:#04x}"
        ) from None


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _line_number(entry_id: object) -> int | None:
    """The line an entry id (``line-<n>``) stands for; None for an id we did not send."""
    match = re.fullmatch(r"line-([0-9]{1,9})", entry_id) if isinstance(entry_id, str) else None
    return int(match.group(1)) if match else None
