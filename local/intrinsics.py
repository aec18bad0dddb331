"""CloudFormation intrinsic functions, resolved for the local stack.

template.yaml is the single source of truth for what the functions get (environment, timeout, memory,
handler) and how the API, bucket and queues behave; its values are full of ``!Ref``, ``!GetAtt`` and
``!Sub``. The local stack resolves them against what it created: a Ref to the bucket is the local
bucket's name, a Ref to a queue its moto URL, a Ref to a parameter the parameter's default, pseudo
parameters the local region/account/stack name. Resources the local stack does not emulate (alarms,
topics) get names and ARNs of the right shape, so a variable that carries one still has a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()  # AWS::NoValue: the key that holds it is dropped

_SUB_REFERENCE = re.compile(r"\$\{([^}!][^}]*)\}")
_RESOURCE_TYPES_ARN = {
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::Serverless::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
}
# The property that names a resource, when the template names it (otherwise CloudFormation makes a name up).
_NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
}


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve; the message says what and where."""


@dataclass
class Resolver:
    """Resolves intrinsics; ``refs`` and ``attributes`` hold what the local stack created."""

    template: Mapping[str, Any]
    region: str
    account_id: str
    stack_name: str
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)  # "Logical.Attribute" -> value

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by its local value (NoValue keys dropped)."""
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref" or name.startswith("Fn::") or name == "Condition":
                return self._function(name, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        if "." in name:  # SAM's !Ref Api.Stage
            logical_id, _, attribute = name.partition(".")
            return self.get_att(logical_id, attribute)
        parameters = self.template.get("Parameters") or {}
        if name in parameters:
            if "Default" not in parameters[name]:
                raise TemplateError(f"parameter {name} has no Default, so the local stack cannot give it a value")
            return self.resolve(parameters[name]["Default"])
        if name in (self.template.get("Resources") or {}):
            return self.physical_name(name)
        raise TemplateError(f"Ref {name}: no such parameter or resource in the template")

    def get_att(self, logical_id: str, attribute: str) -> str:
        key = f"{logical_id}.{attribute}"
        if key in self.attributes:
            return self.attributes[key]
        resource = (self.template.get("Resources") or {}).get(logical_id)
        if resource is None:
            raise TemplateError(f"GetAtt {key}: no resource {logical_id} in the template")
        name = self._declared_name(resource) or self.physical_name(logical_id)
        if attribute == "Arn":
            pattern = _RESOURCE_TYPES_ARN.get(resource.get("Type", ""), "arn:aws:local:{region}:{account}:{name}")
            return pattern.format(region=self.region, account=self.account_id, name=name)
        if attribute in ("QueueName", "TopicName", "Name"):
            return name
        if attribute == "Stage":  # SAM's Api.Stage
            return str(self.resolve((resource.get("Properties") or {}).get("StageName", "Prod")))
        return f"{name}-{attribute}"

    def _declared_name(self, resource: Mapping[str, Any]) -> str | None:
        name_property = _NAME_PROPERTIES.get(resource.get("Type", ""))
        declared = (resource.get("Properties") or {}).get(name_property) if name_property else None
        return str(self.resolve(declared)) if declared is not None else None

    def physical_name(self, logical_id: str) -> str:
        """The name CloudFormation would generate (lower case, so it is also a valid bucket name)."""
        return f"{self.stack_name}-{logical_id}".lower()

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"condition {name} is not defined in the template")
        return bool(self.resolve(conditions[name]))

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Ref":
            return self.ref(argument)
        if name == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(logical_id, attribute)
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(items))
        if name == "Fn::Select":
            index, items = self.resolve(argument)
            return items[int(index)]
        if name == "Fn::Split":
            separator, text = self.resolve(argument)
            return text.split(separator)
        if name == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition) else if_false)
        if name == "Fn::Equals":
            left, right = self.resolve(argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.resolve(argument)[0]
        if name == "Fn::And":
            return all(self.resolve(argument))
        if name == "Fn::Or":
            return any(self.resolve(argument))
        if name == "Condition":
            return self.condition(argument)
        if name == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument))
        raise TemplateError(f"intrinsic function {name} is not supported by the local stack")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], self.resolve(argument[1]))

        def value(match: re.Match[str]) -> str:
            reference = match.group(1).strip()
            if reference in variables:
                return str(variables[reference])
            if "." in reference and not reference.startswith("AWS::"):
                logical_id, _, attribute = reference.partition(".")
                return self.get_att(logical_id, attribute)
            return str(self.ref(reference))

        return _SUB_REFERENCE.sub(value, text).replace("${!", "${")
