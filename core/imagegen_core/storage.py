"""Where images go: S3 keys, object metadata and presigned URLs."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from imagegen_core.errors import ModelError, StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class StoredImage:
    bucket: str
    key: str
    width: int
    height: int

    @property
    def s3_uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, without decoding the image."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ModelError("the model returned an image that is not a PNG", transient=True)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class ImageStore:
    """PNG objects under ``<prefix>/<job id>/``, one job per API request or SQS message."""

    def __init__(self, client: S3Client, bucket: str, prefix: str, presign_expiry_seconds: int) -> None:
        self._client = client
        self.bucket = bucket
        self._prefix = prefix
        self._expiry = presign_expiry_seconds

    def job_prefix(self, job_id: str) -> str:
        return f"{self._prefix}/{job_id}/"

    def key_for(self, job_id: str, index: int, seed: int) -> str:
        return f"{self.job_prefix(job_id)}{index}-seed-{seed}.png"

    def existing_keys(self, job_id: str) -> set[str]:
        try:
            response = self._client.list_objects_v2(Bucket=self.bucket, Prefix=self.job_prefix(job_id))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"listing s3://{self.bucket}/{self.job_prefix(job_id)} failed: {exc}") from exc
        return {item["Key"] for item in response.get("Contents", [])}

    def put_png(self, key: str, data: bytes, metadata: dict[str, str]) -> StoredImage:
        """Write a PNG that must not exist yet; an object is never overwritten."""
        width, height = png_size(data)
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType="image/png",
                Metadata={**metadata, "width": str(width), "height": str(height)},
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise StorageError(f"writing s3://{self.bucket}/{key} failed: {exc}") from exc
            # Already there: a concurrent duplicate delivery wrote the same image first.
        except BotoCoreError as exc:
            raise StorageError(f"writing s3://{self.bucket}/{key} failed: {exc}") from exc
        return StoredImage(self.bucket, key, width, height)

    def presigned_url(self, key: str) -> str:
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self._expiry
        )
