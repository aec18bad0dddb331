"""The local stack as users run it: ``python -m local`` in a subprocess, shared by every e2e test.

Fixtures (a stable API: the CLI tests in tests/e2e/ use them too):

- ``local_stack`` (session): starts the REAL command once, on free ports (``LOCAL_*_PORT=0``), with its
  state in a temporary ``LOCAL_STATE_DIR``; waits (up to ``READY_TIMEOUT`` s) for ``endpoints.json``
  and yields its content as a dict: ``api_url``, ``api_stage_url``, ``api_key``, ``aws_endpoint_url``,
  ``bedrock_endpoint_url``, ``region``, ``aws_access_key_id``, ``aws_secret_access_key``, ``bucket``,
  ``image_prefix``, ``queue_url``, ``dlq_url``, ``model_id``, ``visibility_timeout``,
  ``max_receive_count``, ``pid``. At the end of the session it sends SIGINT and asserts a clean exit
  (code 0) within ``STOP_TIMEOUT`` s.
  Local knobs in force: batching window 0 s, visibility timeout 2 s and throttled messages handed back
  after 1 s (so retries and redrives take seconds, not minutes), the API's stage throttle off (so tests
  never race its token bucket; the throttle has unit tests), everything else as template.yaml says (the
  default model, Stable Image Core).
- ``local_stack_log``: the path of the stack's combined stdout/stderr (handler logs included).
- ``aws_clients``: ``(s3, sqs)`` boto3 clients on the stack's moto endpoint with its fake credentials
  (``clients_for(endpoints)`` makes them for a stack of your own).
- ``start_local_stack(tmp_path, **env)`` / ``stop_local_stack(stack, signal)``: a stack of your own (e.g. to
  test Ctrl-C). Waiting on a condition: ``tests.helpers.wait_until``.
- ``cli`` (module): a ``Cli`` that runs the installed `imagegen` in a directory holding the stack's
  ``.local/endpoints.json``, as after `make local` (``cli_in(directory, endpoints)`` makes one for a stack of
  your own).

Marker ``needs_jobs_server``: the CLI's job commands against the server side of issue 12 (POST /jobs,
GET /jobs/{id}, GET /jobs, the worker recording queue messages as jobs); `-m "not needs_jobs_server"`
leaves them out.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers import ROOT, wait_until

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
TEST_KNOBS = {
    "LOCAL_AWS_PORT": "0",
    "LOCAL_BEDROCK_PORT": "0",
    "LOCAL_API_PORT": "0",
    "LOCAL_BATCHING_WINDOW": "0",
    "LOCAL_VISIBILITY_TIMEOUT": "2",
    "LOCAL_API_THROTTLE": "off",
    "LOCAL_ENV_HAND_BACK_MAX_SECONDS": "1",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_jobs_server: the CLI's job commands, against the server side of issue 12 (jobs)"
    )


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    state_dir: Path
    log_path: Path
    endpoints: dict[str, Any]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def stack_environment(state_dir: Path, **env: str) -> dict[str, str]:
    """The launcher's environment: no real AWS settings or earlier LOCAL_* knobs, the test knobs, then ``env``."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "LOCAL_", "BEDROCK_STANDIN_", "PYTEST_"))
    }
    return {**inherited, **TEST_KNOBS, "LOCAL_STATE_DIR": str(state_dir), **env}


def start_local_stack(directory: Path, **env: str) -> RunningStack:
    """``python -m local`` in ``directory`` (state and log there); returns once endpoints.json is written."""
    state_dir = directory / "state"
    log_path = directory / "local-stack.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"],
            cwd=ROOT,
            env=stack_environment(state_dir, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    endpoints_file = state_dir / "endpoints.json"

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"python -m local exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        return endpoints_file.exists()

    try:
        wait_until(ready, READY_TIMEOUT, "the local stack to write endpoints.json")
    except BaseException:
        process.kill()
        process.wait()
        raise
    endpoints = json.loads(endpoints_file.read_text())
    return RunningStack(process, state_dir, log_path, endpoints)


def stop_local_stack(stack: RunningStack, signal_number: int = signal.SIGINT) -> int:
    """Ctrl-C (or another signal), as a user would; the exit code (killed if it does not stop in time)."""
    stack.process.send_signal(signal_number)
    try:
        return stack.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait()
        pytest.fail(f"the local stack did not stop within {STOP_TIMEOUT:.0f} s of SIGINT:\n{stack.log()}")


@pytest.fixture(scope="session")
def running_local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_local_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    code = stop_local_stack(stack)
    assert code == 0, f"python -m local exited with {code} on SIGINT:\n{stack.log()}"


@pytest.fixture(scope="session")
def local_stack(running_local_stack: RunningStack) -> dict[str, Any]:
    """endpoints.json of the session's local stack (see the module docstring)."""
    return running_local_stack.endpoints


@pytest.fixture(scope="session")
def local_stack_log(running_local_stack: RunningStack) -> Path:
    return running_local_stack.log_path


def clients_for(endpoints: dict[str, Any]) -> tuple[Any, Any]:
    """``(s3, sqs)`` boto3 clients on a local stack's moto endpoint, with its fake credentials."""
    session = boto3.session.Session(
        aws_access_key_id=endpoints["aws_access_key_id"],
        aws_secret_access_key=endpoints["aws_secret_access_key"],
        region_name=endpoints["region"],
    )
    endpoint = endpoints["aws_endpoint_url"]
    return session.client("s3", endpoint_url=endpoint), session.client("sqs", endpoint_url=endpoint)


@pytest.fixture(scope="session")
def aws_clients(local_stack: dict[str, Any]) -> tuple[Any, Any]:
    return clients_for(local_stack)


def imagegen_executable() -> str:
    beside_python = Path(sys.executable).parent / "imagegen"
    found = str(beside_python) if beside_python.exists() else shutil.which("imagegen")
    if found is None:
        pytest.fail("the imagegen command is not installed: pip install -e ./cli")
    return found


@dataclass
class Cli:
    """Runs `imagegen` in a directory set up like the repository after `make local`."""

    workdir: Path
    endpoints: dict[str, Any]

    def run(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith(("IMAGEGEN_", "SQS_"))}
        return subprocess.run(
            [imagegen_executable(), *arguments],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def cli_in(directory: Path, endpoints: dict[str, Any]) -> Cli:
    """A ``Cli`` in ``directory``, which gets the stack's ``.local/endpoints.json`` as after `make local`."""
    (directory / ".local").mkdir(parents=True, exist_ok=True)
    (directory / ".local" / "endpoints.json").write_text(json.dumps(endpoints))
    return Cli(directory, endpoints)


@pytest.fixture(scope="module")
def cli(local_stack: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return cli_in(tmp_path_factory.mktemp("cli-user"), local_stack)
