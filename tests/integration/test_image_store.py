"""ImageStore against S3 in moto: what it writes, and that it never overwrites."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from imagegen_core.errors import StorageError
from imagegen_core.storage import ImageStore
from tests.helpers import BUCKET, tiny_png


def store_on(s3: Any) -> ImageStore:
    return ImageStore(s3, BUCKET, "team-a", presign_expiry_seconds=60)


def test_a_png_is_written_with_its_type_metadata_and_size(aws: Any) -> None:
    # given
    store = store_on(aws)

    # when
    [stored] = store.put_pngs({"team-a/api/r/0-seed-1.png": tiny_png(12, 7)}, {"seed": "1"}, all_or_none=True)

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
    store.put_pngs({key: first}, {}, all_or_none=False)

    # when a duplicate delivery writes another image to the same key
    [stored] = store.put_pngs({key: tiny_png(8, 8)}, {}, all_or_none=False)

    # then the write is refused by S3 (If-None-Match), quietly, and the first bytes stay
    assert stored.key == key
    assert aws.get_object(Bucket=BUCKET, Key=key)["Body"].read() == first
    versions = aws.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
    assert len(versions) == 1


def test_existing_keys_lists_only_the_jobs_own_images(aws: Any) -> None:
    # given
    store = store_on(aws)
    store.put_pngs({store.key_for("sqs/m-1", 0, 5): tiny_png(2, 2)}, {}, all_or_none=False)
    store.put_pngs({store.key_for("sqs/m-10", 0, 5): tiny_png(2, 2)}, {}, all_or_none=False)

    # when / then
    assert store.existing_keys("sqs/m-1") == {"team-a/sqs/m-1/0-seed-5.png"}


def fail_writes_to(s3: Any, key: str) -> None:
    """A PutObject of ``key`` fails with S3's SlowDown (raised from botocore's event hook, before the request)."""

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == key:
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "PutObject"
            )

    s3.meta.events.register("before-parameter-build.s3.PutObject", refuse)


@pytest.mark.parametrize("all_or_none", [True, False])
def test_a_failed_write_takes_back_the_images_written_before_it_when_all_or_none(aws: Any, all_or_none: bool) -> None:
    # given three images of one request, the third of which S3 will refuse
    store = store_on(aws)
    keys = [store.key_for("api/r-9", index, 3) for index in range(3)]
    fail_writes_to(aws, keys[2])

    # when
    with pytest.raises(StorageError, match="SlowDown"):
        store.put_pngs({key: tiny_png(3, 3) for key in keys}, {}, all_or_none=all_or_none)

    # then nothing of the request is left (not even a noncurrent version), or, for a queue message that a
    # redelivery will complete, the two written images stay
    versions = aws.list_object_versions(Bucket=BUCKET, Prefix="team-a/api/r-9/")
    left = [v["Key"] for v in versions.get("Versions", [])] + [m["Key"] for m in versions.get("DeleteMarkers", [])]
    assert sorted(left) == ([] if all_or_none else keys[:2])
