"""Where images go: S3 keys, object metadata and presigned URLs."""

from __future__ import annotations

import binascii
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from imagegen_core.errors import ModelError, StorageError
from imagegen_core.observability import logger

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
        raise ModelError(
            "the image model returned something that is not an image; try again later",
            transient=True,
            detail=f"the model's image is not a PNG (starts with {data[:16]!r})",
        )
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def decode_png(encoded: str) -> bytes:
    """The PNG in a model's base64 answer; ModelError (transient: another call may do better) when it is not one."""
    try:
        data = binascii.a2b_base64(encoded)
    except (binascii.Error, ValueError) as exc:
        raise ModelError(
            "the image model returned something that is not an image; try again later",
            transient=True,
            detail=f"the model's image is not valid base64: {exc}",
        ) from None
    png_size(data)
    return data


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

    def put_pngs(self, pngs: Mapping[str, bytes], metadata: dict[str, str], *, all_or_none: bool) -> list[StoredImage]:
        """Write PNGs that must not exist yet (an object is never overwritten), in order.

        ``all_or_none``: when a write fails, the ones this call wrote are deleted again (their versions, so
        nothing is left behind), and the error propagates. Otherwise they stay, for a redelivery to complete.
        """
        stored: list[StoredImage] = []
        written: list[tuple[str, str | None]] = []
        try:
            for key, data in pngs.items():
                image, version = self._put_png(key, data, metadata)
                stored.append(image)
                if version != "":
                    written.append((key, version))
        except StorageError:
            if all_or_none:
                self._delete(written)
            raise
        return stored

    def _put_png(self, key: str, data: bytes, metadata: dict[str, str]) -> tuple[StoredImage, str | None]:
        """The image and the version id it was written as ("" when a concurrent delivery had written it)."""
        width, height = png_size(data)
        image = StoredImage(self.bucket, key, width, height)
        try:
            response = self._client.put_object(
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
            return image, ""  # already there: a concurrent duplicate delivery wrote the same image first
        except BotoCoreError as exc:
            raise StorageError(f"writing s3://{self.bucket}/{key} failed: {exc}") from exc
        return image, response.get("VersionId")

    def _delete(self, written: list[tuple[str, str | None]]) -> None:
        """Best effort: what cannot be deleted is logged by key, for the operator (docs/operations.md)."""
        for key, version in written:
            try:
                if version:
                    self._client.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
                else:
                    self._client.delete_object(Bucket=self.bucket, Key=key)
            except (ClientError, BotoCoreError):
                logger.exception("an image of a failed request could not be deleted", extra={"key": key})

    def presigned_url(self, key: str, *, download_as: str | None = None) -> str:
        """A presigned GET of ``key``; with ``download_as``, S3 answers it as an attachment of that file name
        (``Content-Disposition``), so that a link downloads it instead of showing it."""
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if download_as is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_as}"'
        return self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=self._expiry)

    def url_origins(self) -> tuple[str, ...]:
        """Where browsers fetch the presigned URLs from (``scheme://host[:port]``), for a page's CSP ``img-src``.

        Read off a URL presigned here (presigning is local: no request is sent), so it is whatever S3 endpoint
        the client uses: moto's locally, the bucket's S3 host deployed. A virtual-hosted URL on S3's global
        host is redirected to the bucket's regional host while a new bucket's DNS settles (up to a day), and a
        CSP checks where a redirect leads too: the bucket on the client's regional endpoint is allowed as well.
        """
        url = urlsplit(self.presigned_url(f"{self._prefix}/origin-probe.png"))
        origins = [f"{url.scheme}://{url.netloc}"]
        regional = urlsplit(self._client.meta.endpoint_url)
        bucket_host = f"{self.bucket}.{regional.netloc}"
        if url.netloc.startswith(f"{self.bucket}.") and url.netloc != bucket_host:
            origins.append(f"{regional.scheme}://{bucket_host}")
        return tuple(origins)
