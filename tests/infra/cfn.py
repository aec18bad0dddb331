"""template.yaml as CloudFormation would deploy it: translated by SAM, then rendered for given parameters.

``translate`` runs aws-sam-translator in-process (the same library `sam validate` and CloudFormation's
transform use). ``Rendered`` then does the part CloudFormation does at deploy time, just enough for the
tests: it evaluates the conditions, drops the resources they exclude, and resolves the intrinsic functions
with the local stack's resolver (``local.intrinsics``) and placeholder physical ids. Nothing reaches AWS.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.arn_generator import ArnGenerator
from samtranslator.translator.translator import Translator

from local.intrinsics import Resolver
from local.template import TEMPLATE, load_template

REGION = "eu-west-1"
ACCOUNT = "000000000000"
STACK = "imagegen-test"


def no_managed_policies() -> dict[str, str]:
    """The functions bring their own roles, so SAM must never need the list of AWS managed policies."""
    raise AssertionError("SAM asked for AWS managed policies; the template should not use any")


@cache
def _translated(parameters: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """What ``samtranslator.translator.transform.transform`` does, with a session that has a region."""
    previous = ArnGenerator.BOTO_SESSION_REGION_NAME  # the translator sets this class attribute
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    try:
        return translator.translate(
            _packaged(load_template(TEMPLATE)),
            parameter_values=dict(parameters),
            get_managed_policy_map=no_managed_policies,
        )
    finally:
        ArnGenerator.BOTO_SESSION_REGION_NAME = previous


def _packaged(template: dict[str, Any]) -> dict[str, Any]:
    """Local code directories as `sam package` would leave them: S3 URIs (the translator insists)."""
    for resource in template["Resources"].values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://packaged-code/{properties[key].strip('/')}.zip"
    return template


def translate(**parameters: str) -> dict[str, Any]:
    """The CloudFormation template SAM makes of template.yaml with these parameter values (a fresh copy)."""
    return copy.deepcopy(_translated(tuple(sorted(parameters.items()))))


def render(**parameters: str) -> Rendered:
    """template.yaml translated and rendered for these parameter values (others at their defaults)."""
    return Rendered(translate(**parameters), parameters)


class _PlaceholderIds(Resolver):
    """local.intrinsics' resolver with the placeholder physical ids and ARNs the infra tests assert on."""

    def physical_name(self, logical_id: str) -> str:
        resource = self.template["Resources"][logical_id]
        properties = resource.get("Properties") or {}
        kind = resource["Type"]
        if kind == "AWS::S3::Bucket":
            return logical_id.lower()
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.get_att(logical_id, 'QueueName')}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical_id}"
        if kind == "AWS::ApiGateway::Stage":
            return str(self.resolve(properties["StageName"]))
        if kind == "AWS::DynamoDB::Table" and "TableName" in properties:
            return str(self.resolve(properties["TableName"]))
        if kind == "AWS::Lambda::Function" and "FunctionName" in properties:
            return str(self.resolve(properties["FunctionName"]))
        return logical_id

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.template["Resources"][logical_id]
        properties = resource.get("Properties") or {}
        kind = resource["Type"]
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return str(self.resolve(properties.get("QueueName", logical_id)))
        if attribute != "Arn":
            return f"{logical_id}.{attribute}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{self.physical_name(logical_id)}"
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.get_att(logical_id, 'QueueName')}"
        if kind == "AWS::Logs::LogGroup":
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{self.resolve(properties['LogGroupName'])}:*"
        if kind == "AWS::Lambda::Function":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.physical_name(logical_id)}"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.physical_name(logical_id)}"
        return f"arn:aws:{kind}:{logical_id}"


class Rendered:
    """A translated template with its conditions evaluated and its intrinsic functions resolved."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        declared = template.get("Parameters") or {}
        unknown = set(parameters) - set(declared)
        if unknown:
            raise KeyError(f"no such parameters: {sorted(unknown)}")
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        self.parameters.update(parameters)
        self._resolver = _PlaceholderIds(template, REGION, ACCOUNT, STACK, refs=dict(self.parameters))
        self.resources: dict[str, dict[str, Any]] = {
            logical_id: self.resolve(resource)
            for logical_id, resource in template["Resources"].items()
            if self.condition(resource.get("Condition"))
        }
        self.outputs: dict[str, Any] = {
            name: self.resolve(output["Value"])
            for name, output in (template.get("Outputs") or {}).items()
            if self.condition(output.get("Condition"))
        }

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res["Type"] == resource_type}

    def properties(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties") or {}

    def condition(self, name: str | None) -> bool:
        return name is None or self._resolver.condition(name)

    def resolve(self, value: Any) -> Any:
        return self._resolver.resolve(value)

    def physical_id(self, logical_id: str) -> str:
        return self._resolver.physical_name(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> str:
        return self._resolver.get_att(logical_id, attribute)
