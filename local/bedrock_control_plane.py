"""The stand-in's Bedrock control plane: the foundation models, the inference profiles, and model access.

It answers from the stand-in's own catalog (:mod:`local.bedrock_catalog`), for the caller's region and the
stand-in's date, in the shapes of botocore's ``bedrock`` service model (rest-json, ``GET /foundation-models``...).
A model past its end of life is gone from the lists and unknown to GetFoundationModel, as a model never offered
in that region is. Model access (GetFoundationModelAvailability, the AWS Marketplace agreements) follows the
account's state (:mod:`local.bedrock_account`). Pure functions: :mod:`local.bedrock_standin` puts them on the
wire, and records the agreement a successful CreateFoundationModelAgreement makes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import unquote

from local.bedrock_account import Account, availability, offer_token, offers, subscribe_denied
from local.bedrock_catalog import (
    INVALID_MODEL,
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
    "offerType": ("ALL", "PUBLIC"),
}
_PROVIDER = re.compile(r"^[A-Za-z0-9- ]{1,63}$")
_OFFERS = "ListFoundationModelAgreementOffers"
# The modelId of the model-access operations (botocore's ``FoundationModelId`` shape): an id, never an ARN.
_MODEL_ID = re.compile(
    r"[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}"
    r"(/[a-z0-9]{12}|)"
)
_ROUTES = (
    ("GET", re.compile(r"^/foundation-models$"), "ListFoundationModels"),
    ("GET", re.compile(r"^/foundation-models/(?P<id>[^/]+)$"), "GetFoundationModel"),
    ("GET", re.compile(r"^/inference-profiles$"), "ListInferenceProfiles"),
    ("GET", re.compile(r"^/inference-profiles/(?P<id>[^/]+)$"), "GetInferenceProfile"),
    ("GET", re.compile(r"^/foundation-model-availability/(?P<id>[^/]+)$"), "GetFoundationModelAvailability"),
    ("GET", re.compile(r"^/list-foundation-model-agreement-offers/(?P<id>[^/]+)$"), _OFFERS),
    ("POST", re.compile(r"^/create-foundation-model-agreement$"), "CreateFoundationModelAgreement"),
)


@dataclass(frozen=True)
class Caller:
    """Who asks: the region the request is signed for, the stand-in's date, the models its knobs ended, the
    access key id of the request's credential, and the account's Marketplace state."""

    region: str
    today: date
    ended: frozenset[str] = frozenset()
    access_key: str | None = None
    account: Account = field(default_factory=Account)

    def offered(self, model: ModelSpec) -> bool:
        """Whether the control plane lists ``model`` for this caller: the catalog's ``offered`` for the caller's
        region, date and ended models."""
        return offered(model, self.region, self.today, self.ended)


def operation_of(method: str, path: str) -> tuple[str, str | None] | None:
    """The control-plane operation a method and path name, and its identifier; None when they name none."""
    for verb, pattern, operation in _ROUTES:
        match = pattern.match(path) if verb == method else None
        if match is not None:
            return operation, unquote(match["id"]) if "id" in pattern.groupindex else None
    return None


def answer(
    operation: str,
    identifier: str | None,
    query: Mapping[str, Sequence[str]],
    caller: Caller,
    body: Mapping[str, Any] | None = None,
) -> Reply:
    """One control-plane operation's answer (200 or 202 with its JSON, or Bedrock's error)."""
    try:
        return _OPERATIONS[operation](identifier or "", query, body or {}, caller)
    except CatalogError as exc:
        return BedrockError(exc.code, exc.message).reply()
    except BedrockError as exc:
        return exc.reply()


def get_foundation_model(identifier: str, caller: Caller) -> dict[str, Any]:
    model = foundation_model(identifier, caller.region)
    if not caller.offered(model):
        raise CatalogError("ValidationException", INVALID_MODEL)
    return model_details(model, caller)


def list_foundation_models(query: Mapping[str, Sequence[str]], caller: Caller) -> list[dict[str, Any]]:
    modality = _filter(query, "byOutputModality")
    inference_type = _filter(query, "byInferenceType")
    customization = _filter(query, "byCustomizationType")
    provider = _provider(query)
    return [
        model_details(model, caller)
        for model in MODELS.values()
        if caller.offered(model)
        and modality in (None, "IMAGE")
        and (inference_type is None or inference_type in model.inference_types)
        and customization is None  # no image model here can be customised
        and (provider is None or provider.lower() in (model.provider.lower(), model.model_id.split(".", 1)[0]))
    ]


def get_inference_profile(identifier: str, caller: Caller) -> dict[str, Any]:
    profile = inference_profile(identifier, caller.region)
    if not caller.offered(MODELS[profile.model_id]):
        raise CatalogError("ResourceNotFoundException", f"Inference profile {identifier} not found.")
    return profile_summary(profile, caller)


def list_inference_profiles(query: Mapping[str, Sequence[str]], caller: Caller) -> list[dict[str, Any]]:
    if _filter(query, "typeEquals") == "APPLICATION":
        return []  # the stand-in has no application inference profiles
    return [
        profile_summary(profile, caller)
        for profile in PROFILES.values()
        if caller.region in profile.sources and caller.offered(MODELS[profile.model_id])
    ]


def get_foundation_model_availability(identifier: str, caller: Caller) -> dict[str, Any]:
    """Whether the account may use the model in the caller's region (a known model not offered there today is
    ``regionAvailability: NOT_AVAILABLE``; an id the catalog does not know is an invalid identifier)."""
    model = _known_model(identifier)
    return availability(model, caller.offered(model), caller.account)


def list_agreement_offers(identifier: str, query: Mapping[str, Sequence[str]], caller: Caller) -> dict[str, Any]:
    """The model's AWS Marketplace offers: one public offer for a Marketplace model, none for Amazon's."""
    _filter(query, "offerType")
    model = _offered_model(identifier, caller)
    return {"modelId": model.model_id, "offers": offers(model)}


def create_agreement(body: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
    """Subscribe the account to the model's offer, for a caller that may subscribe (the stand-in records it)."""
    for name in ("offerToken", "modelId"):
        if not isinstance(body.get(name), str):
            raise BedrockError(
                "ValidationException",
                f"1 validation error detected: Value null at '{name}' failed to satisfy constraint: "
                "Member must not be null",
            )
    model = _offered_model(body["modelId"], caller)
    if not model.on_marketplace or body["offerToken"] != offer_token(model):
        raise BedrockError("ValidationException", f"The offer token is not valid for model {model.model_id}.")
    if not caller.account.may_subscribe(caller.access_key):
        raise BedrockError("AccessDeniedException", subscribe_denied(caller.access_key))
    if caller.account.has_agreement(model):
        raise BedrockError("ConflictException", f"An agreement for model {model.model_id} already exists.")
    return {"modelId": model.model_id}


