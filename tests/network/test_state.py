"""Hysteresis as a pure function: state after each check, and the transitions it reports."""

from __future__ import annotations

import pytest

from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.network import ConnectionState, Hysteresis, ProbeResult
from pepperpy_core.network.state import Transition

UP = (ProbeResult("tcp://a:1", True, latency=0.004), ProbeResult("tcp://b:1", True, latency=0.002))
DOWN = (ProbeResult("tcp://a:1", False, error="refused"),)


def run(policy: Hysteresis, outcomes: str) -> list[tuple[bool | None, Transition | None]]:
    """Feed '+' (success) and '-' (failure) checks; collect (online, transition) after each."""
    state = ConnectionState()
    seen = []
    for now, mark in enumerate(outcomes):
        ok = mark == "+"
        state, transition = policy.apply(state, ok=ok, results=UP if ok else DOWN, now=now)
        seen.append((state.online, transition))
    return seen


def test_first_check_decides_at_once() -> None:
    """From the unknown state one check decides; only "offline" is reported as a transition."""
    assert run(Hysteresis(), "+") == [(True, None)]
    assert run(Hysteresis(), "-") == [(False, "disconnect")]


def test_single_failure_changes_nothing() -> None:
    """Online stays online through fewer than offline_after failures in a row."""
    seen = run(Hysteresis(offline_after=3, online_after=2), "+-+--+")
    assert [online for online, _ in seen] == [True] * 6
    assert all(t is None for _, t in seen)


def test_offline_after_n_then_online_after_m() -> None:
    """N failures in a row go offline once; M successes in a row come back once."""
    seen = run(Hysteresis(offline_after=3, online_after=2), "+---" "-+-++" "+")
    assert [t for _, t in seen if t] == ["disconnect", "reconnect"]
    assert seen[3] == (False, "disconnect")
    assert seen[8] == (True, "reconnect")


def test_state_records_latency_error_and_times() -> None:
    """latency is the fastest success, last_error survives recovery, changed_at marks flips."""
    policy = Hysteresis(offline_after=1, online_after=1)
    state, _ = policy.apply(ConnectionState(), ok=True, results=UP, now=10.0)
    assert (state.latency, state.changed_at, state.checked_at) == (0.002, 10.0, 10.0)
    state, _ = policy.apply(state, ok=False, results=DOWN, now=11.0)
    assert state.last_error == "tcp://a:1: refused" and state.latency is None
    state, _ = policy.apply(state, ok=True, results=UP, now=12.0)
    state, _ = policy.apply(state, ok=True, results=UP, now=13.0)
    assert state.last_error == "tcp://a:1: refused"
    assert (state.changed_at, state.checked_at, state.consecutive_successes) == (12.0, 13.0, 2)


@pytest.mark.parametrize("bad", [{"offline_after": 0}, {"online_after": -1}, {"online_after": 1.5}])
def test_hysteresis_rejects_bad_counts(bad: dict[str, object]) -> None:
    """Counts below one (or not ints) raise ConfigurationError naming the field."""
    with pytest.raises(ConfigurationError, match=next(iter(bad))):
        Hysteresis(**bad)  # type: ignore[arg-type]
