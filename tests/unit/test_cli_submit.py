"""`imagegen submit`: prompts onto the queue, files in batches of ten, every failed line reported."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from imagegen_cli.main import main
from imagegen_cli.submit import PromptLine, message_body, read_prompt_lines, submit_lines
from tests.helpers import REGION

pytestmark = pytest.mark.usefixtures("empty_working_directory")  # no .local/endpoints.json to find


@pytest.fixture
def queue_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws():
        url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="imagegen-images")["QueueUrl"]
        monkeypatch.setenv("SQS_QUEUE_URL", url)
        yield url


def queued_bodies(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION)
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        bodies.extend(message["Body"] for message in batch)
    return bodies


def prompts_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


class CountingSqs:
    """A real (moto) SQS client that also records the size of each SendMessageBatch call."""

    def __init__(self) -> None:
        self.client = boto3.client("sqs", region_name=REGION)
        self.batch_sizes: list[int] = []
        self.client.meta.events.register("provide-client-params.sqs.SendMessageBatch", self._count)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        self.batch_sizes.append(len(params["Entries"]))


def test_a_prompt_without_options_is_queued_as_plain_text(queue_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["submit", "a lighthouse at dawn"])
    # then
    assert code == 0
    assert queued_bodies(queue_url) == ["a lighthouse at dawn"]
    assert len(capsys.readouterr().out.strip()) == 36  # the message id


def test_submit_says_each_message_id_is_a_job_id_and_how_to_follow_it(
    queue_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    prompts = prompts_file(tmp_path, ["a fox", "a hare"])
    # when
    single = main(["submit", "a lighthouse at dawn"])
    one = capsys.readouterr()
    several = main(["submit", "--file", str(prompts)])
    many = capsys.readouterr()
    # then
    assert single == several == 0
    job_id = one.out.strip()
    assert f"queued job {job_id}; `imagegen job {job_id} --wait --out DIR` waits for it" in one.err
    assert [line.split("\t")[0] for line in many.out.splitlines()] == ["line 1", "line 2"]
    assert "each id is a job id: `imagegen job ID --wait` follows one" in many.err


def test_a_prompt_with_options_is_queued_as_a_json_request(queue_url: str) -> None:
    # when
    code = main(["submit", "a lighthouse", "--n", "2", "--size", "512x512", "--quality", "premium"])
    # then
    assert code == 0
    assert [json.loads(body) for body in queued_bodies(queue_url)] == [
        {"prompt": "a lighthouse", "width": 512, "height": 512, "number_of_images": 2, "quality": "premium"}
    ]


def test_a_bare_prompt_means_submit(queue_url: str) -> None:
    # when
    code = main(["a bare prompt", "--seed", "3"])
    # then
    assert code == 0
    assert [json.loads(body) for body in queued_bodies(queue_url)] == [{"prompt": "a bare prompt", "seed": 3}]


def test_a_file_of_25_prompts_goes_out_in_batches_of_10_10_and_5(queue_url: str) -> None:
    # given
    sqs = CountingSqs()
    lines = [PromptLine(number, f"prompt {number}") for number in range(1, 26)]
    # when
    report = submit_lines(sqs.client, queue_url, lines, {})
    # then
    assert sqs.batch_sizes == [10, 10, 5]
    assert report.batches == 3
    assert [number for number, _ in report.sent] == list(range(1, 26))
    assert report.failed == []
    assert sorted(queued_bodies(queue_url)) == sorted(f"prompt {n}" for n in range(1, 26))


def test_submit_file_prints_one_message_id_per_line_and_a_summary(
    queue_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    path = prompts_file(tmp_path, [f"prompt {n}" for n in range(1, 26)])
    # when
    code = main(["submit", "--file", str(path)])
    # then
    assert code == 0
    captured = capsys.readouterr()
    rows = [row.split("\t") for row in captured.out.splitlines()]
    assert [row[0] for row in rows] == [f"line {n}" for n in range(1, 26)]
    assert len({row[1] for row in rows}) == 25
    assert "queued 25 of 25 prompts in 3 batches" in captured.err
    assert len(queued_bodies(queue_url)) == 25


def test_blank_lines_and_comments_are_skipped_and_line_numbers_kept() -> None:
    # when
    lines = read_prompt_lines("# my prompts\n\na fox\n   \n  # not this\n  a lighthouse  \n")
    # then
    assert lines == [PromptLine(3, "a fox"), PromptLine(6, "a lighthouse")]


def test_options_turn_every_line_into_json_and_a_json_line_keeps_its_own_fields() -> None:
    # given
    options = {"number_of_images": 2, "seed": 1}
    # when
    plain = message_body("a fox", options)
    own = message_body('{"prompt": "a cat", "seed": 9}', options)
    # then
    assert json.loads(plain) == {"prompt": "a fox", "number_of_images": 2, "seed": 1}
    assert json.loads(own) == {"prompt": "a cat", "number_of_images": 2, "seed": 9}


def test_an_oversized_line_is_reported_by_line_number_and_the_rest_are_queued(
    queue_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given line 3 is larger than SQS's 256 KiB
    path = prompts_file(tmp_path, ["a fox", "a cat", "x" * (256 * 1024 + 1), "a dog"])
    # when
    code = main(["submit", "--file", str(path)])
    # then
    assert code == 5
    err = capsys.readouterr().err
    assert "line 3 not queued (MessageTooLong)" in err
    assert "queued 3 of 4 prompts in 1 batch; 1 failed (lines 3)" in err
    assert sorted(queued_bodies(queue_url)) == ["a cat", "a dog", "a fox"]


class FailingSqs:
    """An in-memory SQS that refuses the entries it is told to, the way SendMessageBatch reports them."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        ok = [e for e in Entries if e["Id"] not in self.refuse]
        bad = [e for e in Entries if e["Id"] in self.refuse]
        return {
            "Successful": [{"Id": e["Id"], "MessageId": f"id-{e['Id']}"} for e in ok],
            "Failed": [
                {"Id": e["Id"], "SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad char"}
                for e in bad
            ],
        }


