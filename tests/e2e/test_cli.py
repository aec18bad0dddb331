"""The installed `imagegen` command against the running local stack, as a new user would run it.

Every call goes through the real entry point (`.venv/bin/imagegen`, or the one beside this Python) in a
subprocess whose working directory holds `.local/endpoints.json` (the ``cli`` fixture), so configuration
comes from the file exactly as after `make local`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli
from tests.helpers import png_size, wait_until

pytestmark = pytest.mark.e2e

SUBMIT_COUNT = 25


def test_generate_downloads_a_valid_png_of_the_requested_size(cli: Cli, tmp_path: Path) -> None:
    # when (the local stack runs the default model, Stable Image Core: one image per call, aspect-ratio sizes)
    done = cli.run("generate", "a red fox", "--size", "1344x768", "--out", str(tmp_path / "tmp"))
    # then
    assert done.returncode == 0, done.stderr
    paths = [Path(line) for line in done.stdout.splitlines()]
    assert len(paths) == 1
    for path in paths:
        assert path.parent == tmp_path / "tmp"
        assert png_size(path.read_bytes()) == (1344, 768)


def test_generate_with_a_wrong_api_key_explains_the_key_and_exits_with_3(cli: Cli) -> None:
    # when
    done = cli.run("generate", "a red fox", "--api-key", "not-the-key")
    # then
    assert done.returncode == 3
    assert "forbidden" in done.stderr
    assert "IMAGEGEN_API_KEY" in done.stderr


@pytest.fixture(scope="module")
def submitted(cli: Cli) -> dict[str, Any]:
    """25 prompts (with comments and blank lines between them) submitted from a file."""
    lines = ["# prompts for the end-to-end test", ""]
    lines += [f"a lighthouse at dawn, number {n}" for n in range(1, SUBMIT_COUNT + 1)]
    (cli.workdir / "prompts.txt").write_text("\n".join(lines) + "\n")
    done = cli.run("submit", "--file", "prompts.txt")
    rows = [row.split("\t") for row in done.stdout.splitlines()]
    return {"done": done, "message_ids": [row[1] for row in rows if len(row) == 2]}


def test_submit_file_sends_25_messages_in_3_batches(submitted: dict[str, Any]) -> None:
    # when
    done: subprocess.CompletedProcess[str] = submitted["done"]
    # then
    assert done.returncode == 0, done.stderr
    assert len(set(submitted["message_ids"])) == SUBMIT_COUNT
    assert f"queued {SUBMIT_COUNT} of {SUBMIT_COUNT} prompts in 3 batches" in done.stderr


def test_the_worker_stores_an_image_for_every_submitted_message(
    cli: Cli, submitted: dict[str, Any], aws_clients: tuple[Any, Any]
) -> None:
    # given
    s3, _ = aws_clients
    prefix = f"{cli.endpoints['image_prefix']}/sqs/"

    def stored_message_ids() -> set[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=cli.endpoints["bucket"], Prefix=prefix)
        return {item["Key"][len(prefix) :].split("/")[0] for page in pages for item in page.get("Contents", [])}

    # when
    wait_until(lambda: set(submitted["message_ids"]) <= stored_message_ids(), 120, "the 25 images")
    # then
    assert set(submitted["message_ids"]) <= stored_message_ids()


def test_status_shows_the_submitted_images_and_an_empty_queue(cli: Cli, submitted: dict[str, Any]) -> None:
    # given every submitted message has been handled
    def queue_is_empty() -> bool:
        status = json.loads(cli.run("status", "--json").stdout)
        return status["queue"]["visible"] == 0 and status["queue"]["in_flight"] == 0

    wait_until(queue_is_empty, 120, "the queue to drain")
    # when
    done = cli.run("status", "--json", "--limit", "1000")
    # then
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    keys = [image["key"] for image in status["images"]["newest"]]
    for message_id in submitted["message_ids"]:
        assert any(f"/sqs/{message_id}/" in key for key in keys), message_id
    text = cli.run("status").stdout
    assert "0 waiting, 0 in flight" in text
    assert f"s3://{cli.endpoints['bucket']}/{cli.endpoints['image_prefix']}/" in text
