"""`make smoke` / `imagegen smoke` against the local stack: it passes on the default model and fails, saying why,
when the stack runs a model Bedrock has retired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import cli_in, start_local_stack, stop_local_stack

pytestmark = pytest.mark.e2e


def test_the_smoke_test_passes_against_the_local_stack(local_stack: dict[str, Any], tmp_path: Path) -> None:
    # given a user's checkout with the running local stack's endpoints
    cli = cli_in(tmp_path, local_stack)

    # when
    done = cli.run("smoke", "--timeout", "60")

    # then every step passed: a PNG over HTTP, a PNG through the queue, no new dead letter
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   POST /generate-image: stability.stable-image-core-v1:1" in done.stdout
    assert "ok   queue message" in done.stdout
    assert "ok   dead-letter queue" in done.stdout
    assert done.stdout.rstrip().endswith("smoke test passed")


def test_the_smoke_test_fails_and_says_why_when_the_stack_runs_a_retired_model(tmp_path: Path) -> None:
    # given a local stack started as `LOCAL_MODEL_ID=amazon.nova-canvas-v1:0 LOCAL_ENV_BEDROCK_REGION=us-east-1
    # make local` (Nova Canvas: EOL 2026-09-30; in us-west-2, where it never was, Bedrock says the id is invalid)
    (tmp_path / "stack").mkdir()
    retired = {"LOCAL_MODEL_ID": "amazon.nova-canvas-v1:0", "LOCAL_ENV_BEDROCK_REGION": "us-east-1"}
    stack = start_local_stack(tmp_path / "stack", **retired)
    try:
        cli = cli_in(tmp_path / "user", stack.endpoints)

        # when
        done = cli.run("smoke", "--timeout", "20")
    finally:
        assert stop_local_stack(stack) == 0

    # then it exits 6 and names the failed step and Bedrock's reason
    assert done.returncode == 6, done.stdout + done.stderr
    assert "FAIL POST /generate-image: HTTP 502 model_error" in done.stdout
    assert "reached its end of life on Bedrock on 2026-09-30" in done.stdout
    assert "FAIL queue message" in done.stdout
    assert "smoke test failed: POST /generate-image" in done.stderr
