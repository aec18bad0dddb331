"""Argument types for argparse: each turns one option's text into a value or says, in one line, why not.

A number that cannot mean anything (zero images, a negative seed, NaN, a timeout of a century) is refused
here, before anything is sent; the service still owns its own limits (which sizes a model takes, the
``cfg_scale`` range) and explains those field by field.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

_WHOLE = re.compile(r"\s*([+-]?)([0-9]+)\s*")
_SIZE = re.compile(r"\s*([0-9]+)\s*[xX]\s*([0-9]+)\s*")


def shown(text: str, limit: int = 40) -> str:
    """The user's text quoted for a message, shortened: a 5,000-digit number needs no echo in full."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high`` (digits only: no 1e3, no 2.5, no 1_000)."""

    def parse(text: str) -> int:
        match = _WHOLE.fullmatch(text)
        if not match:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number")
        sign, digits = match.groups()
        digits = digits.lstrip("0") or "0"
        if len(digits) > len(str(high)) + 1:  # int() of thousands of digits is slow, and pointless here
            raise argparse.ArgumentTypeError(f"{shown(text)} is not between {low} and {high}")
        value = int(sign + digits)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def positive_number(high: float) -> Callable[[str], float]:
    """A finite number above 0 and at most ``high`` (no NaN, no infinity)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a finite number")
        if not 0 < value <= high:
            raise argparse.ArgumentTypeError(f"{value:g} is not above 0 and at most {high:g}")
        return value

    return parse


def image_size(high: int) -> Callable[[str], tuple[int, int]]:
    """``WIDTHxHEIGHT`` in pixels, each from 1 to ``high``."""

    def parse(text: str) -> tuple[int, int]:
        match = _SIZE.fullmatch(text)
        if not match:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not WIDTHxHEIGHT, e.g. 1024x1024")
        width, height = (int(part) if len(part) <= 9 else high + 1 for part in match.groups())
        if not (1 <= width <= high and 1 <= height <= high):
            raise argparse.ArgumentTypeError(f"{shown(text)}: width and height must be from 1 to {high}")
        return width, height

    return parse


def text(what: str) -> Callable[[str], str]:
    """Text that can be sent as UTF-8: a lone surrogate is how Python passes on argv bytes that are not UTF-8."""

    def parse(value: str) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise argparse.ArgumentTypeError(
                f"the {what} holds bytes that are not UTF-8 text (at character {exc.start + 1}); "
                "check the terminal's or the script's encoding"
            ) from None
        return value

    return parse
