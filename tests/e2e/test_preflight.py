"""`make preflight LOCAL=1` against the Bedrock stand-in of a running local stack, as a user runs it.

The real Makefile target runs the installed `imagegen preflight --local`, which reads the stack's endpoints file
(``ARGS=--endpoints FILE``: the test stacks keep theirs in a temporary directory) for the stand-in's URL and the
stack's fake credentials. The Makefile's venv is the one running the tests (``VENV=``); its install stamp is taken
as up to date (``-o``) so that the test never reinstalls anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack, cli_in, imagegen_executable, start_local_stack, stop_local_stack
from tests.helpers import ROOT
from tests.standin_requests import CORE

pytestmark = pytest.mark.e2e

DEPLOYER = "deployer"  # the access key id the fresh account's stand-in lets aws-marketplace:Subscribe


def make_preflight(stack: RunningStack, *variables: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`make preflight LOCAL=1 <variables>` in the repository, for the stack's endpoints file, with ``env`` on top
    of a shell that has no AWS settings of its own."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    venv = Path(imagegen_executable()).parent.parent
    shell = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "IMAGEGEN_", "LOCAL_", "BEDROCK_", "MAKE", "PYTEST_"))
        and name not in ("MODEL_ID", "MFLAGS")
    }
    endpoints = stack.state_dir / "endpoints.json"
    return subprocess.run(
        [make, "-s", "--no-print-directory", "-o", f"{venv}/.installed-stamp", f"VENV={venv}", "preflight",
         "LOCAL=1", f"ARGS=--endpoints {endpoints}", *variables],
        cwd=ROOT, env={**shell, **env}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_make_preflight_local_passes_the_default_environment_against_the_local_stand_in(
    running_local_stack: RunningStack,
) -> None:
    # when
    done = make_preflight(running_local_stack)

    # then it checked samconfig's default environment, at the stack's stand-in, and every check passed
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert lines[0] == f"preflight: {CORE} in us-west-2 (samconfig.toml [default])"
    bedrock = running_local_stack.endpoints["bedrock_endpoint_url"]
    assert lines[1] == f"Bedrock at {bedrock} ({running_local_stack.state_dir / 'endpoints.json'}), not AWS"
    assert [line.split(":")[0] for line in lines[2:]] == [
        "ok   request format",
        "ok   catalog",
        "ok   offered in region",
        "ok   access",
    ]


def test_on_a_fresh_account_the_deployer_s_canary_subscribes_the_account_and_the_stack_then_works(
    tmp_path: Path,
) -> None:
    # given a local stack whose stand-in plays a fresh account, where only the deployer may subscribe
    (tmp_path / "stack").mkdir()
    stack = start_local_stack(
        tmp_path / "stack",
        BEDROCK_STANDIN_MARKETPLACE_UNSUBSCRIBED="true",
        BEDROCK_STANDIN_MARKETPLACE_SUBSCRIBERS=DEPLOYER,
        BEDROCK_STANDIN_IMAGE_DETAIL="flat",
    )
    try:
        # when the preflight runs with the stack's own credentials, then with the deployer's and CANARY=1
        user = cli_in(tmp_path / "user", stack.endpoints)
        before = make_preflight(stack)
        refused = user.run("generate", "a lighthouse", "--out", str(tmp_path / "images"))
        canary = make_preflight(stack, "CANARY=1", AWS_ACCESS_KEY_ID=DEPLOYER, AWS_SECRET_ACCESS_KEY="any-secret")
        after = make_preflight(stack)
        smoke = user.run("smoke", "--timeout", "60")
    finally:
        assert stop_local_stack(stack) == 0

    # then the first says what to do, the canary does it, and the functions' calls are served from then on
    assert before.returncode != 0
    assert "FAIL access: the account has not subscribed to it on AWS Marketplace" in before.stdout
    assert "run `make preflight CANARY=1` once as an identity allowed aws-marketplace:Subscribe" in before.stdout
    assert refused.returncode == 3, refused.stdout + refused.stderr  # the functions may not subscribe
    assert "model_error" in refused.stderr
    assert "aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe" in stack.log()  # Bedrock's words, logged
    assert canary.returncode == 0, canary.stdout + canary.stderr
    assert f"ok   subscription: the canary subscribed the account to {CORE} on AWS Marketplace" in canary.stdout
    assert after.returncode == 0, after.stdout
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
