"""The one backoff loop behind HTTP retries, WebSocket reconnects and download retries, on a
fake clock: the waits, the cap, jitter, a server's Retry-After, the deadline and the budget."""

from __future__ import annotations

import math

import pytest

from pepperpy_core._backoff import Backoff
from pepperpy_core.testing import FakeClock


def make(clock: FakeClock, max_retries: int | None = 5, **kw: object) -> Backoff:
    options: dict[str, object] = {"base": 1.0, "cap": 4.0, "jitter": False, **kw}
    return Backoff(max_retries, sleep=clock.sleep, clock=clock.time, **options)  # type: ignore[arg-type]


async def run_out(backoff: Backoff, **asked: float) -> list[float]:
    """Sleep every wait the backoff allows; the waits, in order."""
    waits = []
    while (delay := backoff.next_delay(**asked)) is not None:
        waits.append(delay)
        await backoff.sleep(delay)
    return waits


async def test_waits_double_up_to_the_cap_and_stop_when_the_budget_is_spent() -> None:
    """max_retries=5: five waits, base * 2**(n-1) capped at cap; then no sixth."""
    clock = FakeClock()
    backoff = make(clock)
    assert backoff.attempts == 1 and not backoff.exhausted
    assert await run_out(backoff) == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert clock.sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.retries == 5 and backoff.attempts == 6 and backoff.exhausted
    assert backoff.waited == 15.0 and backoff.next_delay() is None


async def test_zero_retries_allows_none_and_none_is_unlimited() -> None:
    """max_retries=0 is the first attempt only; None never runs out."""
    clock = FakeClock()
    assert make(clock, 0).next_delay() is None
    unlimited = make(clock, None)
    for _ in range(100):
        delay = unlimited.next_delay()
        assert delay == (1.0 if unlimited.retries == 0 else min(4.0, 2.0 ** unlimited.retries))
        await unlimited.sleep(delay)
    assert not unlimited.exhausted and unlimited.retries == 100


async def test_full_jitter_draws_below_each_ceiling() -> None:
    """With jitter the wait is the ceiling times the injected random draw."""
    clock = FakeClock()
    backoff = make(clock, 3, jitter=True, random=lambda: 0.25)
    assert await run_out(backoff) == [0.25, 0.5, 1.0]


async def test_retry_after_overrides_the_backoff_up_to_its_maximum() -> None:
    """What the server asks for is waited instead of the backoff, and counts as a retry;
    asking for more than retry_after_max ends the retries without sleeping."""
    clock = FakeClock()
    backoff = make(clock, 3, retry_after_max=10.0)
    assert backoff.next_delay(asked=7.0) == 7.0
    await backoff.sleep(7.0)
    assert backoff.next_delay(asked=0.0) == 0.0
    assert backoff.next_delay(asked=None) == 2.0  # retry 2's backoff: asked only overrides
    assert backoff.next_delay(asked=10.5) is None
    assert clock.sleeps == [7.0] and backoff.retries == 1
    assert make(clock).retry_after_max == math.inf  # by default any Retry-After is waited


async def test_a_wait_that_would_end_past_the_deadline_is_not_started() -> None:
    """deadline=5 s from the first attempt: the time the attempts take counts too."""
    clock = FakeClock()
    backoff = make(clock, 10, deadline=5.0)
    assert backoff.next_delay() == 1.0
    await backoff.sleep(1.0)
    clock.advance(1.5)  # the second attempt took 1.5 s: 2.5 s spent
    assert backoff.next_delay() == 2.0  # ends at 4.5 s
    await backoff.sleep(2.0)
    assert backoff.next_delay() is None  # 4.5 + 4 > 5
    assert backoff.next_delay(asked=0.5) == 0.5  # a short Retry-After still fits
    assert clock.sleeps == [1.0, 2.0]


async def test_the_deadline_counts_from_a_given_start() -> None:
    """start= is when the first attempt began (the HTTP layer reads the clock before it)."""
    clock = FakeClock()
    began = clock.time()
    clock.advance(4.5)
    assert make(clock, deadline=5.0, start=began).next_delay() is None
    assert make(clock, deadline=5.0).next_delay() == 1.0  # counted from now


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_max_retries_is_the_count_after_the_first_attempt(max_retries: int) -> None:
    """A caller's loop: max_retries + 1 attempts, max_retries waits."""
    clock = FakeClock()
    backoff = make(clock, max_retries)
    attempts = 0
    while True:
        attempts += 1
        delay = backoff.next_delay()
        if delay is None:
            break
        await backoff.sleep(delay)
    assert attempts == backoff.attempts == max_retries + 1
    assert len(clock.sleeps) == max_retries
