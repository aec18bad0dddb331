"""The Bedrock stand-in's own catalog of image models: what today's Bedrock offers, where, until when, with what limits.

This table is the stand-in's knowledge, written from Bedrock's documentation (docs/bedrock-standin.md lists the
sources) and deliberately **not** imported from the core: when the core's model table is wrong, the stand-in
answers as Bedrock would and the tests catch the difference instead of agreeing with it.

A model is known by its id (``stability.stable-image-core-v1:1``), by its foundation-model ARN, or, where Bedrock
defines one, through a cross-region inference profile (``us.stability.stable-image-inpaint-v1:0``, or its ARN).
:func:`resolve_invocation` decides, for the region a caller signs its request for, which model answers or which
error Bedrock gives instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Format = Literal["titan", "nova", "stability", "stability-service"]
Status = Literal["ACTIVE", "LEGACY", "END_OF_LIFE"]

ACCOUNT_ID = "123456789012"  # moto's documented fake account: inference-profile ARNs need one
_US = frozenset({"us-east-1", "us-east-2", "us-west-2"})
# Providers whose Bedrock models need no AWS Marketplace subscription (of those in this catalog).
_NOT_ON_MARKETPLACE = frozenset({"Amazon"})


@dataclass(frozen=True)
class Lifecycle:
    """Active until ``legacy``, legacy until ``end_of_life``, then gone. ``retired``: gone, date not confirmed."""

    legacy: date | None = None
    end_of_life: date | None = None
    retired: bool = False

    def status_on(self, today: date) -> Status:
        if self.retired or (self.end_of_life is not None and today >= self.end_of_life):
            return "END_OF_LIFE"
        if self.legacy is not None and today >= self.legacy:
            return "LEGACY"
        return "ACTIVE"


@dataclass(frozen=True)
class Limits:
    """What one model's request body may ask for."""

    prompt_max: int
    negative_prompt_max: int
    seed_max: int
    images_max: int = 1
    sizes: frozenset[tuple[int, int]] = frozenset()  # Amazon: the exact sizes accepted
    any_size: bool = False  # Nova Canvas: any size within its rules (bedrock_formats.nova_size_ok)
    aspect_ratios: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # Stability: ratio -> rendered size
    output_formats: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """One foundation model as Bedrock describes it (GetFoundationModel) and enforces it (InvokeModel)."""

    model_id: str
    name: str
    provider: str
    format: Format
    lifecycle: Lifecycle
    regions: frozenset[str]  # where the model exists; on-demand there unless ``profile_only``
    limits: Limits
    input_modalities: tuple[str, ...] = ("TEXT",)
    profile_only: bool = False  # reachable only through an inference profile (Stable Image Services)

    @property
    def inference_types(self) -> tuple[str, ...]:
        return ("INFERENCE_PROFILE",) if self.profile_only else ("ON_DEMAND",)

    @property
    def on_marketplace(self) -> bool:
        """Sold through AWS Marketplace: every third-party model is; Amazon's own are not (docs/bedrock-standin.md)."""
        return self.provider not in _NOT_ON_MARKETPLACE

    def arn(self, region: str) -> str:
        return f"arn:aws:bedrock:{region}::foundation-model/{self.model_id}"


@dataclass(frozen=True)
class InferenceProfile:
    """A system-defined cross-region profile: callers in ``sources`` reach ``model_id`` in ``destinations``."""

    profile_id: str
    name: str
    model_id: str
    sources: frozenset[str]
    destinations: frozenset[str]

    def arn(self, region: str) -> str:
        return f"arn:aws:bedrock:{region}:{ACCOUNT_ID}:inference-profile/{self.profile_id}"


# -- the limits --------------------------------------------------------------------------------------------

# The sizes Titan Image Generator G1 (v1 and v2) accepts, from its "image generation config" size table.
TITAN_SIZES: frozenset[tuple[int, int]] = frozenset(
    {
        (1024, 1024), (768, 768), (512, 512),
        (768, 1152), (384, 576), (1152, 768), (576, 384),
        (768, 1280), (384, 640), (1280, 768), (640, 384),
        (896, 1152), (448, 576), (1152, 896), (576, 448),
        (768, 1408), (384, 704), (1408, 768), (704, 384),
        (640, 1408), (320, 704), (1408, 640), (704, 320),
        (1152, 640), (1173, 640),
    }
)  # fmt: skip
# Stability's aspect ratios, each rendered at its ~1 megapixel size (the SD3/SD3.5 sizes).
STABILITY_RATIOS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "9:16": (768, 1344),
    "21:9": (1536, 640),
    "9:21": (640, 1536),
    "3:2": (1216, 832),
    "2:3": (832, 1216),
    "5:4": (1088, 896),
    "4:5": (896, 1088),
}
NOVA_STYLES = (
    "3D_ANIMATED_FAMILY_FILM",
    "DESIGN_SKETCH",
    "FLAT_VECTOR_ILLUSTRATION",
    "GRAPHIC_NOVEL_ILLUSTRATION",
    "MAXIMALISM",
    "MIDCENTURY_RETRO",
    "PHOTOREALISM",
    "SOFT_DIGITAL_PAINTING",
)
UINT32_MAX = 4_294_967_295

