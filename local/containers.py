"""Lambda's execution model, locally: a small pool of containers per function.

Lambda runs one event at a time per container and keeps module state between events (our handlers
rely on it: the Powertools resolver's current event is a global). So the local stack never runs a
handler twice at once in one process: each container is a worker subprocess (``local/runtime.py``)
that imports the handler once and serves one event at a time, started with the function's environment
only. A pool starts containers on demand up to its size (cold starts, like Lambda scaling out), reuses
idle ones (warm starts), and replaces one that timed out or crashed.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

RUNTIME_SCRIPT = Path(__file__).with_name("runtime.py")
STOP_GRACE_SECONDS = 2.0
INIT_TIMEOUT_SECONDS = 10  # Lambda's limit for the init phase

LogSink = Callable[[str, str], None]


@dataclass(frozen=True)
class FunctionSpec:
    """What a container needs to run a function as template.yaml deploys it."""

    name: str
    handler: str
    paths: tuple[Path, ...]
    environment: Mapping[str, str]
    timeout_seconds: int
    memory_mb: int = 128

    def command(self) -> list[str]:
        paths = [arg for path in self.paths for arg in ("--path", str(path))]
        return [sys.executable, "-I", str(RUNTIME_SCRIPT), *paths, self.handler]


@dataclass(frozen=True)
class Invocation:
    """The outcome of one event: the handler's result, or Lambda's error document."""

    request_id: str
    result: Any = None
    error: dict[str, Any] | None = None
    cold_start: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class PoolStoppedError(RuntimeError):
    """The pool is shutting down and takes no more events."""


class _LineReader:
    """Lines from a pipe, with a deadline (a hung handler must not hang the launcher)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._fd = stream.fileno()
        self._buffer = b""

    def readline(self, deadline: float | None) -> bytes | None:
        """The next line without its newline; ``b""`` at end of file; None when the deadline passed."""
        while b"\n" not in self._buffer:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            readable, _, _ = select.select([self._fd], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(self._fd, 1 << 16)
            if not chunk:
                return b""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


class Container:
    """One worker subprocess for one function; not thread-safe: the pool hands it to one caller at a time."""

    def __init__(self, spec: FunctionSpec, number: int, log: LogSink) -> None:
        self.spec = spec
        self.label = f"{spec.name}#{number}"
        self._log = log
        self._lock = threading.Lock()
        self._closed = False
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: _LineReader | None = None
        self._log_thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._process is not None

    @property
    def alive(self) -> bool:
        return not self._closed and self._process is not None and self._process.poll() is None

    def start(self) -> dict[str, Any] | None:
        """Spawn and import the handler (the cold start); the init error document if that failed."""
        stream = time.strftime("%Y/%m/%d") + f"/[$LATEST]{uuid.uuid4().hex}"
        with self._lock:
            if self._closed:
                return _error("Runtime.Stopped", "the local stack is stopping")
            self._process = subprocess.Popen(
                self.spec.command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**self.spec.environment, "AWS_LAMBDA_LOG_STREAM_NAME": stream},
                cwd=self.spec.paths[0],
                process_group=0,  # Ctrl-C goes to the launcher, which then stops us in order
            )
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._reader = _LineReader(self._process.stdout)
        self._log_thread = threading.Thread(
            target=self._forward_logs, args=(self._process.stderr,), name=f"logs-{self.label}", daemon=True
        )
        self._log_thread.start()
        line = self._reader.readline(deadline=time.monotonic() + max(INIT_TIMEOUT_SECONDS, self.spec.timeout_seconds))
        message = json.loads(line) if line else {}
        if message.get("type") == "ready":
            return None
        self.stop()
        if message.get("type") == "init_error":
            return {key: value for key, value in message.items() if key not in ("type", "ok")}
        return _error("Runtime.ExitError", f"the container exited during init (exit status {self._exit_status()})")

    def invoke(self, event: Any, request_id: str) -> Invocation:
        assert self._process is not None
        assert self._process.stdin is not None
        assert self._reader is not None
        timeout = self.spec.timeout_seconds
        deadline_ms = int((time.time() + timeout) * 1000)
        request = json.dumps({"event": event, "request_id": request_id, "deadline_ms": deadline_ms})
        try:
            self._process.stdin.write(request.encode() + b"\n")
            self._process.stdin.flush()
        except (BrokenPipeError, ValueError):
            return Invocation(request_id, error=self._exit_error(request_id))
        line = self._reader.readline(deadline=time.monotonic() + timeout)
        if line is None:
            self._log(self.label, f"Task timed out after {timeout:.2f} seconds (request {request_id})")
            self.kill()
            self.stop()
            timed_out = _error("Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds")
            return Invocation(request_id, error=timed_out)
        if not line:
            return Invocation(request_id, error=self._exit_error(request_id))
        answer = json.loads(line)
        if answer.get("ok"):
            return Invocation(request_id, result=answer.get("result"))
        return Invocation(request_id, error={key: value for key, value in answer.items() if key != "ok"})

    def stop(self) -> None:
        """Close stdin (the runtime exits at end of input), then kill what is left of the process group."""
        with self._lock:
            self._closed = True
            process = self._process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._log_thread is not None and self._log_thread is not threading.current_thread():
            self._log_thread.join(timeout=STOP_GRACE_SECONDS)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def kill(self) -> None:
        """Stop at once, even mid-event (the launcher is shutting down)."""
        with self._lock:
            self._closed = True
            process = self._process
        if process is not None and process.poll() is None:
            process.kill()

    def _exit_status(self) -> int | None:
        return None if self._process is None else self._process.wait()

    def _exit_error(self, request_id: str) -> dict[str, Any]:
        status = self._exit_status()
        self.stop()
        return _error("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with status {status}")

    def _forward_logs(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._log(self.label, raw.decode(errors="replace").rstrip("\n"))


class ContainerPool:
    """Up to ``size`` containers of one function; ``invoke`` waits for a free one (one event per container)."""

    def __init__(self, spec: FunctionSpec, size: int, log: LogSink) -> None:
        if size < 1:
            raise ValueError(f"a pool for {spec.name} needs at least one container")
        self.spec = spec
        self.size = size
        self._log = log
        self._condition = threading.Condition()
        self._idle: list[Container] = []
        self._containers: set[Container] = set()
        self._created = 0
        self._stopped = False

    def invoke(self, event: Any, request_id: str | None = None) -> Invocation:
        request_id = request_id or str(uuid.uuid4())
        container = self._acquire()
        try:
            cold = not container.started
            if cold:
                init_error = container.start()
                if init_error is not None:
                    return Invocation(request_id, error=init_error, cold_start=True)
            invocation = container.invoke(event, request_id)
            return Invocation(invocation.request_id, invocation.result, invocation.error, cold_start=cold)
        finally:
            self._release(container)

    def warm(self) -> None:
        """Start one container ahead of the first event (called at launch, off the main thread)."""
        with self._condition:
            container = None if self._stopped else self._take()
        if container is None:
            return
        try:
            if not container.started:
                init_error = container.start()
                if init_error is not None:
                    self._log(container.label, f"init failed: {init_error.get('errorMessage')}")
        finally:
            self._release(container)

    def stop(self) -> None:
        """Refuse new events, kill busy containers (their callers get an error and clean up), stop idle ones."""
        with self._condition:
            self._stopped = True
            idle, self._idle = self._idle, []
            busy = self._containers.difference(idle)
            self._containers.difference_update(idle)
            self._condition.notify_all()
        for container in busy:
            container.kill()
        for container in idle:
            container.stop()

    def _acquire(self) -> Container:
        with self._condition:
            while True:
                if self._stopped:
                    raise PoolStoppedError(f"{self.spec.name} is stopping")
                container = self._take()
                if container is not None:
                    return container
                self._condition.wait()

    def _take(self) -> Container | None:
        """An idle container, else a new one while under ``size``; call with the condition held."""
        if self._idle:
            return self._idle.pop()
        if len(self._containers) < self.size:
            self._created += 1
            container = Container(self.spec, self._created, self._log)
            self._containers.add(container)
            return container
        return None

    def _release(self, container: Container) -> None:
        with self._condition:
            keep = not self._stopped and container.alive
            if keep:
                self._idle.append(container)
            else:
                self._containers.discard(container)
            self._condition.notify()
        if not keep:
            container.stop()


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message}
