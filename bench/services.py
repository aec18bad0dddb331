"""What a benchmarked function talks to, all on 127.0.0.1 in the benchmark's own process.

- S3 and SQS: moto's ``ThreadedMotoServer``, reached over HTTP through ``AWS_ENDPOINT_URL_S3`` /
  ``AWS_ENDPOINT_URL_SQS``, as a function on Lambda reaches the real services over HTTPS.
- Bedrock: the stand-in (``local.bedrock_standin``), through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``.
- The X-Ray daemon: a UDP socket that counts the segment documents it receives. On Lambda the daemon
  listens at AWS_XRAY_DAEMON_ADDRESS; here a listener on loopback takes its place, so the traced
  function sends what it sends on Lambda and the count proves that tracing was on.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

REGION = "eu-west-1"
FAKE_CREDENTIALS = {  # moto accepts any credentials: these are not secrets
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
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
    """moto's threaded server on a free loopback port; yields its URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access-log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _reset_moto(url)  # moto's state is per process: start from nothing, whatever ran before
    try:
        yield url
    finally:
        _reset_moto(url)  # and free what this benchmark stored (the images)
        server.stop()


def _reset_moto(url: str) -> None:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30):
        pass


@dataclass(frozen=True)
class Services:
    endpoints: Endpoints
    standin: Any  # local.bedrock_standin.BedrockStandin
    xray: XRayListener


@contextlib.contextmanager
def running_services(latency_ms: int = 0, image_detail: str = "noisy") -> Iterator[Services]:
    """moto, the Bedrock stand-in and the X-Ray listener, all on loopback, stopped on exit."""
    from local.bedrock_standin import BedrockStandin, StandinSettings

    listener = XRayListener()
    standin = BedrockStandin(StandinSettings(latency_ms=latency_ms, image_detail=image_detail), host="127.0.0.1")
    try:
        with moto_server() as aws_url, standin:
            yield Services(Endpoints(aws_url, standin.url, listener.address), standin, listener)
    finally:
        listener.close()


def aws_client(service: str, endpoints: Endpoints) -> Any:
    """A plain boto3 client on moto, for the benchmark's own set-up (buckets, queues)."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    ).client(service, endpoint_url=endpoints.aws_url)  # type: ignore[call-overload]


def create_bucket(endpoints: Endpoints, name: str) -> None:
    aws_client("s3", endpoints).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


def create_queue(endpoints: Endpoints, name: str) -> str:
    return str(aws_client("sqs", endpoints).create_queue(QueueName=name)["QueueUrl"])
