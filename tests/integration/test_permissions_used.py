"""Every AWS call a function makes is one its role grants and the deploy's permissions boundary allows.

moto does not enforce IAM, so a call the code makes that the template does not grant passes every other test and
fails only once deployed (a job written with PutItem by a role granted UpdateItem would be lost, logged as a
failure nobody sees). Here each function runs its paths (success, refusal, failure, throttling, dead letter,
every route) against moto and the stand-in with every botocore call recorded; the IAM action of each call must
be in the function role's policy in the rendered template and in the bootstrap stack's permissions boundary.
Presigning sends no request, so the s3:GetObject it relies on is checked by tests/infra/test_permissions.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest

from generate_image.app import lambda_handler as api_handler
from imagegen_core import clients
from local.lambda_context import LambdaContext
from local.template import load_template
from tests.helpers import REGION, ROOT, api_event, call, deliver
from tests.infra.cfn import render
from tests.integration.conftest import Queues

# Operations whose IAM action is not named after them (docs: "Actions, resources, and condition keys").
IAM_ACTION_OF = {"s3:ListObjectsV2": "s3:ListBucket", "s3:HeadObject": "s3:GetObject"}


@pytest.fixture
def calls(aws: Any) -> Iterator[set[str]]:
    """The IAM actions of every call the core's clients make from now on (the container's session, hooked)."""
    made: set[str] = set()

    def record(**kwargs: Any) -> None:
        model = kwargs["model"]  # the call's OperationModel
        action = f"{model.service_model.signing_name}:{model.name}"
        made.add(IAM_ACTION_OF.get(action, action))

    session = botocore.session.get_session()
    session.register("before-call", record)
    clients.reset_clients()
    clients._session = session  # every client the core creates next comes from this session, with the hook
    yield made
    clients.reset_clients()


def granted(role_id: str) -> set[str]:
    """The actions of the role's inline policies in template.yaml as rendered with its defaults."""
    actions: set[str] = set()
    for policy in render().properties(role_id)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            actions.update(action if isinstance(action, list) else [action])
    return actions


def boundary() -> set[str]:
    """The actions the bootstrap stack's FunctionsPermissionsBoundary allows the functions' roles."""
    bootstrap = load_template(ROOT / "deploy" / "github-oidc-bootstrap.yaml")
    document = bootstrap["Resources"]["FunctionsPermissionsBoundary"]["Properties"]["PolicyDocument"]
    actions: set[str] = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        actions.update(action if isinstance(action, list) else [action])
    return actions


def test_every_call_of_the_api_function_is_granted_to_its_role_and_allowed_by_the_boundary(
    calls: set[str], queues: Queues, lambda_context: LambdaContext
) -> None:
    # when the API answers each of its routes, a success and a refusal included
    assert call("POST", "/generate-image", lambda_context, {"prompt": "a lighthouse"})[0] == 200
    assert call("POST", "/generate-image", lambda_context, {"prompt": "a forbidden castle"})[0] == 422
    assert call("POST", "/jobs", lambda_context, {"prompt": "a fox"})[0] == 202
    assert call("GET", "/jobs", lambda_context)[0] == 200
    assert call("GET", "/jobs/no-such-job", lambda_context)[0] == 404
    assert call("GET", "/config", lambda_context)[0] == 200
    page = api_event(None)
    page.update(httpMethod="GET", path="/", resource="/", body=None)
    assert api_handler(page, lambda_context)["statusCode"] == 200

    # then each call it made is one its role grants and its boundary allows
    assert {"bedrock:InvokeModel", "s3:PutObject", "dynamodb:PutItem", "sqs:SendMessage"} <= calls
    assert calls - granted("GenerateImageFunctionRole") == set()
    assert calls - boundary() == set()


def test_every_call_of_the_worker_is_granted_to_its_role_and_allowed_by_the_boundary(
    calls: set[str], queues: Queues, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given messages that succeed, are refused, cannot be read and are throttled (handed back, then given up on)
    sqs = boto3.client("sqs", region_name=REGION)
    for body in ["a lighthouse", "a forbidden castle", "{not json", "a castle, throttle-me"]:
        sqs.send_message(QueueUrl=queues.url, MessageBody=body)

    # when the worker gets them, then the throttled one (the only one left) again on its last receive
    deliver(queues.url, lambda_context, receive_count=1)
    deliver(queues.url, lambda_context, receive_count=queues.max_receive_count)

    # then each call it made is one its role grants and its boundary allows
    expected = {"bedrock:InvokeModel", "s3:PutObject", "s3:ListBucket", "dynamodb:UpdateItem", "sqs:SendMessage"}
    assert expected | {"sqs:ChangeMessageVisibility", "events:PutEvents"} <= calls
    assert calls - granted("SqsWorkerFunctionRole") == set()
    assert calls - boundary() == set()
