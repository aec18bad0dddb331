"""The image bucket: private, encrypted, TLS only, tidied by lifecycle rules; or an existing bucket instead."""

from __future__ import annotations

from tests.infra.cfn import Rendered, render


def test_the_bucket_blocks_every_kind_of_public_access_and_disables_acls(stack: Rendered) -> None:
    # when the bucket is rendered
    bucket = stack.properties("ImageBucket")

    # then
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_the_bucket_encrypts_by_default_with_s3_managed_keys(stack: Rendered) -> None:
    # when the bucket is rendered
    encryption = stack.properties("ImageBucket")["BucketEncryption"]

    # then presigned GETs need no KMS permission
    assert encryption == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }


def test_the_bucket_policy_refuses_every_request_without_tls(stack: Rendered) -> None:
    # when the bucket policy is rendered
    policy = stack.properties("ImageBucketPolicy")

    # then it denies everything, on the bucket and its objects, when aws:SecureTransport is false
    assert policy["Bucket"] == "imagebucket"
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Resource"] == ["arn:aws:s3:::imagebucket", "arn:aws:s3:::imagebucket/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_bucket_outlives_the_stack(stack: Rendered) -> None:
    # then deleting or replacing the stack keeps the images
    assert stack.resources["ImageBucket"]["DeletionPolicy"] == "Retain"
    assert stack.resources["ImageBucket"]["UpdateReplacePolicy"] == "Retain"


def test_lifecycle_rules_clean_up_uploads_and_old_versions_but_keep_images_by_default(stack: Rendered) -> None:
    # when the lifecycle rules are rendered with the default ImageExpirationDays=0
    rules = {rule["Id"]: rule for rule in stack.properties("ImageBucket")["LifecycleConfiguration"]["Rules"]}

    # then
    assert rules["abort-incomplete-multipart-uploads"]["Status"] == "Enabled"
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules["expire-noncurrent-versions"]["Status"] == "Enabled"
    assert rules["expire-images"]["Status"] == "Disabled"


def test_images_expire_under_the_prefix_when_an_expiration_is_set() -> None:
    # given ImageExpirationDays=30
    stack = render(ImageExpirationDays="30", ImagePrefix="team-a")

    # when the rule is rendered
    rules = {rule["Id"]: rule for rule in stack.properties("ImageBucket")["LifecycleConfiguration"]["Rules"]}

    # then images under the prefix are deleted after 30 days
    assert rules["expire-images"]["Status"] == "Enabled"
    assert rules["expire-images"]["Prefix"] == "team-a/"
    assert rules["expire-images"]["ExpirationInDays"] == "30"


def test_an_existing_bucket_replaces_the_created_one_everywhere() -> None:
    # given an existing bucket
    stack = render(ExistingBucketName="team-images")

    # then the stack creates no bucket and points the functions and outputs at the existing one
    assert not stack.of_type("AWS::S3::Bucket")
    assert not stack.of_type("AWS::S3::BucketPolicy")
    for function_id in ("GenerateImageFunction", "SqsWorkerFunction"):
        assert stack.properties(function_id)["Environment"]["Variables"]["BUCKET_NAME"] == "team-images"
    assert stack.outputs["BucketName"] == "team-images"
