"""The wait of `imagegen job --wait`, on a fake clock: when it looks, how long it sleeps, what ends it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagegen_cli.errors import ApiError, JobNotFound, NetworkError, StillRunning
from imagegen_cli.jobs_api import Job
from imagegen_cli.waiting import Backoff, wait_for_job
from tests.unit.conftest import FakeClock

JOB_ID = "job-1"


def job(status: str, attempts: int = 0) -> Job:
    return Job(JOB_ID, status, {"job_id": JOB_ID, "status": status, "attempts": attempts})


def answers(*steps: Job | Exception) -> Callable[[], Job]:
    """A fetch that gives each step in turn (raising the exceptions), then the last one for ever."""
    remaining: Iterator[Job | Exception] = iter(steps)
    last: list[Job | Exception] = [steps[-1]]

    def fetch() -> Job:
        step = next(remaining, last[0])
        if isinstance(step, Exception):
            raise step
        return step

    return fetch


def not_found() -> JobNotFound:
    return JobNotFound(JOB_ID, ApiError("not_found", "no job", status=404))


def test_the_first_look_is_immediate_and_the_delays_grow_by_half_up_to_8_seconds() -> None:
    # given
    delays = Backoff().delays()
    # when
    first = [next(delays) for _ in range(9)]
    # then
    assert first == [1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 8.0, 8.0, 8.0]


def test_a_job_already_finished_is_returned_without_sleeping() -> None:
    # given
    clock = FakeClock()
    # when
    done = wait_for_job(answers(job("succeeded")), JOB_ID, 60, clock=clock.clock())
    # then
    assert done.status == "succeeded"
    assert clock.sleeps == []


def test_each_new_status_or_attempt_is_reported_once() -> None:
    # given
    clock = FakeClock()
    seen: list[tuple[str, int | None]] = []
    steps = [job("queued"), job("queued"), job("running", 1), job("running", 1), job("running", 2), job("failed", 2)]
    # when
    done = wait_for_job(
        answers(*steps), JOB_ID, 60, clock=clock.clock(), on_change=lambda j: seen.append((j.status, j.attempts))
    )
    # then
    assert done.status == "failed"
    assert seen == [("queued", 0), ("running", 1), ("running", 2)]


@given(timeout=st.floats(min_value=0.001, max_value=10_000), first=st.floats(0.01, 5), most=st.floats(5, 60))
def test_the_wait_never_sleeps_past_its_timeout_and_ends_still_running(
    timeout: float, first: float, most: float
) -> None:
    # given
    clock = FakeClock()
    # when
    with pytest.raises(StillRunning) as raised:
        wait_for_job(
            answers(job("running", 1)), JOB_ID, timeout, clock=clock.clock(), backoff=Backoff(first, 1.5, most)
        )
    # then
    assert sum(clock.sleeps) == pytest.approx(timeout)
    assert all(0 < sleep <= most for sleep in clock.sleeps)
    assert raised.value.exit_code == 7
    assert "still running" in str(raised.value)


def test_a_network_blip_is_ridden_out() -> None:
    # given
    clock = FakeClock()
    fetch = answers(NetworkError("connection refused"), NetworkError("connection refused"), job("succeeded"))
    # when
    done = wait_for_job(fetch, JOB_ID, 60, clock=clock.clock())
    # then
    assert done.status == "succeeded"
    assert clock.sleeps == [1.0, 1.5]


def test_a_404_after_the_job_was_seen_ends_the_wait_at_once() -> None:
    # given (the job expired, or the URL now points elsewhere: no grace for that)
    clock = FakeClock()
    # when / then
    with pytest.raises(JobNotFound):
        wait_for_job(answers(job("running", 1), not_found()), JOB_ID, 600, clock=clock.clock())
    assert clock.sleeps == [1.0]


def test_a_404_is_raised_at_the_timeout_when_that_comes_before_the_grace() -> None:
    # given
    clock = FakeClock()
    # when / then
    with pytest.raises(JobNotFound):
        wait_for_job(answers(not_found()), JOB_ID, 5, clock=clock.clock())
    assert sum(clock.sleeps) == pytest.approx(5)


def test_a_retry_after_longer_than_the_backoff_is_honoured_but_bounded() -> None:
    # given
    clock = FakeClock()
    throttled = ApiError("throttled", "slow down", status=429, retry_after="3600")
    # when
    wait_for_job(answers(throttled, job("succeeded")), JOB_ID, 600, clock=clock.clock())
    # then
    assert clock.sleeps == [60.0]


@pytest.mark.parametrize("retry_after", ["soon", "nan", "-5", "inf", ""])
def test_a_retry_after_that_is_no_number_of_seconds_is_ignored(retry_after: str) -> None:
    # given
    clock = FakeClock()
    throttled = ApiError("throttled", "slow down", status=429, retry_after=retry_after)
    # when
    wait_for_job(answers(throttled, job("succeeded")), JOB_ID, 600, clock=clock.clock())
    # then
    assert clock.sleeps == [1.0]


def test_a_bad_answer_ends_the_wait_at_once() -> None:
    # given
    clock = FakeClock()
    bad = ApiError("bad_response", "the answer is not JSON", status=200)
    # when / then
    with pytest.raises(ApiError, match="not JSON"):
        wait_for_job(answers(job("queued"), bad), JOB_ID, 600, clock=clock.clock())
    assert clock.sleeps == [1.0]