_TITAN = Limits(prompt_max=512, negative_prompt_max=512, seed_max=2_147_483_646, images_max=5, sizes=TITAN_SIZES)
_NOVA = Limits(
    prompt_max=1024,
    negative_prompt_max=1024,
    seed_max=858_993_459,
    images_max=5,
    sizes=TITAN_SIZES,
    any_size=True,
    styles=NOVA_STYLES,
)
_CORE = Limits(
    prompt_max=10_000,
    negative_prompt_max=10_000,
    seed_max=UINT32_MAX,
    aspect_ratios=STABILITY_RATIOS,
    output_formats=("png", "jpeg"),
    modes=("text-to-image",),
)
_ULTRA = Limits(
    prompt_max=10_000,
    negative_prompt_max=10_000,
    seed_max=UINT32_MAX,
    aspect_ratios=STABILITY_RATIOS,
    output_formats=("png", "jpeg"),
    modes=("text-to-image", "image-to-image"),
)
_SD35 = Limits(
    prompt_max=10_000,
    negative_prompt_max=10_000,
    seed_max=UINT32_MAX - 1,
    aspect_ratios=STABILITY_RATIOS,
    output_formats=("png", "jpeg", "webp"),
    modes=("text-to-image", "image-to-image"),
)
_SERVICE = Limits(prompt_max=10_000, negative_prompt_max=10_000, seed_max=UINT32_MAX - 1, output_formats=("png",))

# -- the models --------------------------------------------------------------------------------------------

_AMAZON_EOL = date(2026, 6, 30)  # Titan Image Generator G1 v1 and v2
_NOVA_CANVAS_EOL = date(2026, 9, 30)
# Bedrock keeps a model Legacy for at least six months before its end of life; the actual dates the Amazon
# models turned Legacy are not in the sources, so the stand-in takes exactly six months.
_AMAZON_LEGACY = date(2025, 12, 30)
_NOVA_CANVAS_LEGACY = date(2026, 3, 30)
_US_WEST_2 = frozenset({"us-west-2"})


def _stability(model_id: str, name: str, limits: Limits, lifecycle: Lifecycle | None = None) -> ModelSpec:
    return ModelSpec(model_id, name, "Stability AI", "stability", lifecycle or Lifecycle(), _US_WEST_2, limits)


def _service(model_id: str, name: str) -> ModelSpec:
    return ModelSpec(
        model_id,
        name,
        "Stability AI",
        "stability-service",
        Lifecycle(),
        _US,
        _SERVICE,
        input_modalities=("TEXT", "IMAGE"),
        profile_only=True,
    )


_RETIRED = Lifecycle(retired=True)
_SERVICES = {
    "stability.stable-image-inpaint-v1:0": "Stable Image Inpaint",
    "stability.stable-outpaint-v1:0": "Stable Outpaint",
    "stability.stable-image-erase-object-v1:0": "Stable Image Erase Object",
    "stability.stable-image-remove-background-v1:0": "Stable Image Remove Background",
    "stability.stable-image-search-replace-v1:0": "Stable Image Search and Replace",
    "stability.stable-image-search-recolor-v1:0": "Stable Image Search and Recolor",
    "stability.stable-image-control-sketch-v1:0": "Stable Image Control Sketch",
    "stability.stable-image-control-structure-v1:0": "Stable Image Control Structure",
    "stability.stable-image-style-guide-v1:0": "Stable Image Style Guide",
    "stability.stable-style-transfer-v1:0": "Stable Style Transfer",
    "stability.stable-creative-upscale-v1:0": "Stable Creative Upscale",
    "stability.stable-conservative-upscale-v1:0": "Stable Conservative Upscale",
    "stability.stable-fast-upscale-v1:0": "Stable Fast Upscale",
}

MODELS: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        ModelSpec(
            "amazon.titan-image-generator-v1",
            "Titan Image Generator G1",
            "Amazon",
            "titan",
            Lifecycle(legacy=_AMAZON_LEGACY, end_of_life=_AMAZON_EOL),
            frozenset({"us-east-1", "us-west-2", "eu-west-1", "eu-west-2", "ap-south-1"}),
            _TITAN,
        ),
        ModelSpec(
            "amazon.titan-image-generator-v2:0",
            "Titan Image Generator G1 v2",
            "Amazon",
            "titan",
            Lifecycle(legacy=_AMAZON_LEGACY, end_of_life=_AMAZON_EOL),
            frozenset({"us-east-1", "us-west-2"}),
            _TITAN,
        ),
        ModelSpec(
            "amazon.nova-canvas-v1:0",
            "Nova Canvas",
            "Amazon",
            "nova",
            Lifecycle(legacy=_NOVA_CANVAS_LEGACY, end_of_life=_NOVA_CANVAS_EOL),
            frozenset({"us-east-1", "eu-west-1", "ap-northeast-1"}),
            _NOVA,
        ),
        _stability("stability.stable-image-core-v1:1", "Stable Image Core 1.0", _CORE),
        _stability("stability.stable-image-ultra-v1:1", "Stable Image Ultra 1.0", _ULTRA),
        _stability("stability.sd3-5-large-v1:0", "Stable Diffusion 3.5 Large", _SD35),
        # Earlier versions, replaced by the three above; their end-of-life dates were not confirmed.
        _stability("stability.stable-image-core-v1:0", "Stable Image Core 1.0", _CORE, _RETIRED),
        _stability("stability.stable-image-ultra-v1:0", "Stable Image Ultra 1.0", _ULTRA, _RETIRED),
        _stability("stability.sd3-large-v1:0", "SD3 Large 1.0", _SD35, _RETIRED),
        *(_service(model_id, name) for model_id, name in _SERVICES.items()),
    )
}

