"""Living within Bedrock's quota, piece by piece: the pacer's AIMD, the hand-back delays, Retry-After, sizing."""

from __future__ import annotations

import itertools
import math
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegen_core.throttling import (
    HandBack,
    Pacer,
    hand_back_delay,
    invocations_needed,
    retry_after,
    throttling_survived,
)


class FakeTime:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(time: FakeTime, initial: float = 2.0, ceiling: float = 8.0, floor: float = 0.1) -> Pacer:
    return Pacer(initial, ceiling, floor=floor, clock=time.clock, sleep=time.sleep)


def turn_of(paced: Pacer) -> float:
    """A turn taken without a deadline (which always comes)."""
    turn = paced.acquire()
    assert turn is not None
    return turn


# -- the pacer -------------------------------------------------------------------------------------------------


def test_calls_take_turns_one_interval_apart_and_the_first_goes_at_once() -> None:
    # given a pacer at 2 calls a second
    time = FakeTime()
    paced = pacer(time)

    # when three calls take their turns
    turns = [paced.acquire() for _ in range(3)]

    # then they went at 0, 0.5 and 1 s
    assert turns == [100.0, 100.5, 101.0]
    assert time.slept == [0.5, 0.5]


def test_a_pause_saves_up_no_burst() -> None:
    # given a call, then ten idle seconds
    time = FakeTime()
    paced = pacer(time)
    paced.acquire()
    time.now += 10

    # when two more calls come
    turns = [paced.acquire() for _ in range(2)]

    # then the second still waits its interval
    assert turns == [110.0, 110.5]


def test_a_turn_after_the_deadline_is_refused_and_not_taken() -> None:
    # given a pacer whose next turn is 0.5 s away
    time = FakeTime()
    paced = pacer(time)
    paced.acquire()

    # when a call may wait 0.2 s only, then one may wait 1 s
    refused = paced.acquire(deadline=time.now + 0.2)
    accepted = paced.acquire(deadline=time.now + 1)

    # then the first gets no turn, and the second gets the turn the first did not take
    assert refused is None
    assert accepted == 100.5


def test_a_throttle_cuts_the_rate_once_for_the_calls_that_were_already_sent() -> None:
    # given three calls sent at the initial rate
    time = FakeTime()
    paced = pacer(time)
    turns = [turn_of(paced) for _ in range(3)]

    # when all three come back throttled
    cuts = [paced.throttled(turn) for turn in turns]

    # then the rate was cut once, by DECREASE: the later two were sent before the cut
    assert cuts == [True, False, False]
    assert paced.rate == pytest.approx(2.0 * Pacer.DECREASE)


def test_a_call_sent_after_a_cut_and_throttled_cuts_again() -> None:
    # given a cut
    time = FakeTime()
    paced = pacer(time)
    paced.throttled(turn_of(paced))

    # when the next call, sent after the cut, is throttled too
    cut = paced.throttled(turn_of(paced))

    # then
    assert cut
    assert paced.rate == pytest.approx(2.0 * Pacer.DECREASE**2)


def test_after_a_cut_the_next_turn_waits_at_least_the_new_interval() -> None:
    # given a pacer at 2 calls a second whose call was throttled
    time = FakeTime()
    paced = pacer(time)
    paced.throttled(turn_of(paced))
    cut_at = time.now

    # when the next call takes its turn
    turn = paced.acquire()

    # then it waits the new, longer interval
    assert turn == pytest.approx(cut_at + 1 / paced.rate)


def test_successes_raise_the_rate_by_the_same_amount_per_second_up_to_the_ceiling() -> None:
    # given a pacer at its initial rate of 2 calls a second
    time = FakeTime()
    paced = pacer(time, initial=2.0, ceiling=3.0)

    # when calls succeed for one second's worth at the current rate
    start = paced.rate
    for _ in range(2):
        paced.succeeded()

    # then the rate grew by about INCREASE x initial per 1 / initial seconds (0.1 per 0.5 s here)
    assert paced.rate - start == pytest.approx(Pacer.INCREASE * 2.0 * 2, rel=0.05)

    # and it never passes the ceiling (the whole quota)
    for _ in range(1000):
        paced.succeeded()
    assert paced.rate == 3.0


def test_throttles_never_push_the_rate_below_the_floor() -> None:
    # given
    time = FakeTime()
    paced = pacer(time, initial=1.0, floor=0.25)

    # when each of many calls, sent after the previous cut, is throttled
    for _ in range(20):
        paced.throttled(turn_of(paced))

    # then
    assert paced.rate == 0.25


def test_the_initial_rate_must_be_positive_and_within_the_ceiling() -> None:
    with pytest.raises(ValueError, match="initial rate"):
        Pacer(0.0, 1.0)
    with pytest.raises(ValueError, match="initial rate"):
        Pacer(2.0, 1.0)


