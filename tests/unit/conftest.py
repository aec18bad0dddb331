"""Fixtures of the unit tests (the ones every test needs are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.cli_http import CannedServer, running_server


@pytest.fixture
def server() -> Iterator[CannedServer]:
    """A canned HTTP server on 127.0.0.1 for the CLI: the API and the presigned image URLs."""
    with running_server() as httpd:
        yield httpd
