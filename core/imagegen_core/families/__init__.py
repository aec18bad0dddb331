"""Bedrock model families: each builds the InvokeModel body and reads the response for its models."""

from __future__ import annotations

import re

from imagegen_core.families.amazon import AmazonImageFamily
from imagegen_core.families.base import ModelFamily
from imagegen_core.families.stability import StabilityFamily

FAMILIES: tuple[ModelFamily, ...] = (AmazonImageFamily(), StabilityFamily())
_GEO_PREFIX = re.compile(r"^(us|eu|apac|global)\.")

__all__ = ["FAMILIES", "ModelFamily", "family_for"]


def family_for(model_id: str) -> ModelFamily:
    """The family that speaks for ``model_id`` (cross-region profile prefixes such as ``us.`` allowed)."""
    base_id = _GEO_PREFIX.sub("", model_id)
    for family in FAMILIES:
        if base_id.startswith(family.model_prefixes):
            return family
    known = ", ".join(prefix + "*" for family in FAMILIES for prefix in family.model_prefixes)
    raise ValueError(f"unsupported model id {model_id!r}; supported: {known}")
