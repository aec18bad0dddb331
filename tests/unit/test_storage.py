from __future__ import annotations

import pytest

from imagegen_core.errors import ModelError
from imagegen_core.storage import ImageStore, StoredImage, png_size
from tests.helpers import tiny_png


def test_keys_live_under_the_prefix_and_name_the_index_and_the_seed() -> None:
    store = ImageStore(client=None, bucket="b", prefix="team-a", presign_expiry_seconds=60)  # type: ignore[arg-type]
    assert store.key_for("api/req-1", 0, 42) == "team-a/api/req-1/0-seed-42.png"
    assert store.job_prefix("sqs/m-1") == "team-a/sqs/m-1/"


def test_the_size_is_read_from_the_png_header() -> None:
    assert png_size(tiny_png(12, 7)) == (12, 7)


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\x00" * 30, b"\xff\xd8\xff\xe0" + b"\x00" * 30])
def test_anything_but_a_png_is_a_model_error(data: bytes) -> None:
    with pytest.raises(ModelError, match="not a PNG"):
        png_size(data)


def test_a_stored_image_knows_its_s3_uri() -> None:
    assert StoredImage("bucket", "a/b.png", 1, 1).s3_uri == "s3://bucket/a/b.png"
