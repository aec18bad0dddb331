"""Alarms that say what broke and where the runbook is, sent to an encrypted topic CloudWatch can publish to."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import pytest

from tests.helpers import ROOT
from tests.infra.cfn import ACCOUNT, REGION, Rendered, render
from tests.infra.conftest import markdown_anchors

TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:AlertsTopic"
RUNBOOK_LINK = re.compile(r"(https://\S+)#([\w-]+)")


class ExpectedAlarm(NamedTuple):
    namespace: str
    metric: str
    dimensions: dict[str, str]
    comparison: str
    threshold: str | int
    anchor: str


ALARMS = {
    "QueueAgeAlarm": ExpectedAlarm(
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        {"QueueName": "imagegen-test-images"},
        "GreaterThanThreshold",
        "900",
        "queue-age",
    ),
    "DeadLetterQueueAlarm": ExpectedAlarm(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "imagegen-test-images-dlq"},
        "GreaterThanOrEqualToThreshold",
        1,
        "dlq-messages",
    ),
    "GenerateImageErrorsAlarm": ExpectedAlarm(
        "AWS/Lambda",
        "Errors",
        {"FunctionName": "imagegen-test-generate-image"},
        "GreaterThanOrEqualToThreshold",
        1,
        "function-errors",
    ),
    "SqsWorkerErrorsAlarm": ExpectedAlarm(
        "AWS/Lambda",
        "Errors",
        {"FunctionName": "imagegen-test-sqs-worker"},
        "GreaterThanOrEqualToThreshold",
        1,
        "function-errors",
    ),
    "GenerateImageThrottlesAlarm": ExpectedAlarm(
        "AWS/Lambda",
        "Throttles",
        {"FunctionName": "imagegen-test-generate-image"},
        "GreaterThanOrEqualToThreshold",
        1,
        "function-throttles",
    ),
    "SqsWorkerThrottlesAlarm": ExpectedAlarm(
        "AWS/Lambda",
        "Throttles",
        {"FunctionName": "imagegen-test-sqs-worker"},
        "GreaterThanOrEqualToThreshold",
        1,
        "function-throttles",
    ),
    "Api5xxAlarm": ExpectedAlarm(
        "AWS/ApiGateway",
        "5XXError",
        {"ApiName": "imagegen-test-api", "Stage": "v1"},
        "GreaterThanOrEqualToThreshold",
        5,
        "api-5xx",
    ),
}


def test_the_stack_has_exactly_the_documented_alarms(stack: Rendered) -> None:
    assert set(stack.of_type("AWS::CloudWatch::Alarm")) == set(ALARMS)


@pytest.mark.parametrize(("alarm_id", "expected"), ALARMS.items())
def test_each_alarm_watches_its_metric_and_notifies_the_topic_on_alarm_and_on_recovery(
    stack: Rendered, alarm_id: str, expected: ExpectedAlarm
) -> None:
    # when the alarm is rendered
    alarm = stack.properties(alarm_id)

    # then it watches the right metric of the right resource
    assert (alarm["Namespace"], alarm["MetricName"]) == (expected.namespace, expected.metric)
    assert {item["Name"]: item["Value"] for item in alarm["Dimensions"]} == expected.dimensions
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (expected.comparison, expected.threshold)
    # and tells the topic both ways; no traffic is no trouble
    assert alarm["AlarmActions"] == [TOPIC_ARN]
    assert alarm["OKActions"] == [TOPIC_ARN]
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(("alarm_id", "expected"), ALARMS.items())
def test_each_alarm_links_to_a_section_of_the_runbook_that_exists(
    stack: Rendered, alarm_id: str, expected: ExpectedAlarm
) -> None:
    # when the alarm's description is read
    description = stack.properties(alarm_id)["AlarmDescription"]

    # then it links to its runbook section at the RunbookBaseUrl, a full URL that works from an e-mail, and
    # docs/operations.md has a heading with that anchor
    assert RUNBOOK_LINK.findall(description) == [(stack.parameters["RunbookBaseUrl"], expected.anchor)]
    assert stack.parameters["RunbookBaseUrl"].endswith("/docs/operations.md")
    assert expected.anchor in markdown_anchors()


def test_the_runbook_links_follow_the_runbook_base_url_parameter() -> None:
    # given the runbook published elsewhere (a placeholder host)
    stack = render(RunbookBaseUrl="https://wiki.example.com/imagegen/runbook")

    # then every alarm links there
    for alarm_id, expected in ALARMS.items():
        description = stack.properties(alarm_id)["AlarmDescription"]
        assert f"https://wiki.example.com/imagegen/runbook#{expected.anchor}" in description


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://github.com/acme/imagegen/blob/main/docs/operations.md", True),
        ("http://wiki.example.com/runbook", False),
        ("https://wiki.example.com/runbook#top", False),
        ("docs/operations.md", False),
    ],
)
def test_the_runbook_base_url_must_be_an_https_url_without_a_fragment(
    template: dict[str, Any], url: str, accepted: bool
) -> None:
    # then CloudFormation accepts only URLs to which an alarm can append its #section
    assert bool(re.fullmatch(template["Parameters"]["RunbookBaseUrl"]["AllowedPattern"], url)) is accepted


def test_the_queue_age_threshold_is_the_parameter() -> None:
    # given QueueAgeAlarmSeconds=600
    stack = render(QueueAgeAlarmSeconds="600")

    # then the alarm fires after 600 s and says so
    alarm = stack.properties("QueueAgeAlarm")
    assert alarm["Threshold"] == "600"
    assert "600 s" in alarm["AlarmDescription"]


def test_no_one_is_subscribed_without_an_alert_address(stack: Rendered) -> None:
    assert not stack.of_type("AWS::SNS::Subscription")


def test_an_alert_address_is_subscribed_by_e_mail() -> None:
    # given an address on the reserved example.invalid domain (built here: the repository holds no address)
    address = "@".join(("alerts", "example.invalid"))
    stack = render(AlertEmail=address)

    # then exactly that address gets the topic's messages by e-mail
    [subscription] = stack.of_type("AWS::SNS::Subscription").values()
    assert subscription["Properties"] == {"TopicArn": TOPIC_ARN, "Protocol": "email", "Endpoint": address}


def test_the_topic_is_encrypted_with_a_key_that_cloudwatch_may_use(stack: Rendered) -> None:
    # given the topic and its key (alias/aws/sns would refuse CloudWatch)
    topic = stack.properties("AlertsTopic")
    key = stack.properties("AlertsKey")

    # then the topic uses the stack's key, which rotates and lets CloudWatch encrypt for this account only
    assert topic["KmsMasterKeyId"] == "AlertsKey"
    assert key["EnableKeyRotation"] is True
    [cloudwatch] = [
        s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_only_this_accounts_alarms_may_publish_to_the_topic(stack: Rendered) -> None:
    # when the topic policy is rendered
    policy = stack.properties("AlertsTopicPolicy")

    # then CloudWatch may publish for alarms of this account and region
    [statement] = policy["PolicyDocument"]["Statement"]
    assert policy["Topics"] == [TOPIC_ARN]
    assert (statement["Principal"], statement["Action"], statement["Resource"]) == (
        {"Service": "cloudwatch.amazonaws.com"},
        "sns:Publish",
        TOPIC_ARN,
    )
    assert statement["Condition"] == {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"}}


def test_the_outputs_name_everything_an_operator_needs(stack: Rendered) -> None:
    # then
    assert {"ApiUrl", "ApiKeyId", "FetchApiKeyCommand", "BucketName", "QueueUrl", "DeadLetterQueueUrl"} <= set(
        stack.outputs
    )
    assert stack.outputs["AlertsTopicArn"] == TOPIC_ARN
    assert stack.outputs["SendMessageExample"].startswith(
        f"aws sqs send-message --queue-url {stack.outputs['QueueUrl']}"
    )


def test_every_runbook_link_in_the_template_points_at_a_section_that_exists() -> None:
    # given every docs/operations.md#anchor and ${RunbookBaseUrl}#anchor the template mentions (alarms,
    # parameter descriptions, comments)
    template_text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    linked = set(re.findall(r"(?:docs/operations\.md|\$\{RunbookBaseUrl\})#([\w-]+)", template_text))

    # then the runbook has a heading for each
    assert linked, "the template links to the runbook"
    assert linked <= markdown_anchors()
