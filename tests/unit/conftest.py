"""Fixtures of the unit tests (the ones every test needs are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from imagegen_cli import job
from imagegen_cli.waiting import Clock
from tests.unit.cli_http import CannedServer, running_server


@pytest.fixture
def server() -> Iterator[CannedServer]:
    """A canned HTTP server on 127.0.0.1 for the CLI: the API and the presigned image URLs."""
    with running_server() as httpd:
        yield httpd


@dataclass
class FakeClock:
    """Time that passes only when the CLI sleeps: ``sleeps`` records each wait, ``now`` adds them up (each
    second slept counts ``speed`` seconds: a clock where time flies keeps long waits short)."""

    started: float = 1000.0
    speed: float = 1.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.started + sum(self.sleeps) * self.speed

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)

    def clock(self) -> Clock:
        return Clock(now=self.now, sleep=self.sleep)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """`imagegen job --wait` polls on this clock: no test waits for real, and each sleep is on record."""
    fake = FakeClock()
    monkeypatch.setattr(job, "CLOCK", fake.clock())
    return fake
