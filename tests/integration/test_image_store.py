"""ImageStore against S3 in moto: what it writes, and that it never overwrites."""

from __future__ import annotations

from typing import Any

from imagegen_core.storage import ImageStore
from tests.helpers import BUCKET, tiny_png


def store_on(s3: Any) -> ImageStore:
    return ImageStore(s3, BUCKET, "team-a", presign_expiry_seconds=60)


def test_a_png_is_written_with_its_type_metadata_and_size(aws: Any) -> None:
    # given
    store = store_on(aws)

    # when
    stored = store.put_png("team-a/api/r/0-seed-1.png", tiny_png(12, 7), {"seed": "1"})

    # then
    head = aws.head_object(Bucket=BUCKET, Key=stored.key)
    assert (stored.width, stored.height) == (12, 7)
    assert head["ContentType"] == "image/png"
    assert head["Metadata"] == {"seed": "1", "width": "12", "height": "7"}


def test_a_second_write_to_the_same_key_leaves_the_first_image_in_place(aws: Any) -> None:
    # given an image already stored
    store = store_on(aws)
    key = "team-a/sqs/m-1/0-seed-5.png"
    first = tiny_png(4, 4)
    store.put_png(key, first, {})

    # when a duplicate delivery writes another image to the same key
    stored = store.put_png(key, tiny_png(8, 8), {})

    # then the write is refused by S3 (If-None-Match), quietly, and the first bytes stay
    assert stored.key == key
    assert aws.get_object(Bucket=BUCKET, Key=key)["Body"].read() == first
    versions = aws.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
    assert len(versions) == 1


def test_existing_keys_lists_only_the_jobs_own_images(aws: Any) -> None:
    # given
    store = store_on(aws)
    store.put_png(store.key_for("sqs/m-1", 0, 5), tiny_png(2, 2), {})
    store.put_png(store.key_for("sqs/m-10", 0, 5), tiny_png(2, 2), {})

    # when / then
    assert store.existing_keys("sqs/m-1") == {"team-a/sqs/m-1/0-seed-5.png"}
