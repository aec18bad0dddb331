"""Bedrock model families (request formats): each builds the InvokeModel body and reads the response."""

from __future__ import annotations

from imagegen_core.catalog import family_of
from imagegen_core.families.amazon import AmazonImageFamily
from imagegen_core.families.base import ModelFamily, limit_problems
from imagegen_core.families.stability import StabilityFamily

FAMILIES: dict[str, ModelFamily] = {"amazon": AmazonImageFamily(), "stability": StabilityFamily()}

__all__ = ["FAMILIES", "ModelFamily", "family_for", "limit_problems"]


def family_for(model_id: str) -> ModelFamily:
    """The family that speaks for ``model_id`` (profile prefixes such as ``us.`` and ARNs allowed)."""
    return FAMILIES[family_of(model_id)]