@settings(max_examples=60, deadline=None)
@given(
    initial=st.floats(0.01, 50),
    headroom=st.floats(1, 10),
    outcomes=st.lists(st.tuples(st.booleans(), st.floats(0, 5)), max_size=60),
)
def test_whatever_bedrock_answers_the_rate_stays_between_the_floor_and_the_quota(
    initial: float, headroom: float, outcomes: list[tuple[bool, float]]
) -> None:
    # given a pacer and any sequence of answers, with any time between them
    time = FakeTime()
    paced = Pacer(initial, initial * headroom, clock=time.clock, sleep=time.sleep)

    for throttled, pause in outcomes:
        # when a call takes its turn and comes back
        turn = turn_of(paced)
        if throttled:
            paced.throttled(turn)
        else:
            paced.succeeded()
        time.now += pause

        # then
        assert paced.floor <= paced.rate <= paced.ceiling


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(0.05, 100), calls=st.integers(2, 40))
def test_no_two_turns_are_closer_than_the_interval(rate: float, calls: int) -> None:
    # given a pacer that is never throttled nor told of successes
    time = FakeTime()
    paced = Pacer(rate, rate, clock=time.clock, sleep=time.sleep)

    # when calls take turns
    turns = [turn_of(paced) for _ in range(calls)]

    # then they are spaced exactly one interval apart
    gaps = [b - a for a, b in itertools.pairwise(turns)]
    assert all(gap == pytest.approx(1 / rate) for gap in gaps)


# -- hand-back delays and Retry-After --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(receive_count=st.integers(-5, 2000), base=st.integers(1, 60), cap=st.integers(1, 43_200), low=st.booleans())
def test_a_hand_back_delay_is_half_to_all_of_a_doubling_ceiling_in_whole_seconds(
    receive_count: int, base: int, cap: int, low: bool
) -> None:
    # given the jitter at either end of its range
    def uniform(a: float, b: float) -> float:
        return a if low else b

    # when
    delay = hand_back_delay(receive_count, base, cap, uniform)

    # then
    ceiling = min(cap, base * 2 ** min(max(receive_count, 1) - 1, 32))
    assert isinstance(delay, int)
    assert max(1, math.ceil(ceiling / 2)) <= delay <= ceiling
    assert 1 <= delay <= cap


def test_hand_back_delays_double_with_each_receive_until_the_cap() -> None:
    # given the template's defaults, 2 s doubling to 900 s, and the jitter at its top
    def top(_: float, high: float) -> float:
        return high

    # when
    delays = [hand_back_delay(count, 2, 900, top) for count in range(1, 13)]

    # then
    assert delays == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]


@settings(max_examples=200, deadline=None)
@given(streak=st.integers(-3, 10_000), cap=st.integers(1, 3600), low=st.booleans())
def test_retry_after_is_half_to_all_of_the_next_backoff_capped(streak: int, cap: int, low: bool) -> None:
    # when
    wait = retry_after(streak, cap, (lambda a, _: a) if low else (lambda _, b: b))

    # then it is the backoff the next attempt would have had: 0.5 s doubled per throttled call, at most cap
    ceiling = min(cap, 0.5 * 2 ** min(max(streak, 0), 32))
    assert isinstance(wait, int)
    assert 1 <= wait <= cap
    assert wait <= max(1, math.ceil(ceiling))


def test_the_retry_after_ceiling_grows_with_the_streak() -> None:
    waits = [retry_after(streak, 30, lambda _, high: high) for streak in range(8)]
    assert waits == [1, 1, 2, 4, 8, 16, 30, 30]


# -- sizing ----------------------------------------------------------------------------------------------------


def test_throttling_survived_adds_the_shortest_delay_of_every_hand_back_but_the_last() -> None:
    # given 4 receives, 2 s doubling to 6 s: shortest delays 1, 2 and 3 s before the 4th receive
    assert throttling_survived(4, 2, 6) == 1 + 2 + 3
    assert throttling_survived(1, 2, 6) == 0


@pytest.mark.parametrize(
    ("requests_per_minute", "seconds_per_call", "invocations"),
    [(60, 5, 2), (120, 5, 3), (240, 8, 8), (6, 20, 2), (1200, 0.5, 3)],
)
def test_invocations_needed_keep_the_quotas_calls_in_flight(
    requests_per_minute: int, seconds_per_call: float, invocations: int
) -> None:
    assert invocations_needed(requests_per_minute, seconds_per_call) == invocations


# -- handing a message back ------------------------------------------------------------------------------------


class RecordingSqs:
    """An SQS client that records ChangeMessageVisibility calls, or fails them."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        if self.fail:
            raise ClientError({"Error": {"Code": "ReceiptHandleIsInvalid", "Message": "gone"}}, "ChangeVisibility")
        self.calls.append(params)
        return {}


def test_a_message_is_handed_back_on_its_receipt_handle_after_its_delay() -> None:
    # given
    sqs = RecordingSqs()
    hand_back = HandBack(
        lambda: cast(Any, sqs), "https://queue", base_seconds=2, max_seconds=900, uniform=lambda _, b: b
    )

    # when the message is handed back on its third receive
    delay = hand_back.soon("handle-1", receive_count=3, reason="throttled")

    # then
    assert delay == 8
    assert sqs.calls == [{"QueueUrl": "https://queue", "ReceiptHandle": "handle-1", "VisibilityTimeout": 8}]


def test_a_hand_back_that_fails_leaves_the_message_to_the_visibility_timeout() -> None:
    # given
    hand_back = HandBack(lambda: cast(Any, RecordingSqs(fail=True)), "https://queue", base_seconds=2, max_seconds=900)

    # when / then nothing is raised: the message is retried after the queue's visibility timeout instead
    assert hand_back.soon("handle-1", receive_count=1, reason="throttled") is None
