"""The Bedrock image models the service knows, as data: request format, lifecycle, regions and limits.

One table (``MODELS``) drives validation (``limits``), the default deployment (``DEFAULT_MODEL_ID`` in
``DEFAULT_REGION``), ``GET /config`` and the deployer's preflight. A model id that is not in the table but
belongs to a known family (``amazon.titan-image-generator-*``, ``amazon.nova-canvas-*``, ``stability.*``)
works with its family's limits (``FAMILY_LIMITS``). Cross-region inference profile ids (``us.``, ``eu.``,
``apac.``, ``global.``) and inference-profile ARNs resolve to their foundation model.

The facts and their sources are in docs/models.md; what Bedrock says at run time always wins (the service
calls whatever it is configured with and maps Bedrock's answer). The Bedrock stand-in keeps its own copy of
these rules on purpose, so that a mistake here fails a test instead of being copied into the fake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

Status = Literal["ACTIVE", "LEGACY", "END_OF_LIFE", "UNKNOWN"]
Size = tuple[int, int]

_GEO_PREFIX = re.compile(r"^(us|eu|apac|global|us-gov|jp|au|ca)\.")
_PROFILE_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:(inference-profile|foundation-model)/(?P<id>.+)$")

# The sizes of the Amazon TEXT_IMAGE format that Titan Image Generator accepts (Nova Canvas takes these too).
TITAN_SIZES: tuple[Size, ...] = (
    (1024, 1024), (768, 768), (512, 512),
    (768, 1152), (384, 576), (1152, 768), (576, 384),
    (768, 1280), (384, 640), (1280, 768), (640, 384),
    (896, 1152), (448, 576), (1152, 896), (576, 448),
    (768, 1408), (384, 704), (1408, 768), (704, 384),
    (640, 1408), (320, 704), (1408, 640), (704, 320),
    (1152, 640), (1173, 640),
)  # fmt: skip
# Stability's text-to-image models take an aspect ratio, not a size: each ratio and the ~1 megapixel size the
# models make for it.
STABILITY_ASPECT_RATIOS: dict[Size, str] = {
    (1024, 1024): "1:1",
    (1344, 768): "16:9",
    (768, 1344): "9:16",
    (1536, 640): "21:9",
    (640, 1536): "9:21",
    (1216, 832): "3:2",
    (832, 1216): "2:3",
    (1088, 896): "5:4",
    (896, 1088): "4:5",
}
STABILITY_SIZES: tuple[Size, ...] = tuple(STABILITY_ASPECT_RATIOS)


@dataclass(frozen=True)
class Limits:
    """What one model accepts; validation checks every request against the configured model's limits."""

    prompt_max_chars: int
    negative_prompt_max_chars: int
    seed_max: int  # seeds are 0..seed_max
    sizes: tuple[Size, ...]
    max_images: int  # images per call
    options: frozenset[str] = frozenset()  # request fields beyond the common ones: cfg_scale, quality


@dataclass(frozen=True)
class Lifecycle:
    """Bedrock's lifecycle dates; the status on a given day follows from them."""

    legacy_since: date | None = None
    end_of_life: date | None = None
    known: bool = True  # False for an id the table does not list

    def status_on(self, day: date) -> Status:
        if not self.known:
            return "UNKNOWN"
        if self.end_of_life is not None and day >= self.end_of_life:
            return "END_OF_LIFE"
        if self.legacy_since is not None and day >= self.legacy_since:
            return "LEGACY"
        return "ACTIVE"


@dataclass(frozen=True)
class ModelSpec:
    model_id: str  # the foundation model id (no profile prefix)
    name: str
    family: str  # the request format: "amazon" or "stability"
    limits: Limits
    regions: tuple[str, ...] = ()  # where it can be invoked on demand, in-region
    lifecycle: Lifecycle = field(default_factory=Lifecycle)


AMAZON_LIMITS = Limits(
    prompt_max_chars=512,
    negative_prompt_max_chars=512,
    seed_max=2_147_483_646,
    sizes=TITAN_SIZES,
    max_images=5,
    options=frozenset({"cfg_scale", "quality"}),
)
STABILITY_LIMITS = Limits(
    prompt_max_chars=10_000,
    negative_prompt_max_chars=10_000,
    seed_max=4_294_967_294,  # SD3.5 Large's maximum, the lowest of the family
    sizes=STABILITY_SIZES,
    max_images=1,
)
# Model ids by family (the prefix decides), and what an unlisted id of the family is held to.
FAMILY_PREFIXES: dict[str, tuple[str, ...]] = {
    "amazon": ("amazon.titan-image-generator", "amazon.nova-canvas"),
    "stability": ("stability.",),
}
FAMILY_LIMITS: dict[str, Limits] = {"amazon": AMAZON_LIMITS, "stability": STABILITY_LIMITS}

