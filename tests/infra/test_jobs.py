"""The jobs as deployed: the table (by id, newest first, TTL, encrypted, on demand), the routes behind the API key,
and what each function is told about them."""

from __future__ import annotations

import pytest

from imagegen_core.jobs import LIST_INDEX, LIST_PARTITION
from tests.infra.cfn import Rendered, render

JOB_ROUTES = [("/jobs", "post"), ("/jobs", "get"), ("/jobs/{job_id}", "get")]


def test_the_jobs_table_is_on_demand_encrypted_recoverable_and_expires_its_items(stack: Rendered) -> None:
    # when the table is rendered
    table = stack.properties("JobsTable")

    # then
    assert table["TableName"] == "imagegen-test-jobs"
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_table_serves_a_job_by_id_and_the_newest_jobs_first(stack: Rendered) -> None:
    # when its keys are read
    table = stack.properties("JobsTable")
    [index] = table["GlobalSecondaryIndexes"]

    # then the key is the job id, and the index is the one the core queries (one partition, sorted by time)
    assert table["KeySchema"] == [{"AttributeName": "job_id", "KeyType": "HASH"}]
    assert index["IndexName"] == LIST_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": "list_pk", "KeyType": "HASH"},
        {"AttributeName": "list_sk", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert LIST_PARTITION == "jobs"


@pytest.mark.parametrize(("path", "method"), JOB_ROUTES)
def test_every_job_route_needs_the_api_key_and_reaches_the_api_function(path: str, method: str) -> None:
    # when the API is rendered with and without keys
    keyed = render()
    open_api = render(ApiAuth="NONE")

    # then the route requires the key exactly when the stack does, and is the function's proxy integration
    operation = keyed.properties("ImageApi")["Body"]["paths"][path][method]
    assert operation["security"] == [{"api_key": []}]
    assert "security" not in open_api.properties("ImageApi")["Body"]["paths"][path][method]
    integration = operation["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy"
    assert ":function:imagegen-test-generate-image/invocations" in integration["uri"]


def test_both_functions_know_the_table_and_the_queue(stack: Rendered) -> None:
    # when their environments are read
    api = stack.properties("GenerateImageFunction")["Environment"]["Variables"]
    worker = stack.properties("SqsWorkerFunction")["Environment"]["Variables"]

    # then
    assert api["JOBS_TABLE"] == worker["JOBS_TABLE"] == "imagegen-test-jobs"
    assert api["JOB_RETENTION_DAYS"] == worker["JOB_RETENTION_DAYS"] == "30"
    # the API sends POST /jobs there, the worker hands throttled messages back to it
    assert (
        api["QUEUE_URL"]
        == worker["QUEUE_URL"]
        == "https://sqs.eu-west-1.amazonaws.com/000000000000/imagegen-test-images"
    )


def test_the_retention_follows_its_parameter() -> None:
    variables = render(JobRetentionDays="7").properties("SqsWorkerFunction")["Environment"]["Variables"]
    assert variables["JOB_RETENTION_DAYS"] == "7"


def test_the_outputs_give_the_api_s_base_url_and_the_table(stack: Rendered) -> None:
    assert stack.outputs["ApiBaseUrl"].endswith(".execute-api.eu-west-1.amazonaws.com/v1")
    assert stack.outputs["ApiUrl"] == stack.outputs["ApiBaseUrl"] + "/generate-image"
    assert stack.outputs["JobsTableName"] == "imagegen-test-jobs"
