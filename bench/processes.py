"""Starting benchmark children (``bench/lambda_runner.py``) and reading what they measured."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from bench.lambda_env import FunctionSetup

RUNNER = Path(__file__).resolve().with_name("lambda_runner.py")
TIMEOUT_SECONDS = 120


class ChildFailedError(RuntimeError):
    """A benchmark child exited with an error or served an event unsuccessfully."""


def run_once(
    function: FunctionSetup, mode: str, event: dict[str, Any], *, python_options: tuple[str, ...] = (), **spec: Any
) -> dict[str, Any]:
    """Run the runner once in ``mode`` (cold or memory) with ``event``; its figures plus ``spawned``.

    ``spawned`` is the parent's ``perf_counter()`` just before the process was created, so
    ``returned - spawned`` is the time from process start to handler return (interpreter start-up included).
    """
    with tempfile.TemporaryDirectory(prefix="imagegen-bench-") as directory:
        folder = Path(directory)
        out = folder / "figures.json"
        spec_path = _write_spec(folder, function, mode, event, out=str(out), **spec)
        with (folder / "stderr.txt").open("w+") as stderr:
            spawned = time.perf_counter()
            process = subprocess.run(
                [sys.executable, "-I", *python_options, str(RUNNER), str(spec_path)],
                env=function.environment,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
            figures = json.loads(out.read_text()) if process.returncode == 0 and out.exists() else None
            if figures is None or not figures.get("ok"):
                raise ChildFailedError(
                    f"{function.handler} ({mode}) failed (exit {process.returncode}):\n{_tail(stderr)}"
                )
            if python_options:
                stderr.seek(0)
                figures["stderr"] = stderr.read()
    figures["spawned"] = spawned
    return figures


class WarmContainer:
    """A runner in ``serve`` mode: imported once, then one event per ``invoke()``."""

    def __init__(self, function: FunctionSetup, event: dict[str, Any]) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="imagegen-bench-")
        folder = Path(self._folder.name)
        self._stderr = (folder / "stderr.txt").open("w+")
        spec_path = _write_spec(folder, function, "serve", event)
        self.handler = function.handler
        self._process = subprocess.Popen(
            [sys.executable, "-I", str(RUNNER), str(spec_path)],
            env=function.environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

    def invoke(self) -> dict[str, Any]:
        """Serve the event once; ``{"ms", "ok", "timings"}``."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        try:
            self._process.stdin.write("go\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass
        line = self._process.stdout.readline()
        answer = json.loads(line) if line else None
        if answer is None or not answer["ok"]:
            raise ChildFailedError(f"{self.handler} (serve) failed:\n{_tail(self._stderr)}")
        return answer

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stderr.close()
        self._folder.cleanup()

    def __enter__(self) -> WarmContainer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _write_spec(folder: Path, function: FunctionSetup, mode: str, event: dict[str, Any], **spec: Any) -> Path:
    event_path = folder / "event.json"
    event_path.write_text(json.dumps(event))
    spec_path = folder / "spec.json"
    spec_path.write_text(
        json.dumps(
            {"mode": mode, "paths": list(function.paths), "handler": function.handler, "event": str(event_path), **spec}
        )
    )
    return spec_path


def _tail(stream: IO[str], lines: int = 30) -> str:
    stream.flush()
    stream.seek(0)
    return "".join(stream.readlines()[-lines:])