def _known_model(identifier: str) -> ModelSpec:
    """The model a model-access modelId names (an id in the pattern botocore documents, never an ARN)."""
    if not _MODEL_ID.fullmatch(identifier):
        raise BedrockError(
            "ValidationException",
            _constraint(identifier, "modelId", f"regular expression pattern: {_MODEL_ID.pattern}"),
        )
    model = MODELS.get(identifier)
    if model is None:
        raise CatalogError("ValidationException", INVALID_MODEL)
    return model


def _offered_model(identifier: str, caller: Caller) -> ModelSpec:
    model = _known_model(identifier)
    if not caller.offered(model):
        raise CatalogError("ValidationException", INVALID_MODEL)
    return model


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


Operation = Callable[[str, Mapping[str, Sequence[str]], Mapping[str, Any], Caller], Reply]
_OPERATIONS: dict[str, Operation] = {
    "ListFoundationModels": lambda _, query, __, caller: Reply(
        200, {"modelSummaries": list_foundation_models(query, caller)}
    ),
    "GetFoundationModel": lambda identifier, _, __, caller: Reply(
        200, {"modelDetails": get_foundation_model(identifier, caller)}
    ),
    "ListInferenceProfiles": lambda _, query, __, caller: Reply(
        200, {"inferenceProfileSummaries": list_inference_profiles(query, caller)}
    ),
    "GetInferenceProfile": lambda identifier, _, __, caller: Reply(200, get_inference_profile(identifier, caller)),
    "GetFoundationModelAvailability": lambda identifier, _, __, caller: Reply(
        200, get_foundation_model_availability(identifier, caller)
    ),
    "ListFoundationModelAgreementOffers": lambda identifier, query, _, caller: Reply(
        200, list_agreement_offers(identifier, query, caller)
    ),
    "CreateFoundationModelAgreement": lambda _, __, body, caller: Reply(202, create_agreement(body, caller)),
}
