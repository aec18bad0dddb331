"""The stand-in's Bedrock control plane: GetFoundationModel, ListFoundationModels and the inference profiles.

It answers from the stand-in's own catalog (:mod:`local.bedrock_catalog`), for the caller's region and the
stand-in's date, in the shapes of botocore's ``bedrock`` service model (rest-json, ``GET /foundation-models``...).
A model past its end of life is gone from the lists and unknown to GetFoundationModel, as a model never offered
in that region is. Pure functions: :mod:`local.bedrock_standin` puts them on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import unquote

from local.bedrock_catalog import (
    MODELS,
    PROFILES,
    CatalogError,
    InferenceProfile,
    Lifecycle,
    ModelSpec,
    foundation_model,
    inference_profile,
    offered,
)
from local.bedrock_formats import BedrockError, Reply

_FILTERS: dict[str, tuple[str, ...]] = {
    "byOutputModality": ("TEXT", "IMAGE", "EMBEDDING"),
    "byInferenceType": ("ON_DEMAND", "PROVISIONED"),
    "byCustomizationType": ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"),
    "typeEquals": ("SYSTEM_DEFINED", "APPLICATION"),
}
_PROVIDER = re.compile(r"^[A-Za-z0-9- ]{1,63}$")
_ROUTES = (
    (re.compile(r"^/foundation-models$"), "ListFoundationModels"),
    (re.compile(r"^/foundation-models/(?P<id>[^/]+)$"), "GetFoundationModel"),
    (re.compile(r"^/inference-profiles$"), "ListInferenceProfiles"),
    (re.compile(r"^/inference-profiles/(?P<id>[^/]+)$"), "GetInferenceProfile"),
)


@dataclass(frozen=True)
class Caller:
    """Who asks: the region the request is signed for, the stand-in's date, the models its knobs ended."""

    region: str
    today: date
    ended: frozenset[str] = frozenset()


def operation_of(path: str) -> tuple[str, str | None] | None:
    """The control-plane operation a GET path names, and its identifier; None when it names none."""
    for pattern, operation in _ROUTES:
        match = pattern.match(path)
        if match is not None:
            return operation, unquote(match["id"]) if "id" in pattern.groupindex else None
    return None


def answer(operation: str, identifier: str | None, query: Mapping[str, Sequence[str]], caller: Caller) -> Reply:
    """One control-plane operation's answer (200 with its JSON, or Bedrock's error)."""
    try:
        if operation == "ListFoundationModels":
            return Reply(200, {"modelSummaries": list_foundation_models(query, caller)})
        if operation == "GetFoundationModel":
            return Reply(200, {"modelDetails": get_foundation_model(identifier or "", caller)})
        if operation == "ListInferenceProfiles":
            return Reply(200, {"inferenceProfileSummaries": list_inference_profiles(query, caller)})
        return Reply(200, get_inference_profile(identifier or "", caller))
    except CatalogError as exc:
        return BedrockError(exc.code, exc.message).reply()
    except BedrockError as exc:
        return exc.reply()


def get_foundation_model(identifier: str, caller: Caller) -> dict[str, Any]:
    model = foundation_model(identifier, caller.region)
    if not offered(model, caller.region, caller.today, caller.ended):
        raise CatalogError("ValidationException", "The provided model identifier is invalid.")
    return model_details(model, caller)


def list_foundation_models(query: Mapping[str, Sequence[str]], caller: Caller) -> list[dict[str, Any]]:
    modality = _filter(query, "byOutputModality")
    inference_type = _filter(query, "byInferenceType")
    customization = _filter(query, "byCustomizationType")
    provider = _provider(query)
    return [
        model_details(model, caller)
        for model in MODELS.values()
        if offered(model, caller.region, caller.today, caller.ended)
        and modality in (None, "IMAGE")
        and (inference_type is None or inference_type in model.inference_types)
        and customization is None  # no image model here can be customised
        and (provider is None or provider.lower() in (model.provider.lower(), model.model_id.split(".", 1)[0]))
    ]


def get_inference_profile(identifier: str, caller: Caller) -> dict[str, Any]:
    profile = inference_profile(identifier, caller.region)
    if not offered(MODELS[profile.model_id], caller.region, caller.today, caller.ended):
        raise CatalogError("ResourceNotFoundException", f"Inference profile {identifier} not found.")
    return profile_summary(profile, caller)


def list_inference_profiles(query: Mapping[str, Sequence[str]], caller: Caller) -> list[dict[str, Any]]:
    if _filter(query, "typeEquals") == "APPLICATION":
        return []  # the stand-in has no application inference profiles
    return [
        profile_summary(profile, caller)
        for profile in PROFILES.values()
        if caller.region in profile.sources
        and offered(MODELS[profile.model_id], caller.region, caller.today, caller.ended)
    ]


def model_details(model: ModelSpec, caller: Caller) -> dict[str, Any]:
    """A FoundationModelDetails (also the FoundationModelSummary: the two shapes have the same members)."""
    return {
        "modelArn": model.arn(caller.region),
        "modelId": model.model_id,
        "modelName": model.name,
        "providerName": model.provider,
        "inputModalities": list(model.input_modalities),
        "outputModalities": ["IMAGE"],
        "responseStreamingSupported": False,
        "customizationsSupported": [],
        "inferenceTypesSupported": list(model.inference_types),
        "modelLifecycle": lifecycle(model.lifecycle, caller.today),
    }


def lifecycle(model: Lifecycle, today: date) -> dict[str, Any]:
    """A FoundationModelLifecycle: ACTIVE, or LEGACY with the dates it became Legacy and reaches its end of life."""
    status = model.status_on(today)
    if status != "LEGACY":
        return {"status": status}
    answer: dict[str, Any] = {"status": "LEGACY"}
    if model.legacy is not None:
        answer["legacyTime"] = _timestamp(model.legacy)
    if model.end_of_life is not None:
        answer["endOfLifeTime"] = _timestamp(model.end_of_life)
    return answer


def profile_summary(profile: InferenceProfile, caller: Caller) -> dict[str, Any]:
    """A GetInferenceProfileResponse (the members of an InferenceProfileSummary)."""
    model = MODELS[profile.model_id]
    destinations = sorted(profile.destinations)
    return {
        "inferenceProfileName": profile.name,
        "description": f"Routes requests to {model.name} in {', '.join(destinations)}.",
        "inferenceProfileArn": profile.arn(caller.region),
        "models": [{"modelArn": model.arn(region)} for region in destinations],
        "inferenceProfileId": profile.profile_id,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }


def _filter(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    value = values[-1]
    if value not in _FILTERS[name]:
        allowed = ", ".join(_FILTERS[name])
        raise BedrockError("ValidationException", _constraint(value, name, f"enum value set: [{allowed}]"))
    return value


def _provider(query: Mapping[str, Sequence[str]]) -> str | None:
    values = query.get("byProvider")
    if not values:
        return None
    if not _PROVIDER.match(values[-1]):
        raise BedrockError(
            "ValidationException",
            _constraint(values[-1], "byProvider", f"regular expression pattern: {_PROVIDER.pattern[1:-1]}"),
        )
    return values[-1]


def _constraint(value: str, name: str, rule: str) -> str:
    """AWS's wording for a parameter that breaks its model's constraint."""
    return (
        f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
        f"Member must satisfy {rule}"
    )


def _timestamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
