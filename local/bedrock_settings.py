"""The Bedrock stand-in's knobs, on the project's one settings approach (``imagegen_core.env_settings``).

Each knob is a field of :class:`StandinSettings`, an environment variable ``BEDROCK_STANDIN_<FIELD>`` and a
command-line flag ``--<field-with-dashes>``. Word lists are comma-separated. Only the generic settings base
comes from the core; the stand-in's model knowledge lives in :mod:`local.bedrock_catalog`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BeforeValidator

from imagegen_core.env_settings import ConfigError, EnvSettings, between, checked
from local.bedrock_formats import FAILURES
from local.png import DETAILS

__all__ = ["BAD_OUTPUTS", "OUTAGE_STATUSES", "ConfigError", "StandinSettings"]

BAD_OUTPUTS = ("corrupt", "not-png", "fewer")
OUTAGE_STATUSES = (429, 500, 502, 503, 504)
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def _words(value: Any) -> tuple[str, ...]:
    """A word list from a comma-separated string or any iterable of strings; blanks are dropped."""
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    return tuple(str(word).strip() for word in items if str(word).strip())


def _one_of(choices: Iterable[Any], *, empty: bool = False) -> BeforeValidator:
    allowed = tuple(choices)

    def parse(value: Any) -> Any:
        if empty and value in ("", None):
            return ""
        match = next((choice for choice in allowed if str(choice) == str(value).strip()), None)
        if match is None:
            names = ", ".join(str(choice) for choice in allowed)
            raise ValueError(f"must be one of {names}{' (or empty)' if empty else ''}")
        return match

    return BeforeValidator(parse)


def _iso_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("must be an ISO date such as 2026-06-01") from None


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError("not an AWS region name such as us-west-2")
    return value


Words = Annotated[tuple[str, ...], BeforeValidator(_words)]
Rate = Annotated[float, between(0.0, 1.0)]


class StandinSettings(EnvSettings):
    """The knobs (docs/bedrock-standin.md explains each). Defaults: a truthful, fast, fault-free Bedrock."""

    env_prefix: ClassVar[str] = "BEDROCK_STANDIN_"

    latency_ms: Annotated[int, between(0, 3_600_000)] = 0
    throttle_rate: Rate = 0.0
    error_rate: Rate = 0.0
    random_seed: Annotated[int, between(0, 2**63 - 1)] = 0
    filter_words: Words = ("forbidden",)
    output_filter_words: Words = ("unsafe-output",)
    throttle_words: Words = ("throttle-me",)
    error_words: Words = ("timeout-me",)
    eol_models: Words = ()
    image_detail: Annotated[str, _one_of(DETAILS)] = "noisy"
    fail_with: Annotated[str, _one_of(FAILURES, empty=True)] = ""  # every call then fails with this error
    # The date the stand-in believes it is (end of life, Legacy); None: today's date, as Bedrock would.
    today: Annotated[date | None, BeforeValidator(_iso_date)] = None
    # The region assumed when a request does not say (a Bedrock API key; invoke() without HTTP).
    region: Annotated[str, checked(_region)] = "us-west-2"
    quota_rps: Annotated[float, between(0.0, 1_000_000.0)] = 0.0  # 0: no quota
    quota_burst: Annotated[int, between(1, 1_000_000)] = 1
    outage_rate: Rate = 0.0
    outage_words: Words = ("outage-me",)
    outage_status: Annotated[int, _one_of(OUTAGE_STATUSES)] = 503
    bad_output: Annotated[str, _one_of(BAD_OUTPUTS, empty=True)] = ""  # every image answer is then spoilt so
    corrupt_words: Words = ("corrupt-me",)
    not_png_words: Words = ("not-png-me",)
    fewer_words: Words = ("fewer-me",)
    # A fresh account: no AWS Marketplace model subscribed yet (Stability's answer AccessDeniedException until
    # an access key id of marketplace_subscribers invokes them, which subscribes the account).
    marketplace_unsubscribed: bool = False
    marketplace_subscribers: Words = ()  # access key ids allowed aws-marketplace:Subscribe and ViewSubscriptions

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """As ``EnvSettings.from_env``, except that a word-list variable set but blank means "no words"
        (``BEDROCK_STANDIN_FILTER_WORDS=`` turns the input filter off) rather than "the default"."""
        env = os.environ if env is None else env
        emptied = {
            name: ()
            for name in cls.word_lists()
            if name not in overrides and cls.env_name(name) in env and not env[cls.env_name(name)].strip()
        }
        return super().from_env(env, **emptied, **overrides)

    @classmethod
    def word_lists(cls) -> tuple[str, ...]:
        return tuple(name for name, field in cls.model_fields.items() if isinstance(field.default, tuple))

    def with_changes(self, **changes: Any) -> StandinSettings:
        """These settings with ``changes`` applied and validated; an unknown knob is a TypeError."""
        unknown = sorted(set(changes) - set(type(self).model_fields))
        if unknown:
            raise TypeError(f"unknown Bedrock stand-in knob(s): {', '.join(unknown)}")
        return type(self).from_env({}, **{**self.model_dump(), **changes})

    def date_today(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> date:
        """The date the stand-in goes by: the ``today`` knob, else the real (UTC) date."""
        return self.today or now().date()
