"""S3 and SQS on 127.0.0.1, emulated by moto's server, with the template's bucket, queue and DLQ.

``MotoServer`` is the one way this repository starts moto as a server: the local stack (``local.stack``)
and the benchmarks (``bench.services``) both use it. Tests that need no HTTP use moto in-process
(``mock_aws``) instead.

Why moto in-process rather than a ``moto_server`` subprocess: one process owns all state and stops as
one (no orphaned server if the launcher dies, no second interpreter to start, no port polling), and
``ThreadedMotoServer``'s own pieces are used. Unlike ``ThreadedMotoServer.start()``, which binds inside
its thread and waits forever when the port is taken, ``MotoServer`` binds in the caller's thread, so a
busy port is a clear error at once. The handlers never share this process: they run in containers
(``local.containers``) and reach moto over HTTP through ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL_SQS``.
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.intrinsics import Resolver
from local.resources import queue_attributes

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

ACCOUNT_ID = "123456789012"  # moto's default account
FAKE_ACCESS_KEY_ID = "test"  # moto accepts any credentials; these are not secrets
FAKE_SECRET_ACCESS_KEY = "test"  # noqa: S105 - moto's conventional fake, not a secret
# Bucket properties whose CloudFormation shape is the API's shape (others are printed as not emulated).
BUCKET_SETTINGS = ("BucketEncryption", "PublicAccessBlockConfiguration", "VersioningConfiguration", "OwnershipControls")


class MotoServer:
    """moto's WSGI app on a threaded werkzeug server, bound at construction (port 0: a free port).

    ``with MotoServer(host, port) as server:`` starts it and stops it on exit.
    """

    def __init__(self, host: str, port: int) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per AWS call
        app = DomainDispatcherApplication(create_backend_app)
        try:
            self._server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        except SystemExit:  # werkzeug prints why and exits when it cannot bind
            raise OSError(f"cannot listen on {host}:{port} for the AWS emulation (LOCAL_AWS_PORT)") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="moto", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def reset(self) -> None:
        """Forget every bucket, object and queue. moto keeps them per process, not per server: a process that
        starts several servers one after another (the benchmarks) calls this to start each from nothing."""
        reset = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310 - http, our own
        with urllib.request.urlopen(reset, timeout=30):  # noqa: S310 - our own server on loopback
            pass

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


@dataclass(frozen=True)
class QueueInfo:
    url: str
    arn: str
    attributes: Mapping[str, str]


def clients(endpoint_url: str, region: str) -> tuple[S3Client, SQSClient]:
    return aws_client("s3", endpoint_url, region), aws_client("sqs", endpoint_url, region)


def aws_client(service: str, endpoint_url: str, region: str) -> Any:
    """A boto3 client of the emulation at ``endpoint_url``, with its fake credentials."""
    import boto3

    session = boto3.session.Session(
        region_name=region, aws_access_key_id=FAKE_ACCESS_KEY_ID, aws_secret_access_key=FAKE_SECRET_ACCESS_KEY
    )
    return session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]


def create_bucket(s3: S3Client, name: str, properties: Mapping[str, Any], region: str) -> list[str]:
    """The bucket with the template's settings; returns the property names that are not emulated."""
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})  # type: ignore[typeddict-item]
    if "BucketEncryption" in properties:
        rules: list[Any] = [
            {("ApplyServerSideEncryptionByDefault" if key == "ServerSideEncryptionByDefault" else key): value
             for key, value in rule.items()}
            for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]  # fmt: skip
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in properties:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
        )
    if "VersioningConfiguration" in properties:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=properties["VersioningConfiguration"])
    if "OwnershipControls" in properties:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=properties["OwnershipControls"])
    return sorted(set(properties) - set(BUCKET_SETTINGS) - {"BucketName"})


def create_queue(sqs: SQSClient, name: str, properties: Mapping[str, Any], overrides: Mapping[str, str]) -> QueueInfo:
    """A queue with the template's attributes (SSE, retention, redrive...), ``overrides`` applied last."""
    attributes = {**queue_attributes(properties), **overrides}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    actual = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return QueueInfo(url=url, arn=actual["QueueArn"], attributes={str(key): value for key, value in actual.items()})


def register_queue(resolver: Resolver, logical_id: str, queue: QueueInfo) -> None:
    """Make ``!Ref``/``!GetAtt`` of the queue resolve to the local one."""
    resolver.refs[logical_id] = queue.url
    resolver.attributes[f"{logical_id}.Arn"] = queue.arn
    resolver.attributes[f"{logical_id}.QueueUrl"] = queue.url
    resolver.attributes[f"{logical_id}.QueueName"] = queue.url.rsplit("/", 1)[1]
