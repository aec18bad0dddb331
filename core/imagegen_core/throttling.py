"""Living within Bedrock's quota: pace the worker's calls, learn the quota's real rate, hand throttled messages
back to the queue within seconds, and tell API callers how long to back off.

Bedrock's image quotas are small (a few requests per second per account, region and model) and shared by both
functions. Without this module a backlog made each worker invocation fire ten calls at once, most were
throttled, retried in the call, then handed back to SQS for the queue's whole visibility timeout (30 minutes)
and, after ``maxReceiveCount`` receives, dead-lettered although nothing was wrong with them. What happens now
(docs/architecture.md, "Throttling"):

- **Every InvokeModel attempt is watched** (``watch``: botocore's ``before-call`` and ``after-call`` events of
  the Bedrock client, registered once when ``imagegen_core.clients`` creates it), so the in-call retries of
  ``bedrock.invoke`` are seen one by one, in both functions, without a change to how calls are made.
- **The worker paces itself** (``Pacer``): its threads take turns at a rate that starts at the invocation's share
  of the quota (``BEDROCK_REQUESTS_PER_MINUTE`` shared by ``WORKER_MAX_CONCURRENCY`` invocations, one of which
  is usually between two batches), grows additively while calls succeed, up to the whole quota, and shrinks by
  a tenth for each throttled call (AIMD, as TCP does with its window). A message waits for its turn only while
  its invocation has time to spare (``pacing_deadline``); otherwise it is not started (``QuotaWaitTimeout``)
  and handed back.
- **A message the worker gives up on for throttling, or does not start, is handed back soon** (``HandBack``:
  ``ChangeMessageVisibility`` on its receipt handle), after a jittered delay that doubles with its receive
  count, instead of waiting out the queue's visibility timeout.
- **A 429 from the API says how long to wait** (``retry_after``): the backoff the next attempt would have had,
  doubling with each throttled call in a row that the container saw, capped by ``RETRY_AFTER_SECONDS``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from imagegen_core import bedrock
from imagegen_core.errors import ThrottledError
from imagegen_core.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from imagegen_core.config import WorkerSettings

# The pace never drops below one call a minute: a quota that throttles everything is still probed.
FLOOR_PER_SECOND = 1 / 60
# Exponents are bounded so that a long streak or a high receive count cannot overflow a float.
_MAX_DOUBLINGS = 32


class QuotaWaitTimeout(Exception):
    """No turn to call Bedrock came before the message's time guard; the message was not started."""


