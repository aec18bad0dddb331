"""Settings from environment variables: one approach for the functions, the local stack and its stand-ins.

A settings class is a frozen pydantic model whose fields are read from ``<env_prefix><FIELD NAME>``
(upper case). A variable that is unset or blank leaves the field's default; a field without a default is
required. Whatever pydantic rejects becomes one ``ConfigError`` naming every variable at fault, e.g.
``environment variable BUCKET_NAME is required but not set`` or
``environment variable WORKER_CONCURRENCY='0' is invalid: must be between 1 and 100``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class EnvSettings(BaseModel):
    """Base class: subclass it, declare fields with defaults and rules, then call ``from_env()``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    env_prefix: ClassVar[str] = ""
    env_names: ClassVar[Mapping[str, str]] = {}  # fields whose variable is not <env_prefix><FIELD>

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable that sets ``field``."""
        return cls.env_names.get(field) or f"{cls.env_prefix}{field.upper()}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """The settings in ``env`` (default: the process environment); ``overrides`` win over it."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field in cls.model_fields:
            raw = env.get(cls.env_name(field), "").strip()
            if raw:
                values[field] = raw
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError("; ".join(cls._problem(error, values) for error in exc.errors())) from None

    @classmethod
    def _problem(cls, error: Any, values: Mapping[str, Any]) -> str:
        field = str(error["loc"][0]) if error["loc"] else ""
        name = cls.env_name(field) if field else cls.__name__
        if error["type"] == "missing":
            return f"environment variable {name} is required but not set"
        reason = str(error["msg"]).removeprefix("Value error, ")
        return f"environment variable {name}={values.get(field)!r} is invalid: {reason}"


def between(low: float, high: float) -> BeforeValidator:
    """A number field's check: read from text, in [low, high], with the messages people expect of a variable.

    Int bounds check an int field, ``Annotated[int, between(1, 10)]``: "not an integer", "must be between 1
    and 10". A float bound checks a float field, ``Annotated[float, between(0.0, 1.0)]``: "not a number",
    "must be between 0 and 1" (the bounds in ``%g`` form). A bool is refused either way, though Python counts
    it as a number: as "not an integer" for an int field, as out of range for a float field.
    """
    if isinstance(low, float) or isinstance(high, float):
        read: Callable[[Any], float] = float
        not_a_number, out_of_range = "not a number", f"must be between {low:g} and {high:g}"
        not_a_bool = out_of_range
    else:
        read, not_a_number, out_of_range = int, "not an integer", f"must be between {low} and {high}"
        not_a_bool = not_a_number

    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(not_a_bool)
        try:
            number = read(value)
        except (TypeError, ValueError):
            raise ValueError(not_a_number) from None
        if not low <= number <= high:
            raise ValueError(out_of_range)
        return number

    return BeforeValidator(parse)


def checked(check: Callable[[str], str]) -> AfterValidator:
    """A text field's check, ``Annotated[str, checked(fn)]``: ``fn`` returns the value or raises ValueError."""
    return AfterValidator(check)
