"""The polling schedule of wait(), on a simulated clock."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

import wan_i2v
from wan_i2v._constants import POLL_FIRST_DELAY, POLL_GROWTH, POLL_JITTER, POLL_MAX_DELAY
from wan_i2v._deadline import MIN_REQUEST_SECONDS
from wan_i2v._polling import Waiter
from wan_i2v._task import Task

TASK_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def task(status: str, videos: tuple[str, ...] = ()) -> Task:
    return Task(id=TASK_ID, status=status, created_at=NOW, updated_at=NOW, videos=videos)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def schedule(waiter: Waiter, clock: Clock, polls: int) -> list[float]:
    delays = []
    for _ in range(polls):
        delay = waiter.next_delay()
        delays.append(delay)
        clock.now += delay
        waiter.observe(task("running"))
    return delays


@pytest.mark.parametrize("rng", [0.0, 0.5, 1.0])
def test_schedule_starts_at_two_seconds_and_grows_to_the_cap(rng: float) -> None:
    """First check ~2 s after create, growing by half each time, never above ~12 s."""
    clock = Clock()
    waiter = Waiter(task("pending"), timeout=900, clock=clock, rng=lambda: rng)
    delays = schedule(waiter, clock, 12)
    jitter = 1 + POLL_JITTER * (2 * rng - 1)
    assert delays[0] == pytest.approx(POLL_FIRST_DELAY * jitter)
    assert delays[1] == pytest.approx(POLL_FIRST_DELAY * POLL_GROWTH * jitter)
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert delays[-1] == pytest.approx(POLL_MAX_DELAY * jitter)


def test_resuming_by_id_checks_at_once() -> None:
    """wait(task_id) asks immediately: the task may have finished long ago."""
    waiter = Waiter(TASK_ID, timeout=60, clock=Clock())
    assert waiter.next_delay() == 0


def test_last_check_lands_on_the_deadline_then_times_out() -> None:
    """No sleep runs past the deadline: the last check starts a request's minimum time
    before it (so it ends by the deadline), and the next call raises WaitTimeoutError."""
    clock = Clock()
    waiter = Waiter(task("pending"), timeout=5, clock=clock, rng=lambda: 0.5)
    total = 0.0
    with pytest.raises(wan_i2v.WaitTimeoutError) as info:
        while True:
            delay = waiter.next_delay()
            total += delay
            clock.now += delay
            waiter.observe(task("processing"))
    assert total == pytest.approx(5 - MIN_REQUEST_SECONDS)
    assert info.value.last_status == "processing"


def test_fixed_interval_is_respected() -> None:
    """poll_interval=N polls every N seconds exactly, no growth, no jitter."""
    clock = Clock()
    waiter = Waiter(task("pending"), timeout=100, poll_interval=7, clock=clock)
    assert schedule(waiter, clock, 4) == [7, 7, 7, 7]


def test_rate_limited_poll_waits_at_least_retry_after() -> None:
    """A 429 that outlived the GET's retries stretches the next delay to its Retry-After."""
    import httpx

    from wan_i2v._errors import make_status_error

    clock = Clock()
    waiter = Waiter(task("pending"), timeout=900, clock=clock, rng=lambda: 0.5)
    response = httpx.Response(
        429, headers={"Retry-After": "30"}, request=httpx.Request("GET", "https://x/y")
    )
    error = make_status_error(response, b"")
    assert isinstance(error, wan_i2v.APIError)
    waiter.poll_failed(error)
    assert waiter.next_delay() == 30


def test_on_status_fires_once_per_change() -> None:
    """The callback sees each new status once, the first one included."""
    seen: list[str] = []
    waiter = Waiter(
        task("queued"), timeout=60, clock=Clock(), on_status=lambda t: seen.append(t.status)
    )
    for status in ("queued", "running", "running", "succeeded"):
        waiter.observe(task(status, videos=("https://v/x.mp4",)))
    assert seen == ["queued", "running", "succeeded"]
    assert waiter.result is not None


@pytest.mark.parametrize("value", [-1, float("nan"), "5", True])
def test_a_timeout_that_is_not_seconds_is_refused(value: object) -> None:
    """A negative or non-numeric timeout is a ValidationError naming it."""
    with pytest.raises(wan_i2v.ValidationError, match="timeout"):
        Waiter(TASK_ID, timeout=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("interval", [-5.0, 0, 0.001, 0.49])
def test_poll_interval_below_the_floor_is_raised_to_it(
    interval: float, caplog: pytest.LogCaptureFixture
) -> None:
    """poll_interval below 0.5 s (negative included) is raised to 0.5 s and logged, not
    refused: a fixed interval of 0 would hammer the API."""
    caplog.set_level("INFO", logger="wan_i2v")
    clock = Clock()
    waiter = Waiter(TASK_ID, timeout=60, poll_interval=interval, clock=clock)
    assert waiter.next_delay() == 0  # resuming by id: look at once
    assert [waiter.next_delay() for _ in range(3)] == [0.5, 0.5, 0.5]
    assert "raised to the floor" in caplog.text


def test_unknown_status_is_not_finished_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """A new status word means 'still running', with one warning, never a crash."""
    waiter = Waiter(TASK_ID, timeout=60, clock=Clock())
    for _ in range(3):
        waiter.observe(task("paused_for_review_xyz"))
    assert waiter.result is None
    assert sum("paused_for_review_xyz" in r.getMessage() for r in caplog.records) == 1