class Pacer:
    """Spaces the calls of a container's threads at a rate that adapts to the quota (AIMD).

    A call takes the next free turn (turns are ``1 / rate`` apart, never bunched: a pause does not save up a
    burst) and sleeps until it. Each success adds ``INCREASE * initial**2 / rate`` to the rate, so the rate
    grows by ``INCREASE * initial`` per ``1 / initial`` seconds whatever it is (a straight line in time, as
    TCP's window grows per round trip); a throttled call multiplies it by ``DECREASE``, unless it took its turn
    before the last cut (it was sent at the old rate, and that cut already answered it: this matters only when
    throttled answers come late, Bedrock's come at once). The rate stays within [floor, ceiling]; the ceiling
    is the whole quota.

    The constants were chosen with bench/drain.py: a gentle cut keeps the quota busy (a throttled call costs
    Bedrock nothing and is retried after a short backoff), while a slow climb keeps throttled calls to about a
    fifth of all calls and hand-backs to a few in a hundred messages (docs/performance.md).
    """

    INCREASE = 0.05
    DECREASE = 0.9

    def __init__(
        self,
        initial: float,
        ceiling: float,
        *,
        floor: float = FLOOR_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < initial <= ceiling:
            raise ValueError(f"the initial rate must be above 0 and at most the ceiling, not {initial} / {ceiling}")
        self.initial = initial
        self.ceiling = ceiling
        self.floor = min(floor, initial)
        self._clock = clock
        self._sleep = sleep
        self._rate = initial
        self._next_turn = clock()
        self._last_cut = -math.inf
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        """Calls per second this container allows itself now."""
        with self._lock:
            return self._rate

    def acquire(self, deadline: float | None = None) -> float | None:
        """Wait for the next turn and return its time; None, taking no turn, if it would come after ``deadline``."""
        with self._lock:
            now = self._clock()
            turn = max(now, self._next_turn)
            if deadline is not None and turn > deadline:
                return None
            self._next_turn = turn + 1 / self._rate
        if turn > now:
            self._sleep(turn - now)
        return turn

    def succeeded(self) -> None:
        with self._lock:
            self._rate = min(self.ceiling, self._rate + self.INCREASE * self.initial**2 / self._rate)

    def throttled(self, turn: float) -> bool:
        """Slow down for a call throttled after taking ``turn``; False when an earlier cut already answered it."""
        with self._lock:
            if turn <= self._last_cut:
                return False
            now = self._clock()
            self._rate = max(self.floor, self._rate * self.DECREASE)
            self._last_cut = now
            self._next_turn = max(self._next_turn, now + 1 / self._rate)
            return True


class ThrottleStreak:
    """Throttled Bedrock calls in a row, container-wide: a success ends the streak."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def record(self, throttled: bool) -> None:
        with self._lock:
            self._count = self._count + 1 if throttled else 0


def retry_after(streak: int, cap: int, uniform: Callable[[float, float], float] = random.uniform) -> int:
    """Seconds for a 429's Retry-After once ``streak`` calls in a row were throttled.

    It is the wait the next in-call retry would have had (``bedrock.invoke`` waits up to base * 2^(n-1) after
    the n-th throttled attempt), so it doubles with every throttled call the container sees and falls back
    once a call succeeds; at most ``cap``, at least 1 s (the header's unit), with equal jitter (between half
    and all of it) so that callers told at the same moment do not come back at the same moment.
    """
    ceiling = min(float(cap), bedrock.BACKOFF_BASE_SECONDS * 2 ** min(max(streak, 0), _MAX_DOUBLINGS))
    return _jittered(ceiling, uniform, cap)


def hand_back_delay(
    receive_count: int, base: int, cap: int, uniform: Callable[[float, float], float] = random.uniform
) -> int:
    """Seconds until a handed-back message is visible again: ``base`` doubled per earlier receive, at most
    ``cap``, equal jitter, a whole number of seconds of at least 1 (ChangeMessageVisibility's unit)."""
    ceiling = min(float(cap), base * 2.0 ** min(max(receive_count, 1) - 1, _MAX_DOUBLINGS))
    return _jittered(ceiling, uniform, cap)


def _jittered(ceiling: float, uniform: Callable[[float, float], float], cap: int) -> int:
    return max(1, min(cap, math.ceil(uniform(ceiling / 2, ceiling))))


def throttling_survived(max_receive_count: int, base: int, cap: int) -> int:
    """The least time (s) a message spends handed back before SQS dead-letters it, when every one of its
    ``max_receive_count`` receives ends throttled: the shortest delay of each hand-back but the last, added up."""
    return sum(hand_back_delay(count, base, cap, lambda low, _: low) for count in range(1, max_receive_count))


def invocations_needed(requests_per_minute: int, seconds_per_call: float) -> int:
    """``WorkerMaxConcurrency`` for a quota: enough invocations to keep its calls in flight (Little's law:
    calls per second x seconds per call), counting on 5 of each invocation's batch of 10 being in flight over
    a batch (the last calls of a batch leave threads idle), plus one invocation between two batches; at
    least 2, AWS's minimum. docs/operations.md#sizing-the-worker."""
    in_flight = requests_per_minute / 60 * seconds_per_call
    return max(2, math.ceil(in_flight / 5) + 1)


class HandBack:
    """Makes a message the worker could not finish visible again soon, on its receipt handle.

    The delay grows with the message's receive count (``hand_back_delay``). If the call fails, the message
    keeps the queue's visibility timeout: slower, never lost. The SQS client is asked for on the first hand
    back (``imagegen_core.clients`` creates it once and shares it between threads).
    """

    def __init__(
        self,
        client: Callable[[], SQSClient],
        queue_url: str,
        base_seconds: int,
        max_seconds: int,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._client = client
        self.queue_url = queue_url
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self._uniform = uniform

    @classmethod
    def for_worker(cls, client: Callable[[], SQSClient], settings: WorkerSettings) -> HandBack:
        return cls(client, settings.queue_url, settings.hand_back_base_seconds, settings.hand_back_max_seconds)

    def soon(self, receipt_handle: str, receive_count: int, reason: str) -> int | None:
        """Hand the message back; the seconds until it is visible again, None if it keeps the queue's timeout."""
        delay = hand_back_delay(receive_count, self.base_seconds, self.max_seconds, self._uniform)
        try:
            self._client().change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "handing the message back failed; it waits out the queue's visibility timeout",
                extra={"reason": reason, "error": str(exc)},
            )
            return None
        metrics.add_metric(name="MessagesHandedBack", unit=MetricUnit.Count, value=1)
        logger.info(
            "handed back to the queue",
            extra={"reason": reason, "visible_in_seconds": delay, "receive_count": receive_count},
        )
        return delay


# -- the container's state: one pacer (the worker's) and one streak, shared by its threads ---------------------

_pacer: Pacer | None = None
_pacer_lock = threading.Lock()
_streak = ThrottleStreak()
_deadline: ContextVar[float | None] = ContextVar("imagegen_pacing_deadline", default=None)
_TURN = "imagegen_pacer_turn"  # where a call's turn is kept in botocore's per-request context
_SENT = "imagegen_sent_at"  # when the call left, after any wait for its turn


def pace(settings: WorkerSettings) -> Pacer | None:
    """The container's pacer for the worker (None without a quota): made by the first batch and kept, so what a
    warm container has learnt about the quota carries over to its next invocation."""
    global _pacer
    quota = settings.bedrock_requests_per_minute / 60
    if quota <= 0:
        return None
    with _pacer_lock:
        if _pacer is None:
            _pacer = Pacer(initial=quota / max(1, settings.worker_max_concurrency - 1), ceiling=quota)
        return _pacer


def current_streak() -> int:
    """Throttled Bedrock calls in a row in this container."""
    return _streak.count


def report_pace() -> None:
    """The worker's pace as a metric (``BedrockPace``, calls per second), once per batch."""
    if _pacer is not None:
        metrics.add_metric(name="BedrockPace", unit=MetricUnit.CountPerSecond, value=round(_pacer.rate, 3))


@contextmanager
def pacing_deadline(seconds: float) -> Iterator[None]:
    """Within the block, this thread's Bedrock calls wait for their turn at most ``seconds`` from now."""
    token = _deadline.set(time.monotonic() + max(0.0, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def reset_throttling() -> None:
    """Forget the pacer and the streak (a fresh container; tests use it)."""
    global _pacer, _streak
    with _pacer_lock:
        _pacer = None
    _streak = ThrottleStreak()


def watch(client: Any) -> Any:
    """Register the hooks on a Bedrock runtime client's InvokeModel calls; returns the client."""
    hooks = _Hooks(client.meta.region_name)
    client.meta.events.register("before-call.bedrock-runtime.InvokeModel", hooks.before_call)
    client.meta.events.register("after-call.bedrock-runtime.InvokeModel", hooks.after_call)
    return client


class _Hooks:
    def __init__(self, region: str) -> None:
        self._region = region

    def before_call(self, context: dict[str, Any], **_: Any) -> None:
        """Wait for the pacer's turn (the worker only); returning None lets botocore send the request."""
        pacer = _pacer
        if pacer is not None:
            turn = pacer.acquire(_deadline.get())
            if turn is None:
                raise QuotaWaitTimeout("no turn to call Bedrock came before the time guard")
            context[_TURN] = (pacer, turn)
        context[_SENT] = time.perf_counter()

    def after_call(self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """Learn from the answer: a success or a throttle (timeouts and other errors teach nothing here)."""
        if http_response.status_code < 300:
            throttled = False
            # The call alone, without the waits for a turn or between attempts that BedrockLatency includes:
            # the seconds per call that sizing the worker needs (docs/operations.md#sizing-the-worker).
            sent = context.get(_SENT)
            if sent is not None:
                elapsed_ms = (time.perf_counter() - sent) * 1000
                metrics.add_metric(name="BedrockCallLatency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
        elif self._is_throttling(parsed):
            throttled = True
            metrics.add_metric(name="BedrockThrottled", unit=MetricUnit.Count, value=1)
        else:
            return
        _streak.record(throttled)
        paced = context.get(_TURN)
        if paced is not None:
            pacer, turn = paced
            if throttled:
                pacer.throttled(turn)
            else:
                pacer.succeeded()

    def _is_throttling(self, parsed: dict[str, Any]) -> bool:
        """The same verdict as the caller will get: ``bedrock.error_from`` decides what throttling is."""
        error = bedrock.error_from(ClientError(parsed, "InvokeModel"), "", self._region)  # type: ignore[arg-type]
        return isinstance(error, ThrottledError)
