"""The queue, its dead-letter queue and the worker's event source: retries that add up."""

from __future__ import annotations

from typing import Any

from local.template import queue_settings
from tests.infra.cfn import ACCOUNT, REGION, Rendered, render

QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:imagegen-test-images"


def event_source(stack: Rendered) -> dict[str, Any]:
    [mapping] = stack.of_type("AWS::Lambda::EventSourceMapping").values()
    return mapping["Properties"]


def test_a_message_stays_hidden_while_six_worker_timeouts_and_the_batching_window_pass(stack: Rendered) -> None:
    # given the worker's timeout and the event source's batching window, as the template sets them
    timeout = stack.properties("SqsWorkerFunction")["Timeout"]
    window = event_source(stack)["MaximumBatchingWindowInSeconds"]

    # when the queue's visibility timeout is read
    visibility = stack.properties("ImageQueue")["VisibilityTimeout"]

    # then AWS's guidance for Lambda event sources holds
    assert visibility >= 6 * timeout + window


def test_failed_messages_move_to_the_dead_letter_queue_after_a_bounded_number_of_receives(stack: Rendered) -> None:
    # when the redrive policy is rendered
    redrive = stack.properties("ImageQueue")["RedrivePolicy"]

    # then a poison message is retried a few times, then parked
    assert redrive["deadLetterTargetArn"] == f"{QUEUE_ARN}-dlq"
    assert 2 <= redrive["maxReceiveCount"] <= 5


def test_dead_letters_are_kept_for_14_days_longer_than_the_queue_keeps_messages(stack: Rendered) -> None:
    # when both queues are rendered
    queue = stack.properties("ImageQueue")
    dead_letters = stack.properties("ImageDeadLetterQueue")

    # then the queue keeps messages 4 days and the DLQ the maximum, 14 days
    assert queue["MessageRetentionPeriod"] == 4 * 24 * 3600
    assert dead_letters["MessageRetentionPeriod"] == 1_209_600
    assert dead_letters["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


def test_the_dead_letter_queue_allows_redrive_from_the_image_queue_only(stack: Rendered) -> None:
    # when the DLQ's redrive-allow policy is rendered
    policy = stack.properties("ImageDeadLetterQueue")["RedriveAllowPolicy"]

    # then it names the image queue's real ARN (built from its name, not a circular GetAtt)
    assert policy == {"redrivePermission": "byQueue", "sourceQueueArnList": [QUEUE_ARN]}


def test_both_queues_are_encrypted_and_refuse_requests_without_tls(stack: Rendered) -> None:
    # then both use SSE-SQS
    assert stack.properties("ImageQueue")["SqsManagedSseEnabled"] is True
    assert stack.properties("ImageDeadLetterQueue")["SqsManagedSseEnabled"] is True

    # and one policy on both denies every action without TLS
    policy = stack.properties("ImageQueuesTlsOnlyPolicy")
    assert policy["Queues"] == [stack.outputs["QueueUrl"], stack.outputs["DeadLetterQueueUrl"]]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "sqs:*")
    assert statement["Resource"] == [QUEUE_ARN, f"{QUEUE_ARN}-dlq"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_worker_reports_partial_batch_failures_for_full_batches_from_the_image_queue(stack: Rendered) -> None:
    # when the event source mapping is rendered
    mapping = event_source(stack)

    # then
    assert mapping["EventSourceArn"] == QUEUE_ARN
    assert mapping["FunctionName"] == "imagegen-test-sqs-worker"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    assert 0 < mapping["MaximumBatchingWindowInSeconds"] <= 30


def test_the_workers_maximum_concurrency_is_the_parameter_and_at_least_two(template: dict[str, Any]) -> None:
    # given WorkerMaxConcurrency=7
    stack = render(WorkerMaxConcurrency="7")

    # then the event source scales to 7 invocations at most
    assert event_source(stack)["ScalingConfig"] == {"MaximumConcurrency": "7"}

    # and the parameter cannot go below what AWS accepts
    parameter = template["Parameters"]["WorkerMaxConcurrency"]
    assert parameter["MinValue"] == 2
    assert parameter["Default"] >= 2


def test_the_local_stack_reads_the_same_queue_settings_as_are_deployed(
    template: dict[str, Any], stack: Rendered
) -> None:
    # when the local stack's reader reads the template
    settings = queue_settings(template)

    # then it agrees with the translated stack
    queue, dead_letters = stack.properties("ImageQueue"), stack.properties("ImageDeadLetterQueue")
    assert settings["ImageQueue"] == {
        "VisibilityTimeout": queue["VisibilityTimeout"],
        "MessageRetentionPeriod": queue["MessageRetentionPeriod"],
        "maxReceiveCount": queue["RedrivePolicy"]["maxReceiveCount"],
    }
    assert settings["ImageDeadLetterQueue"] == {
        "VisibilityTimeout": dead_letters.get("VisibilityTimeout", 30),
        "MessageRetentionPeriod": dead_letters["MessageRetentionPeriod"],
        "maxReceiveCount": None,
    }
    mapping = event_source(stack)
    assert settings["SqsEvent"] == {
        "BatchSize": mapping["BatchSize"],
        "MaximumBatchingWindowInSeconds": mapping["MaximumBatchingWindowInSeconds"],
    }


def test_the_worker_knows_the_receive_count_after_which_sqs_would_dead_letter_a_message(stack: Rendered) -> None:
    # given the queue's redrive policy and the worker's environment
    redrive = stack.properties("ImageQueue")["RedrivePolicy"]
    variables = stack.properties("SqsWorkerFunction")["Environment"]["Variables"]

    # then they agree: on that receive the worker dead-letters a failure itself, with its reason
    assert int(variables["MAX_RECEIVE_COUNT"]) == int(redrive["maxReceiveCount"])
