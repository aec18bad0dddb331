"""scripts/changeset-summary.py: describe-change-set JSON in, the markdown a reviewer reads out."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "scripts" / "changeset-summary.py"
STACK_ID = "arn:aws:cloudformation:eu-west-1:000000000000:stack/imagegen-dev/2f1e9a40-7c1b-11ef-9d3a-0a1b2c3d4e5f"

# What `aws cloudformation describe-change-set --output json` answers for a branch that changes the API
# function's timeout (and so its code), renames the queue (a replacement), adds an alarm and drops the old one.
DESCRIBE_CHANGE_SET: dict[str, Any] = {
    "Changes": [
        {
            "Type": "Resource",
            "HookInvocationCount": 0,
            "ResourceChange": {
                "Action": "Modify",
                "LogicalResourceId": "GenerateImageFunction",
                "PhysicalResourceId": "imagegen-dev-generate-image",
                "ResourceType": "AWS::Lambda::Function",
                "Replacement": "False",
                "Scope": ["Properties"],
                "Details": [
                    {
                        "Target": {"Attribute": "Properties", "Name": "Timeout", "RequiresRecreation": "Never"},
                        "Evaluation": "Static",
                        "ChangeSource": "DirectModification",
                    },
                    {
                        "Target": {"Attribute": "Properties", "Name": "Code", "RequiresRecreation": "Never"},
                        "Evaluation": "Static",
                        "ChangeSource": "DirectModification",
                    },
                    {
                        "Target": {"Attribute": "Properties", "Name": "Code", "RequiresRecreation": "Never"},
                        "Evaluation": "Dynamic",
                        "ChangeSource": "DirectModification",
                    },
                ],
            },
        },
        {
            "Type": "Resource",
            "ResourceChange": {
                "Action": "Modify",
                "LogicalResourceId": "ImageQueue",
                "PhysicalResourceId": "https://sqs.eu-west-1.amazonaws.com/000000000000/imagegen-dev-images",
                "ResourceType": "AWS::SQS::Queue",
                "Replacement": "True",
                "Scope": ["Properties"],
                "Details": [
                    {
                        "Target": {"Attribute": "Properties", "Name": "QueueName", "RequiresRecreation": "Always"},
                        "Evaluation": "Static",
                        "ChangeSource": "DirectModification",
                    }
                ],
            },
        },
        {
            "Type": "Resource",
            "ResourceChange": {
                "Action": "Modify",
                "LogicalResourceId": "SqsWorkerFunction",
                "PhysicalResourceId": "imagegen-dev-sqs-worker",
                "ResourceType": "AWS::Lambda::Function",
                "Replacement": "Conditional",
                "Scope": ["Properties", "Tags"],
                "Details": [],
            },
        },
        {
            "Type": "Resource",
            "ResourceChange": {
                "Action": "Add",
                "LogicalResourceId": "QueueDepthAlarm",
                "ResourceType": "AWS::CloudWatch::Alarm",
                "Scope": [],
                "Details": [],
            },
        },
        {
            "Type": "Resource",
            "ResourceChange": {
                "Action": "Remove",
                "LogicalResourceId": "QueueAgeAlarm",
                "PhysicalResourceId": "imagegen-dev-queue-age",
                "ResourceType": "AWS::CloudWatch::Alarm",
                "PolicyAction": "Delete",
                "Scope": [],
                "Details": [],
            },
        },
    ],
    "ChangeSetName": "samcli-deploy1732230000",
    "ChangeSetId": (
        "arn:aws:cloudformation:eu-west-1:000000000000:changeSet/samcli-deploy1732230000/"
        "6b0f3e2a-1d2c-4e5f-8a9b-0c1d2e3f4a5b"
    ),
    "StackId": STACK_ID,
    "StackName": "imagegen-dev",
    "Description": "Created by SAM CLI at 2025-11-22T01:40:00.000000+00:00 UTC",
    "Parameters": [
        {"ParameterKey": "ImagePrefix", "ParameterValue": "dev"},
        {"ParameterKey": "LogRetentionDays", "ParameterValue": "14"},
    ],
    "CreationTime": "2025-11-22T01:40:05.123000+00:00",
    "ExecutionStatus": "AVAILABLE",
    "Status": "CREATE_COMPLETE",
    "NotificationARNs": [],
    "RollbackConfiguration": {},
    "Capabilities": ["CAPABILITY_IAM"],
    "Tags": [{"Key": "project", "Value": "imagegen"}, {"Key": "environment", "Value": "dev"}],
    "IncludeNestedStacks": False,
}

NO_CHANGES: dict[str, Any] = {
    "Changes": [],
    "ChangeSetName": "samcli-deploy1732230001",
    "StackId": STACK_ID,
    "StackName": "imagegen-dev",
    "ExecutionStatus": "UNAVAILABLE",
    "Status": "FAILED",
    "StatusReason": (
        "The submitted information didn't contain changes. Submit different information to create a change set."
    ),
}


@pytest.fixture(scope="module")
def summary() -> ModuleType:
    spec = importlib.util.spec_from_file_location("changeset_summary", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(markdown: str) -> list[list[str]]:
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    return [[c.strip() for c in row.strip("|").split(" | ")] for row in rows[1:]]


def test_every_resource_change_becomes_one_table_row_in_order(summary: ModuleType) -> None:
    # given a change set with five resource changes
    # when it is rendered
    markdown = summary.render(DESCRIBE_CHANGE_SET)

    # then the table has one row per change, in CloudFormation's order, with action, id and type
    rows = table_rows(markdown)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("✏️ Modify", "`GenerateImageFunction`", "AWS::Lambda::Function"),
        ("✏️ Modify", "`ImageQueue`", "AWS::SQS::Queue"),
        ("✏️ Modify", "`SqsWorkerFunction`", "AWS::Lambda::Function"),
        ("🆕 Add", "`QueueDepthAlarm`", "AWS::CloudWatch::Alarm"),
        ("🗑️ Remove", "`QueueAgeAlarm`", "AWS::CloudWatch::Alarm"),
    ]


def test_the_changed_properties_are_listed_once_each(summary: ModuleType) -> None:
    # given a modified function whose Code shows up twice (a static and a dynamic evaluation)
    # when it is rendered
    rows = table_rows(summary.render(DESCRIBE_CHANGE_SET))

    # then its row names Timeout and Code once each, and a change without details falls back to its scope
    assert rows[0][4] == "Properties.Timeout, Properties.Code"
    assert rows[2][4] == "Properties, Tags"


def test_replacements_and_removals_are_called_out_above_the_table(summary: ModuleType) -> None:
    # given a change set that replaces the queue, may replace the worker and removes an alarm
    # when it is rendered
    markdown = summary.render(DESCRIBE_CHANGE_SET)

    # then the replacement column says so and a warning names them before the table starts
    rows = table_rows(markdown)
    assert [r[3] for r in rows] == ["", "**Yes**", "Conditional", "", ""]
    warning_block, table_block = markdown.split("| Action |", 1)
    assert "**Replaced** (a new physical resource, the old one is deleted): " in warning_block
    assert "ImageQueue (yes), SqsWorkerFunction (conditional)" in warning_block
    assert "**Removed**: QueueAgeAlarm" in warning_block
    assert "⚠️" not in table_block


def test_the_heading_names_the_stack_the_change_set_and_the_counts(summary: ModuleType) -> None:
    # given a change set of three modifications, one addition and one removal
    # when it is rendered with a title
    markdown = summary.render(DESCRIBE_CHANGE_SET, "Plan for imagegen-dev at abc1234")

    # then the title, the stack, the change set name and the counts per action are in the text
    assert markdown.startswith("### Plan for imagegen-dev at abc1234\n")
    assert "Stack `imagegen-dev`, change set `samcli-deploy1732230000`" in markdown
    assert "**5 resource change(s):** 1 to add, 3 to modify, 1 to remove." in markdown


def test_an_empty_change_set_says_there_is_nothing_to_change(summary: ModuleType) -> None:
    # given the FAILED change set CloudFormation leaves when nothing changes
    # when it is rendered
    markdown = summary.render(NO_CHANGES)

    # then the reader is told the stack is up to date, and no table or failure is shown
    assert "No changes: the stack already matches this commit." in markdown
    assert "| Action |" not in markdown
    assert "failed" not in markdown


def test_a_change_set_that_failed_for_another_reason_shows_the_reason(summary: ModuleType) -> None:
    # given a change set that failed because the template is invalid
    failed = copy.deepcopy(NO_CHANGES)
    failed["StatusReason"] = "Template format error: Unresolved resource dependencies [Nope] in the Resources block"

    # when it is rendered
    markdown = summary.render(failed)

    # then the failure and its reason are shown instead of "no changes"
    assert "**The change set failed:** Template format error: Unresolved resource dependencies" in markdown
    assert "No changes" not in markdown


def test_pipes_and_line_breaks_in_values_cannot_break_the_table(summary: ModuleType) -> None:
    # given a resource type and detail name carrying a pipe and a newline
    odd = copy.deepcopy(DESCRIBE_CHANGE_SET)
    odd["Changes"] = [odd["Changes"][0]]
    odd["Changes"][0]["ResourceChange"]["Details"][0]["Target"]["Name"] = "Environment|Variables\nMODEL_ID"

    # when it is rendered
    lines = summary.render(odd).splitlines()

    # then the row stays on one line, with the pipe escaped and the line break gone
    row = next(line for line in lines if line.startswith("| ") and "GenerateImageFunction" in line)
    assert row.endswith("| Properties.Environment\\|Variables MODEL_ID, Properties.Code |")
    assert not any(line.startswith("MODEL_ID") for line in lines)


def test_the_script_reads_stdin_and_writes_markdown_to_stdout() -> None:
    # given the describe-change-set JSON on stdin
    # when the script runs as the workflow runs it
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--title", "Plan"],
        input=json.dumps(DESCRIBE_CHANGE_SET),
        capture_output=True,
        text=True,
        check=False,
    )

    # then it succeeds and prints the summary
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("### Plan\n")
    assert "`GenerateImageFunction`" in result.stdout


def test_the_script_rejects_input_that_is_not_json_with_a_clear_error() -> None:
    # given something that is not JSON on stdin (e.g. an AWS CLI error message)
    # when the script runs
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        input="An error occurred (ValidationError) when calling the DescribeChangeSet operation",
        capture_output=True,
        text=True,
        check=False,
    )

    # then it fails with exit code 2 and says what it expected
    assert result.returncode == 2
    assert "not describe-change-set JSON" in result.stderr
    assert result.stdout == ""
