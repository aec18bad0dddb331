"""local.template: the reader the local stack and these tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.template import load_template, queue_settings

SHORT_TAGS = """
Parameters:
  Visibility: {Type: Number, Default: 90}
Resources:
  ImageQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: !Ref Visibility
      QueueName: !Sub ${AWS::StackName}-images
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt ImageDeadLetterQueue.Arn
        maxReceiveCount: 3
  ImageDeadLetterQueue:
    Type: AWS::SQS::Queue
    Condition: !Equals [a, a]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt [ImageQueue, Arn]
"""


@pytest.fixture
def small_template(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(SHORT_TAGS)
    return path


def test_short_tags_are_read_in_their_long_form(small_template: Path) -> None:
    # when a template with short tags is loaded
    template = load_template(small_template)

    # then each tag is the intrinsic function CloudFormation sees
    queue = template["Resources"]["ImageQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == {"Ref": "Visibility"}
    assert queue["QueueName"] == {"Fn::Sub": "${AWS::StackName}-images"}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ImageDeadLetterQueue", "Arn"]}
    assert template["Resources"]["ImageDeadLetterQueue"]["Condition"] == {"Fn::Equals": ["a", "a"]}


def test_queue_settings_fill_in_aws_defaults_and_parameter_defaults(small_template: Path) -> None:
    # when the settings of a template that leaves most of them out are read
    settings = queue_settings(load_template(small_template))

    # then AWS's defaults and the parameter's default stand in
    assert settings == {
        "ImageQueue": {"VisibilityTimeout": 90, "MessageRetentionPeriod": 345_600, "maxReceiveCount": 3},
        "ImageDeadLetterQueue": {"VisibilityTimeout": 30, "MessageRetentionPeriod": 345_600, "maxReceiveCount": None},
        "SqsEvent": {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0},
    }


def test_a_file_that_is_not_a_template_is_refused(tmp_path: Path) -> None:
    # given a YAML file without Resources
    path = tmp_path / "samconfig.yaml"
    path.write_text("version: 0.1\n")

    # then
    with pytest.raises(ValueError, match="no Resources"):
        load_template(path)


def test_a_missing_queue_is_named_in_the_error(small_template: Path) -> None:
    # given a template without the dead-letter queue
    template = load_template(small_template)
    del template["Resources"]["ImageDeadLetterQueue"]

    # then
    with pytest.raises(ValueError, match="ImageDeadLetterQueue"):
        queue_settings(template)