def test_failed_entries_of_a_batch_are_reported_with_their_line_numbers() -> None:
    # given
    sqs = FailingSqs(refuse={"line-4", "line-12"})
    lines = [PromptLine(number, f"prompt {number}") for number in range(1, 16)]
    # when
    report = submit_lines(sqs, "https://queue", lines, {})  # type: ignore[arg-type]
    # then
    assert [(failed.number, failed.code) for failed in report.failed] == [
        (4, "InvalidMessageContents"),
        (12, "InvalidMessageContents"),
    ]
    assert [number for number, _ in report.sent] == [n for n in range(1, 16) if n not in (4, 12)]


def test_a_queue_that_cannot_be_reached_is_a_network_error_with_exit_code_4(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an endpoint where nobody listens, and no retries
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    path = prompts_file(tmp_path, [f"prompt {n}" for n in range(1, 13)])
    # when
    endpoint = f"http://127.0.0.1:{port}"
    code = main(["submit", "--file", str(path), "--queue-url", f"{endpoint}/1/q", "--endpoint-url", endpoint])
    # then
    assert code == 4
    err = capsys.readouterr().err
    assert "queued 0 of 12 prompts" in err
    assert "could not reach AWS" in err


def test_a_queue_that_does_not_exist_is_an_api_error_naming_the_setting(
    queue_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = main(["submit", "a fox", "--queue-url", queue_url + "-missing"])
    # then
    assert code == 3
    assert "SQS_QUEUE_URL" in capsys.readouterr().err


def test_submit_needs_a_prompt_or_a_file(queue_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["submit"])
    # then
    assert code == 2
    assert "give either a prompt or --file" in capsys.readouterr().err


def test_a_file_without_prompts_is_a_usage_error(
    queue_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    path = prompts_file(tmp_path, ["# only a comment", ""])
    # when
    code = main(["submit", "--file", str(path)])
    # then
    assert code == 2
    assert "no prompts in" in capsys.readouterr().err


def test_a_missing_queue_url_names_the_variable_and_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["submit", "a fox"])
    # then
    assert code == 2
    err = capsys.readouterr().err
    assert "missing the queue URL" in err
    assert "SQS_QUEUE_URL" in err
    assert "--queue-url" in err