_CORE_ULTRA_LIMITS = replace(STABILITY_LIMITS, seed_max=4_294_967_295)
_TITAN_REGIONS = ("us-east-1", "us-west-2", "ap-south-1", "eu-west-1", "eu-west-2", "eu-central-1", "ap-northeast-1")
_TITAN_EOL = Lifecycle(end_of_life=date(2026, 6, 30))
_STABILITY_REGIONS = ("us-west-2",)

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "stability.stable-image-core-v1:1",
        "Stable Image Core",
        "stability",
        _CORE_ULTRA_LIMITS,
        _STABILITY_REGIONS,
    ),
    ModelSpec(
        "stability.stable-image-ultra-v1:1",
        "Stable Image Ultra",
        "stability",
        _CORE_ULTRA_LIMITS,
        _STABILITY_REGIONS,
    ),
    ModelSpec(
        "stability.sd3-5-large-v1:0", "Stable Diffusion 3.5 Large", "stability", STABILITY_LIMITS, _STABILITY_REGIONS
    ),
    ModelSpec(
        "amazon.nova-canvas-v1:0",
        "Nova Canvas",
        "amazon",
        Limits(1024, 1024, 858_993_459, TITAN_SIZES, 5, AMAZON_LIMITS.options),
        ("us-east-1", "eu-west-1", "ap-northeast-1"),
        Lifecycle(end_of_life=date(2026, 9, 30)),
    ),
    ModelSpec(
        "amazon.titan-image-generator-v2:0", "Titan Image Generator G1 v2", "amazon", AMAZON_LIMITS, _TITAN_REGIONS,
        _TITAN_EOL,
    ),
    ModelSpec(
        "amazon.titan-image-generator-v1", "Titan Image Generator G1", "amazon", AMAZON_LIMITS, _TITAN_REGIONS,
        _TITAN_EOL,
    ),
)  # fmt: skip
BY_ID = {spec.model_id: spec for spec in MODELS}

DEFAULT_MODEL_ID = "stability.stable-image-core-v1:1"
DEFAULT_REGION = "us-west-2"

# The widest limits of any family: the request model's own bounds (a model's limits are checked after).
PROMPT_MAX_CHARS = max(limits.prompt_max_chars for limits in FAMILY_LIMITS.values())
SEED_MAX = max(spec.limits.seed_max for spec in MODELS)
MAX_IMAGES = max(limits.max_images for limits in FAMILY_LIMITS.values())


def foundation_model_id(model_id: str) -> str:
    """The foundation model behind ``model_id``: without a profile's geography prefix or an ARN around it."""
    match = _PROFILE_ARN.match(model_id)
    base = match["id"] if match else model_id
    return _GEO_PREFIX.sub("", base)


def is_inference_profile(model_id: str) -> bool:
    return foundation_model_id(model_id) != model_id.rsplit("/", 1)[-1]


def family_of(model_id: str) -> str:
    """The request format of ``model_id``; ValueError naming the supported ids when it has none."""
    base_id = foundation_model_id(model_id)
    for family, prefixes in FAMILY_PREFIXES.items():
        if base_id.startswith(prefixes):
            return family
    known = ", ".join(prefix + "*" for prefixes in FAMILY_PREFIXES.values() for prefix in prefixes)
    raise ValueError(f"unsupported model id {model_id!r}; supported: {known}")


def spec_for(model_id: str) -> ModelSpec:
    """The table's entry for ``model_id``, or its family's limits for an id the table does not list."""
    base_id = foundation_model_id(model_id)
    spec = BY_ID.get(base_id)
    if spec is not None:
        return spec
    family = family_of(model_id)
    return ModelSpec(base_id, base_id, family, FAMILY_LIMITS[family], lifecycle=Lifecycle(known=False))


def live_models(day: date) -> list[ModelSpec]:
    """The listed models that are neither legacy nor past their end of life on ``day``."""
    return [spec for spec in MODELS if spec.lifecycle.status_on(day) == "ACTIVE"]


def as_document() -> dict[str, object]:
    """The catalog as plain JSON data, for clients that cannot import the core (the CLI's preflight)."""
    return {
        "default_model_id": DEFAULT_MODEL_ID,
        "default_region": DEFAULT_REGION,
        "family_prefixes": {family: list(prefixes) for family, prefixes in FAMILY_PREFIXES.items()},
        "models": [
            {
                "model_id": spec.model_id,
                "name": spec.name,
                "family": spec.family,
                "regions": list(spec.regions),
                "legacy_since": spec.lifecycle.legacy_since and spec.lifecycle.legacy_since.isoformat(),
                "end_of_life": spec.lifecycle.end_of_life and spec.lifecycle.end_of_life.isoformat(),
            }
            for spec in MODELS
        ],
    }


if __name__ == "__main__":  # python -m imagegen_core.catalog > cli/src/imagegen_cli/models.json (make catalog)
    import json

    print(json.dumps(as_document(), indent=2))