# Stable Image Services exist only behind US cross-region profiles (callers in, and routing to, the US regions).
PROFILES: dict[str, InferenceProfile] = {
    f"us.{model_id}": InferenceProfile(f"us.{model_id}", f"US {name}", model_id, _US, _US)
    for model_id, name in _SERVICES.items()
}

# -- resolving an identifier -------------------------------------------------------------------------------

INVALID_MODEL = "The provided model identifier is invalid."
END_OF_LIFE = (
    "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
)
ON_DEMAND_UNSUPPORTED = (
    "Invocation of model ID {model_id} with on-demand throughput isn\u2019t supported. Retry your request with the "
    "ID or ARN of an inference profile that contains this model."
)
_GEO_PREFIX = re.compile(r"^(us|eu|apac|global|us-gov|jp|au|ca)\.")
_FOUNDATION_ARN = re.compile(r"^arn:aws(-[a-z]+)*:bedrock:(?P<region>[a-z0-9-]+)::foundation-model/(?P<id>.+)$")
_PROFILE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:bedrock:(?P<region>[a-z0-9-]+):\d{12}:inference-profile/(?P<id>.+)$")


class CatalogError(Exception):
    """Why an identifier does not reach a model: an error code as Bedrock names it, and its message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    """What an InvokeModel identifier reaches: the model, and the profile it went through (if any)."""

    model: ModelSpec
    profile: InferenceProfile | None = None

    @property
    def quota_key(self) -> str:
        """Bedrock's quotas count per model, and separately per inference profile."""
        return self.profile.profile_id if self.profile else self.model.model_id


def resolve_invocation(identifier: str, region: str, today: date, ended: frozenset[str] = frozenset()) -> Target:
    """The model ``identifier`` reaches for a caller in ``region``, or the CatalogError Bedrock answers with.

    Bedrock looks at the identifier before the body: an id it does not know, or a model it does not offer in
    the caller's region, is an invalid identifier; a model past its end of life (or listed in ``ended``) says so;
    a model that only inference profiles reach says that too.
    """
    target = _target(identifier, region)
    model = target.model
    if _ended(model, today, ended):
        raise CatalogError("ResourceNotFoundException", END_OF_LIFE)
    if target.profile is None and model.profile_only:
        raise CatalogError("ValidationException", ON_DEMAND_UNSUPPORTED.format(model_id=model.model_id))
    return target


def offered(model: ModelSpec, region: str, today: date, ended: frozenset[str] = frozenset()) -> bool:
    """Whether the control plane lists ``model`` in ``region`` today (end-of-life models are gone)."""
    return region in model.regions and not _ended(model, today, ended)


def _ended(model: ModelSpec, today: date, ended: frozenset[str]) -> bool:
    """Whether ``model`` is past its end of life on ``today``, or one the stand-in's knobs ``ended``."""
    return model.model_id in ended or model.lifecycle.status_on(today) == "END_OF_LIFE"


def foundation_model(identifier: str, region: str) -> ModelSpec:
    """The model a GetFoundationModel identifier (an id or a foundation-model ARN) names in ``region``."""
    match = _FOUNDATION_ARN.match(identifier)
    if match is not None and match["region"] != region:
        raise CatalogError("ValidationException", INVALID_MODEL)
    model = MODELS.get(match["id"] if match else identifier)
    if model is None or region not in model.regions:
        raise CatalogError("ValidationException", INVALID_MODEL)
    return model


def inference_profile(identifier: str, region: str) -> InferenceProfile:
    """The system-defined profile an identifier (an id or its ARN) names for a caller in ``region``."""
    match = _PROFILE_ARN.match(identifier)
    profile = PROFILES.get(match["id"] if match else identifier)
    if profile is None or region not in profile.sources or (match is not None and match["region"] != region):
        raise CatalogError("ResourceNotFoundException", f"Inference profile {identifier} not found.")
    return profile


def _target(identifier: str, region: str) -> Target:
    match = _PROFILE_ARN.match(identifier)
    if match is not None:
        if match["region"] != region:
            raise CatalogError("ValidationException", INVALID_MODEL)
        identifier = match["id"]
    if _GEO_PREFIX.match(identifier):
        profile = PROFILES.get(identifier)
        if profile is None or region not in profile.sources:
            raise CatalogError("ValidationException", INVALID_MODEL)
        return Target(MODELS[profile.model_id], profile)
    return Target(foundation_model(identifier, region))
