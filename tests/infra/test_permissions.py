"""Each function may do exactly what it needs, on exactly the resources it needs, and no more."""

from __future__ import annotations

import pytest

from tests.infra.cfn import ACCOUNT, REGION, Rendered, render

XRAY = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
JOBS_TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/imagegen-test-jobs"
# Events on the default bus, and only as the imagegen source: a role cannot pose as another system.
JOB_EVENTS = (
    frozenset({"events:PutEvents"}),
    (f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",),
    repr({"StringEquals": {"events:source": "imagegen"}}),
)
Statement = tuple[frozenset[str], tuple[str, ...], str]


def statements(stack: Rendered, role_id: str) -> set[Statement]:
    """(actions, resources, condition) of every Allow statement in the role's inline policies."""
    found = set()
    for policy in stack.properties(role_id)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            found.add((frozenset(actions), tuple(resources), repr(statement.get("Condition", ""))))
    return found


def log_group_arn(function: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/imagegen-test-{function}:*"


def test_the_api_function_may_write_its_logs_invoke_one_model_and_store_under_the_api_prefix(stack: Rendered) -> None:
    # given the default parameters
    # when the stack is rendered
    granted = statements(stack, "GenerateImageFunctionRole")

    # then these are all of its permissions
    assert granted == {
        (frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}), (log_group_arn("generate-image"),), "''"),
        (XRAY, ("*",), "''"),
        (
            frozenset({"bedrock:InvokeModel"}),
            ("arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1",),
            "''",
        ),
        (
            frozenset({"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"}),
            ("arn:aws:s3:::imagebucket/images/api/*",),
            "''",
        ),
        # jobs: presign the queue's images too, record and read jobs, list them newest first, queue them
        (frozenset({"s3:GetObject"}), ("arn:aws:s3:::imagebucket/images/sqs/*",), "''"),
        (frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}), (JOBS_TABLE_ARN,), "''"),
        (frozenset({"dynamodb:Query"}), (f"{JOBS_TABLE_ARN}/index/newest-first",), "''"),
        (frozenset({"sqs:SendMessage"}), (f"arn:aws:sqs:{REGION}:{ACCOUNT}:imagegen-test-images",), "''"),
        JOB_EVENTS,
    }


def test_the_worker_may_use_its_queue_its_dead_letter_queue_and_the_sqs_prefix_only(stack: Rendered) -> None:
    # given the default parameters
    # when the stack is rendered
    granted = statements(stack, "SqsWorkerFunctionRole")

    # then these are all of its permissions: it lists and writes images, never reads or presigns them, and it may
    # change the visibility of its own queue's messages only (to hand throttled ones back early), not the DLQ's
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:imagegen-test-images"
    assert granted == {
        (frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}), (log_group_arn("sqs-worker"),), "''"),
        (XRAY, ("*",), "''"),
        (
            frozenset({"bedrock:InvokeModel"}),
            ("arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1",),
            "''",
        ),
        (frozenset({"s3:PutObject"}), ("arn:aws:s3:::imagebucket/images/sqs/*",), "''"),
        (
            frozenset({"s3:ListBucket"}),
            ("arn:aws:s3:::imagebucket",),
            repr({"StringLike": {"s3:prefix": "images/sqs/*"}}),
        ),
        (frozenset({"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}), (queue_arn,), "''"),
        (frozenset({"sqs:ChangeMessageVisibility"}), (queue_arn,), "''"),
        (frozenset({"sqs:SendMessage"}), (f"{queue_arn}-dlq",), "''"),
        (frozenset({"dynamodb:UpdateItem"}), (JOBS_TABLE_ARN,), "''"),
        JOB_EVENTS,
    }


@pytest.mark.parametrize("role_id", ["GenerateImageFunctionRole", "SqsWorkerFunctionRole"])
def test_the_bedrock_permission_follows_the_model_and_region_parameters(role_id: str) -> None:
    # given another model in another region, an existing bucket and a nested prefix
    stack = render(
        ModelId="amazon.titan-image-generator-v2:0",
        BedrockRegion="eu-west-1",
        ExistingBucketName="team-images",
        ImagePrefix="team-a/imagegen",
    )

    # when the role's permissions are read
    resources = {resource for _, granted, _ in statements(stack, role_id) for resource in granted}

    # then they name that model, that region, that bucket and that prefix
    assert "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-image-generator-v2:0" in resources
    assert not any("stability" in resource for resource in resources)
    prefix = "api" if role_id.startswith("Generate") else "sqs"
    assert f"arn:aws:s3:::team-images/team-a/imagegen/{prefix}/*" in resources
    assert not any("imagebucket" in resource for resource in resources)


@pytest.mark.parametrize("role_id", ["GenerateImageFunctionRole", "SqsWorkerFunctionRole"])
def test_only_x_ray_is_granted_on_every_resource(stack: Rendered, role_id: str) -> None:
    # given a function's role
    # when its statements are read
    wildcard_actions = {
        action
        for actions, resources, _ in statements(stack, role_id)
        for action in actions
        if "*" in resources or action.endswith("*")
    }

    # then only the X-Ray actions, which have no resource-level permissions, apply to "*"
    assert wildcard_actions == XRAY


@pytest.mark.parametrize(
    ("function_id", "role_id"),
    [("GenerateImageFunction", "GenerateImageFunctionRole"), ("SqsWorkerFunction", "SqsWorkerFunctionRole")],
)
def test_each_function_runs_with_its_own_role_and_no_managed_policies(
    stack: Rendered, function_id: str, role_id: str
) -> None:
    # given the translated stack
    # when the function and its role are read
    function = stack.properties(function_id)
    role = stack.properties(role_id)

    # then the function uses that role, which only Lambda may assume and which carries no managed policy
    assert function["Role"] == f"arn:aws:iam::{ACCOUNT}:role/{role_id}"
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


@pytest.mark.parametrize("role_id", ["GenerateImageFunctionRole", "SqsWorkerFunctionRole"])
def test_a_plain_model_id_is_exactly_one_model_arn(stack: Rendered, role_id: str) -> None:
    # given the default model (a plain id)
    # when the Bedrock statements of the role are read
    bedrock = [granted for actions, granted, _ in statements(stack, role_id) if "bedrock:InvokeModel" in actions]

    # then there is one, naming one ARN
    assert bedrock == [("arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1",)]


@pytest.mark.parametrize(
    ("model_id", "foundation_model"),
    [
        ("us.stability.stable-image-core-v1:1", "stability.stable-image-core-v1:1"),
        ("eu.amazon.nova-canvas-v1:0", "amazon.nova-canvas-v1:0"),
        ("global.stability.sd3-5-large-v1:0", "stability.sd3-5-large-v1:0"),
    ],
)
@pytest.mark.parametrize("role_id", ["GenerateImageFunctionRole", "SqsWorkerFunctionRole"])
def test_an_inference_profile_grants_the_profile_and_its_model_only_through_it(
    role_id: str, model_id: str, foundation_model: str
) -> None:
    # given an inference profile id
    stack = render(ModelId=model_id, BedrockRegion="us-east-1")
    profile_arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{model_id}"

    # when the Bedrock statements of the role are read
    bedrock = {
        (granted, condition) for actions, granted, condition in statements(stack, role_id)
        if "bedrock:InvokeModel" in actions
    }  # fmt: skip

    # then the profile, and the foundation model in any destination region, but only through that profile
    assert bedrock == {
        ((profile_arn,), "''"),
        (
            (f"arn:aws:bedrock:*::foundation-model/{foundation_model}",),
            repr({"StringEquals": {"bedrock:InferenceProfileArn": profile_arn}}),
        ),
    }
