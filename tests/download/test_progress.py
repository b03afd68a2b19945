"""DownloadProgressTracker on a fake clock: speed, ETA and stall rules."""

from __future__ import annotations

import pytest

from pepperpy_core.download import DownloadProgressTracker, safe_filename
from pepperpy_core.exceptions import ConfigurationError, DownloadStalledException
from pepperpy_core.testing import FakeClock


def test_speed_and_eta_over_moving_window() -> None:
    """Speed averages the last speed_window seconds; ETA is the rest at that speed."""
    clock = FakeClock()
    tracker = DownloadProgressTracker(1000, speed_window=2.0, clock=clock.time)
    for _ in range(10):
        clock.advance(0.5)
        tracker.update(50)  # 100 B/s
    assert tracker.speed == pytest.approx(100, rel=0.15)
    assert tracker.eta == pytest.approx(5.0, rel=0.15)
    for _ in range(4):
        clock.advance(0.5)
        tracker.update(200)  # 400 B/s: the old rate leaves the window
    assert tracker.speed == pytest.approx(400, rel=0.15)
    snap = tracker.snapshot()
    assert snap.downloaded == 1300 and snap.fraction == 1.0


def test_unknown_total_has_no_eta() -> None:
    """Without a total the ETA and fraction are None."""
    tracker = DownloadProgressTracker(clock=FakeClock().time)
    tracker.update(10)
    assert tracker.eta is None and tracker.snapshot().fraction is None


def test_stall_detected_after_window_only() -> None:
    """Below min_speed raises only once a whole stall_window has passed under it."""
    clock = FakeClock()
    tracker = DownloadProgressTracker(min_speed=100, stall_window=10, clock=clock.time)
    clock.advance(9.9)
    tracker.check_stall()  # not a full window yet
    tracker.update(500)  # 50 B/s over the window
    clock.advance(0.2)
    with pytest.raises(DownloadStalledException, match="under 100 bytes/s for 10 s"):
        tracker.check_stall()


def test_steady_transfer_never_stalls() -> None:
    """A transfer above min_speed passes every check for a long time."""
    clock = FakeClock()
    tracker = DownloadProgressTracker(min_speed=100, stall_window=5, clock=clock.time)
    for _ in range(1000):
        clock.advance(0.1)
        tracker.update(20)  # 200 B/s
        tracker.check_stall()
    assert len(tracker._samples) < 200  # bucketed: memory does not grow with chunks


def test_restart_window_forgives_the_past() -> None:
    """A new attempt starts a fresh stall window."""
    clock = FakeClock()
    tracker = DownloadProgressTracker(stall_window=3, clock=clock.time)
    clock.advance(5)
    assert tracker.stalled()
    tracker.restart_window(0)
    assert not tracker.stalled()


def test_disabled_and_bad_settings() -> None:
    """min_speed=None never stalls; bad windows raise ConfigurationError."""
    clock = FakeClock()
    tracker = DownloadProgressTracker(min_speed=None, stall_window=1, clock=clock.time)
    clock.advance(100)
    assert not tracker.stalled()
    with pytest.raises(ConfigurationError):
        DownloadProgressTracker(stall_window=0)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("..", "download"),
        ("/", "download"),
        ("a%2F..%2Fb.txt", "b.txt"),
        ("bad\x00name?.zip", "bad_name_.zip"),
        ("ok.zip", "ok.zip"),
    ],
)
def test_safe_filename(raw: str, safe: str) -> None:
    """Names from URLs and headers lose folders, '..', and control characters."""
    assert safe_filename(raw) == safe
