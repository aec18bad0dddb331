"""Lambda-like containers: one event at a time, state kept between events, the function's environment only,
timeouts and crashes answered like Lambda. The handlers are tiny modules written to a temporary directory."""

from __future__ import annotations

import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.containers import ContainerPool, FunctionSpec

HANDLER = """
import importlib.util, os, threading

calls = 0
busy = threading.Lock()


def lambda_handler(event, context):
    global calls
    if not busy.acquire(blocking=False):
        raise RuntimeError("two events at once in one container")
    try:
        calls += 1
        action = event.get("action")
        if action == "crash":
            raise ValueError("boom")
        if action == "exit":
            os._exit(3)
        if action == "hang":
            print("hanging", flush=True)
            threading.Event().wait()
        print("handler says hello")
        return {
            "calls": calls,
            "pid": os.getpid(),
            "home": os.environ.get("HOME"),
            "greeting": os.environ.get("GREETING"),
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "repository_importable": importlib.util.find_spec("local") is not None,
        }
    finally:
        busy.release()
"""


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(textwrap.dedent(HANDLER))
    (tmp_path / "broken.py").write_text("import no_such_module_anywhere\n")
    return tmp_path


def spec(code_dir: Path, handler: str = "app.lambda_handler", timeout: int = 10) -> FunctionSpec:
    return FunctionSpec(
        name="test-function",
        handler=handler,
        paths=(code_dir,),
        environment={"GREETING": "hi", "AWS_LAMBDA_FUNCTION_NAME": "test-function", "PYTHONUNBUFFERED": "1"},
        timeout_seconds=timeout,
    )


class Logs:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self._changed = threading.Condition()

    def __call__(self, source: str, text: str) -> None:
        with self._changed:
            self.lines.append((source, text))
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 10) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: any(line == text for _, line in self.lines), timeout)


@pytest.fixture
def logs() -> Logs:
    return Logs()


@pytest.fixture
def pool(code_dir: Path, logs: Logs) -> Iterator[ContainerPool]:
    pool = ContainerPool(spec(code_dir), size=2, log=logs)
    yield pool
    pool.stop()


def test_a_container_keeps_its_state_between_events_and_starts_cold_only_once(pool: ContainerPool) -> None:
    # when
    first = pool.invoke({})
    second = pool.invoke({})

    # then
    assert first.ok
    assert second.ok
    assert (first.cold_start, second.cold_start) == (True, False)
    assert (first.result["calls"], second.result["calls"]) == (1, 2)
    assert first.result["pid"] == second.result["pid"]


def test_the_handler_gets_a_lambda_context(pool: ContainerPool) -> None:
    # when
    invocation = pool.invoke({}, request_id="req-123")

    # then
    assert invocation.result["request_id"] == "req-123"
    assert invocation.result["function_name"] == "test-function"
    assert 0 < invocation.result["remaining_ms"] <= 10_000


def test_the_container_sees_the_functions_environment_and_not_the_launchers(pool: ContainerPool) -> None:
    # when
    result = pool.invoke({}).result

    # then
    assert result["greeting"] == "hi"
    assert result["home"] is None
    assert result["repository_importable"] is False


def test_events_never_overlap_in_one_container_and_the_pool_grows_to_its_size(pool: ContainerPool) -> None:
    # given
    results: list[dict[str, object]] = []
    lock = threading.Lock()

    def call() -> None:
        invocation = pool.invoke({})
        assert invocation.ok, invocation.error
        with lock:
            results.append(invocation.result)

    threads = [threading.Thread(target=call) for _ in range(6)]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then
    assert len(results) == 6
    assert len({result["pid"] for result in results}) <= 2


def test_an_exception_is_answered_with_lambdas_error_document(pool: ContainerPool) -> None:
    # when
    invocation = pool.invoke({"action": "crash"})

    # then
    assert invocation.error is not None
    assert invocation.error["errorType"] == "ValueError"
    assert invocation.error["errorMessage"] == "boom"
    assert invocation.error["stackTrace"]


def test_the_handlers_prints_reach_the_log_with_the_containers_name(pool: ContainerPool, logs: Logs) -> None:
    # when
    pool.invoke({})
    pool.stop()

    # then
    assert ("test-function#1", "handler says hello") in logs.lines


def test_a_container_that_exits_is_replaced_by_a_cold_one(pool: ContainerPool) -> None:
    # given
    first = pool.invoke({})

    # when
    crashed = pool.invoke({"action": "exit"})
    after = pool.invoke({})

    # then
    assert crashed.error is not None
    assert crashed.error["errorType"] == "Runtime.ExitError"
    assert after.ok
    assert after.cold_start
    assert after.result["pid"] != first.result["pid"]


def test_an_event_over_the_timeout_is_stopped_like_lambda_does(code_dir: Path, logs: Logs) -> None:
    # given
    pool = ContainerPool(spec(code_dir, timeout=1), size=1, log=logs)

    # when
    try:
        invocation = pool.invoke({"action": "hang"})
        after = pool.invoke({})
    finally:
        pool.stop()

    # then
    assert invocation.error is not None
    assert invocation.error["errorType"] == "Sandbox.Timedout"
    assert after.ok
    assert after.cold_start


def test_an_import_error_is_an_init_error(code_dir: Path, logs: Logs) -> None:
    # given
    pool = ContainerPool(spec(code_dir, handler="broken.lambda_handler"), size=1, log=logs)

    # when
    try:
        invocation = pool.invoke({})
    finally:
        pool.stop()

    # then
    assert invocation.error is not None
    assert invocation.error["errorType"] == "ModuleNotFoundError"


def test_stopping_the_pool_ends_a_busy_container_and_refuses_new_events(pool: ContainerPool, logs: Logs) -> None:
    # given
    outcome: list[object] = []
    caller = threading.Thread(target=lambda: outcome.append(pool.invoke({"action": "hang"})))
    caller.start()
    assert logs.wait_for("hanging")

    # when
    pool.stop()
    caller.join(timeout=10)

    # then
    assert not caller.is_alive()
    assert not outcome[0].ok  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="stopping"):
        pool.invoke({})


def test_the_runtime_runs_with_the_launchers_interpreter(code_dir: Path) -> None:
    # then
    assert spec(code_dir).command()[0] == sys.executable
