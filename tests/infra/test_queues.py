"""The queue, its dead-letter queue and the worker's event source: retries that add up."""

from __future__ import annotations

from typing import Any

from imagegen_core.config import WorkerSettings
from imagegen_core.throttling import invocations_needed, throttling_survived
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
    queue = stack.properties("ImageQueue")

    # then a message that keeps failing is parked in the DLQ, within the time the queue keeps it
    assert redrive["deadLetterTargetArn"] == f"{QUEUE_ARN}-dlq"
    assert 5 <= redrive["maxReceiveCount"] <= 20
    assert redrive["maxReceiveCount"] * queue["VisibilityTimeout"] < queue["MessageRetentionPeriod"]


def test_throttling_dead_letters_a_message_only_after_half_an_hour_of_uninterrupted_throttling(
    stack: Rendered,
) -> None:
    # given the worker's hand-back delays, as its environment in the template leaves them
    settings = WorkerSettings.from_env(stack.properties("SqsWorkerFunction")["Environment"]["Variables"])
    max_receives = stack.properties("ImageQueue")["RedrivePolicy"]["maxReceiveCount"]

    # when a message is throttled at every receive and handed back after the shortest delay each time
    survived = throttling_survived(max_receives, settings.hand_back_base_seconds, settings.hand_back_max_seconds)

    # then SQS's redrive needs at least 30 minutes of it, yet the first hand-backs take seconds
    assert survived >= 30 * 60
    assert settings.hand_back_base_seconds <= 5


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


def test_the_worker_paces_to_the_quota_parameter_shared_by_its_maximum_concurrency() -> None:
    # given a quota of 600 requests per minute and 4 invocations at most
    stack = render(BedrockRequestsPerMinute="600", WorkerMaxConcurrency="4")

    # when the worker reads its environment
    settings = WorkerSettings.from_env(stack.properties("SqsWorkerFunction")["Environment"]["Variables"])

    # then it knows the quota, how many invocations share it, and where to hand messages back
    assert settings.bedrock_requests_per_minute == 600
    assert settings.worker_max_concurrency == 4 == int(event_source(stack)["ScalingConfig"]["MaximumConcurrency"])
    assert settings.queue_url == stack.outputs["QueueUrl"]


def test_the_default_concurrency_fits_the_default_quota_at_five_seconds_a_call(template: dict[str, Any]) -> None:
    # given the defaults of the quota and of the event source's concurrency
    parameters = template["Parameters"]
    quota = parameters["BedrockRequestsPerMinute"]["Default"]
    concurrency = parameters["WorkerMaxConcurrency"]["Default"]

    # then the sizing rule of docs/operations.md agrees with them for a model that takes 5 s a call
    assert concurrency >= invocations_needed(quota, seconds_per_call=5)
    assert parameters["BedrockRequestsPerMinute"]["MinValue"] == 0  # 0 turns the pacing off


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
