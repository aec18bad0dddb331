"""Read template.yaml the way CloudFormation does, and the queue numbers the local stack must copy.

``load_template`` turns the short intrinsic tags (``!Ref``, ``!GetAtt``, ``!Sub``, ...) into their long
JSON form (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), so the result is the template as CloudFormation
and SAM see it. ``queue_settings`` picks out the settings that decide how messages are retried and
dead-lettered, so that the local queues, the tests and the deployed stack agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
QUEUE_ID = "ImageQueue"
DEAD_LETTER_QUEUE_ID = "ImageDeadLetterQueue"
SQS_EVENT_KEY = "SqsEvent"

# What AWS uses when the template leaves a setting out.
_QUEUE_DEFAULTS = {"VisibilityTimeout": 30, "MessageRetentionPeriod": 345_600}
_EVENT_DEFAULTS = {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0}


class _CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation's ``!Tag`` shorthand (registered here, not globally)."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = tag_suffix
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if name == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"
    return {key: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: str | Path = TEMPLATE) -> dict[str, Any]:
    """The template at ``path`` as a dict, intrinsic functions in their long form."""
    document = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_CloudFormationLoader)  # noqa: S506
    if not isinstance(document, dict) or "Resources" not in document:
        raise ValueError(f"{path} is not a CloudFormation template (no Resources)")
    return document


def queue_settings(template: Mapping[str, Any]) -> dict[str, dict[str, int | None]]:
    """Retry and dead-letter settings, with AWS defaults filled in and parameters at their defaults.

    Returns ``{"ImageQueue": {...}, "ImageDeadLetterQueue": {...}, "SqsEvent": {...}}``: for each queue
    ``VisibilityTimeout``, ``MessageRetentionPeriod`` (seconds) and ``maxReceiveCount`` (None when the
    queue has no redrive policy); for the SQS event that reads ``ImageQueue``, ``BatchSize`` and
    ``MaximumBatchingWindowInSeconds``.
    """
    settings: dict[str, dict[str, int | None]] = {}
    for logical_id in (QUEUE_ID, DEAD_LETTER_QUEUE_ID):
        properties = _properties(template, logical_id)
        queue: dict[str, int | None] = {
            name: _number(template, properties.get(name, default), f"{logical_id}.{name}")
            for name, default in _QUEUE_DEFAULTS.items()
        }
        redrive = properties.get("RedrivePolicy") or {}
        count = redrive.get("maxReceiveCount")
        queue["maxReceiveCount"] = None if count is None else _number(template, count, f"{logical_id}.maxReceiveCount")
        settings[logical_id] = queue
    event = _sqs_event(template, QUEUE_ID)
    settings[SQS_EVENT_KEY] = {
        name: _number(template, event.get(name, default), f"SQS event.{name}")
        for name, default in _EVENT_DEFAULTS.items()
    }
    return settings


def _properties(template: Mapping[str, Any], logical_id: str) -> Mapping[str, Any]:
    resource = (template.get("Resources") or {}).get(logical_id)
    if resource is None:
        raise ValueError(f"the template has no resource {logical_id}")
    return resource.get("Properties") or {}


def _sqs_event(template: Mapping[str, Any], queue_id: str) -> Mapping[str, Any]:
    """The properties of the SQS event (on any function) whose ``Queue`` is ``queue_id``."""
    for resource in (template.get("Resources") or {}).values():
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            properties = event.get("Properties") or {}
            if event.get("Type") == "SQS" and _refers_to(properties.get("Queue"), queue_id):
                return properties
    raise ValueError(f"no function has an SQS event on {queue_id}")


def _refers_to(value: Any, logical_id: str) -> bool:
    if not isinstance(value, dict):
        return False
    target = value.get("Ref") or value.get("Fn::GetAtt")
    if isinstance(target, list):
        target = target[0]
    return target == logical_id


def _number(template: Mapping[str, Any], value: Any, where: str) -> int:
    """A literal number, or a ``!Ref`` to a parameter with a default."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = (template.get("Parameters") or {}).get(value["Ref"]) or {}
        if "Default" not in parameter:
            raise ValueError(f"{where} refers to {value['Ref']}, which is no parameter with a default")
        value = parameter["Default"]
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} is not a number: {value!r}") from None
