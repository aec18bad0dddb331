"""What a benchmarked function talks to, all on 127.0.0.1 in the benchmark's own process.

- S3, SQS, DynamoDB (the jobs table) and EventBridge: moto's server as the local stack runs it
  (``local.aws_emulation.MotoServer``), reached over
  HTTP through ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL_SQS``, as a function on Lambda reaches the real
  services over HTTPS.
- Bedrock: the stand-in (``local.bedrock_standin``), through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``.
- The X-Ray daemon: a UDP socket that counts the segment documents it receives. On Lambda the daemon
  listens at AWS_XRAY_DAEMON_ADDRESS; here a listener on loopback takes its place, so the traced
  function sends what it sends on Lambda and the count proves that tracing was on.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from local import aws_emulation
from local.aws_emulation import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY, MotoServer
from local.resources import create_jobs_table

REGION = "eu-west-1"
FAKE_CREDENTIALS = {  # moto accepts any credentials: these are not secrets. Lambda's are session credentials.
    "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
    "AWS_SESSION_TOKEN": "test",
}


@dataclass(frozen=True)
class Endpoints:
    aws_url: str  # moto: S3 and SQS
    bedrock_url: str
    xray_address: str  # host:port of the UDP listener


class XRayListener:
    """A UDP socket on loopback standing in for the X-Ray daemon: it reads and counts datagrams."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stopping = threading.Event()
        self.datagrams = 0
        self._thread = threading.Thread(target=self._read, name="xray-listener", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"{host}:{port}"

    def _read(self) -> None:
        while not self._stopping.is_set():
            try:
                self._socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.datagrams += 1

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self._socket.close()


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto on a free loopback port, its state emptied before and after (the images); yields its URL."""
    with MotoServer("127.0.0.1", 0) as server:
        server.reset()  # moto's state is per process: start from nothing, whatever ran before
        try:
            yield server.url
        finally:
            server.reset()  # and free what this benchmark stored


@dataclass(frozen=True)
class Services:
    endpoints: Endpoints
    standin: Any  # local.bedrock_standin.BedrockStandin
    xray: XRayListener


@contextlib.contextmanager
def running_services(latency_ms: int = 0, image_detail: str = "noisy") -> Iterator[Services]:
    """moto, the Bedrock stand-in and the X-Ray listener, all on loopback, stopped on exit."""
    from bench.lambda_env import JOBS_TABLE, STANDIN_TODAY
    from local.bedrock_standin import BedrockStandin, StandinSettings

    listener = XRayListener()
    settings = StandinSettings(
        latency_ms=latency_ms, image_detail=image_detail, today=date.fromisoformat(STANDIN_TODAY)
    )
    standin = BedrockStandin(settings, host="127.0.0.1")
    try:
        with moto_server() as aws_url, standin:
            create_jobs_table(aws_emulation.aws_client("dynamodb", aws_url, REGION), JOBS_TABLE, REGION)
            yield Services(Endpoints(aws_url, standin.url, listener.address), standin, listener)
    finally:
        listener.close()


def create_bucket(endpoints: Endpoints, name: str) -> None:
    """A plain bucket (no template settings), as the local stack creates its buckets."""
    s3 = aws_emulation.aws_client("s3", endpoints.aws_url, REGION)
    aws_emulation.create_bucket(s3, name, properties={}, region=REGION)


def create_queue(endpoints: Endpoints, name: str) -> str:
    """A plain queue (no template settings), as the local stack creates its queues; its URL."""
    sqs = aws_emulation.aws_client("sqs", endpoints.aws_url, REGION)
    return aws_emulation.create_queue(sqs, name, properties={}, overrides={}).url
