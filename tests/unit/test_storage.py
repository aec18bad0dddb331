from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import botocore.session
import pytest
from botocore.config import Config

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


def presigning_store(region: str, endpoint_url: str | None = None, bucket: str = "my-images") -> ImageStore:
    """A store on a real botocore S3 client (presigning is local: nothing is sent)."""
    client = botocore.session.get_session().create_client(
        "s3", region_name=region, endpoint_url=endpoint_url, config=Config(signature_version="s3v4")
    )
    return ImageStore(client, bucket, "images", presign_expiry_seconds=60)  # type: ignore[arg-type]


def test_a_local_endpoint_s_presigned_urls_come_from_that_endpoint_only() -> None:
    # given a store on moto's endpoint (path-style URLs)
    store = presigning_store("eu-west-1", "http://127.0.0.1:4566")

    # then its images come from there
    assert store.url_origins() == ("http://127.0.0.1:4566",)
    assert store.presigned_url("images/a.png").startswith("http://127.0.0.1:4566/my-images/images/a.png?")


def test_aws_s_presigned_urls_come_from_the_bucket_s_host_or_its_regional_host_after_a_redirect() -> None:
    # given a store on AWS in eu-west-1
    store = presigning_store("eu-west-1")

    # when
    origins = store.url_origins()

    # then the presigned URL's own host is allowed, and the regional one S3 redirects a new bucket to
    assert urlsplit(store.presigned_url("images/a.png")).netloc == urlsplit(origins[0]).netloc
    assert origins == ("https://my-images.s3.amazonaws.com", "https://my-images.s3.eu-west-1.amazonaws.com")


def test_in_us_east_1_the_global_host_is_the_regional_one() -> None:
    assert presigning_store("us-east-1").url_origins() == ("https://my-images.s3.amazonaws.com",)


def test_a_download_url_asks_s3_to_answer_the_image_as_an_attachment_of_that_name() -> None:
    # given
    store = presigning_store("eu-west-1", "http://127.0.0.1:4566")

    # when
    url = store.presigned_url("images/sqs/m-1/0-seed-5.png", download_as="imagegen-m-1-0-seed-5.png")

    # then
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["response-content-disposition"] == 'attachment; filename="imagegen-m-1-0-seed-5.png"'
    assert "response-content-disposition" not in store.presigned_url("images/sqs/m-1/0-seed-5.png")
