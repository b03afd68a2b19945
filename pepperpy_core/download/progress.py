"""Download progress: bytes, total, speed over a moving window, ETA, and stall detection.

Pure bookkeeping with an injected clock: no I/O, no sleeping, so every rule is testable on a
:class:`~pepperpy_core.testing.FakeClock`. Memory is constant: samples are kept in a fixed
number of time buckets, not one per chunk.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pepperpy_core.exceptions import ConfigurationError, DownloadStalledException

__all__ = ["DownloadProgress", "DownloadProgressTracker"]

_BUCKETS = 20


@dataclass(frozen=True)
class DownloadProgress:
    """One snapshot, as handed to progress callbacks.

    ``downloaded`` and ``total`` are bytes (``total`` None when the server did not say);
    ``speed`` is bytes per second over the moving window; ``eta`` seconds (None when unknown);
    ``elapsed`` seconds since the download started.
    """

    url: str
    downloaded: int
    total: int | None
    speed: float
    eta: float | None
    elapsed: float
    done: bool = False

    @property
    def fraction(self) -> float | None:
        """Share of the file received, 0..1 (None when the total is unknown)."""
        if not self.total:
            return None
        return min(1.0, self.downloaded / self.total)


class DownloadProgressTracker:
    """Tracks one download.

    - ``total``: expected size in bytes; None: unknown (no ETA).
    - ``min_speed``: bytes per second under which the transfer counts as stalled; None
      disables stall detection. The default (1.0) means "no byte at all".
    - ``stall_window``: seconds the speed must stay under ``min_speed`` before
      :meth:`check_stall` raises :class:`DownloadStalledException`.
    - ``speed_window``: seconds over which :attr:`speed` is averaged.
    - ``clock``: monotonic seconds (inject ``FakeClock().time`` in tests).
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        url: str = "",
        min_speed: float | None = 1.0,
        stall_window: float = 60.0,
        speed_window: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if stall_window <= 0 or speed_window <= 0:
            raise ConfigurationError("stall_window and speed_window must be > 0 seconds")
        if min_speed is not None and min_speed < 0:
            raise ConfigurationError("min_speed must be >= 0 bytes/s or None")
        self.url = url
        self.total = total
        self.min_speed = min_speed
        self.stall_window = stall_window
        self.speed_window = speed_window
        self._clock = clock
        self._bucket = min(stall_window, speed_window) / _BUCKETS
        self._horizon = max(stall_window, speed_window) * 1.5
        self.started = clock()
        self.downloaded = 0
        self._samples: deque[tuple[float, int]] = deque()
        self.restart_window(0)

    # ----------------------------------------------------------------- feeding

    def restart_window(self, downloaded: int) -> None:
        """Start measuring afresh from ``downloaded`` bytes (a new attempt or a resume)."""
        self.downloaded = downloaded
        self._window_start = self._clock()
        self._samples.clear()
        self._samples.append((self._window_start, downloaded))

    def update(self, nbytes: int) -> None:
        """Record ``nbytes`` more bytes received now."""
        self.downloaded += nbytes
        now = self._clock()
        last_time, _ = self._samples[-1]
        if now - last_time < self._bucket and len(self._samples) > 1:
            self._samples[-1] = (last_time, self.downloaded)
        else:
            self._samples.append((now, self.downloaded))
        while len(self._samples) > 2 and now - self._samples[1][0] > self._horizon:
            self._samples.popleft()

    # ----------------------------------------------------------------- reading

    def _bytes_since(self, moment: float) -> tuple[int, float]:
        """Bytes received after ``moment`` and the time they cover, from the samples."""
        base_time, base_bytes = self._samples[0]
        for sample_time, sample_bytes in self._samples:
            if sample_time > moment:
                break
            base_time, base_bytes = sample_time, sample_bytes
        return self.downloaded - base_bytes, max(0.0, self._clock() - max(base_time, moment))

    @property
    def speed(self) -> float:
        """Bytes per second over the last ``speed_window`` seconds."""
        now = self._clock()
        got, span = self._bytes_since(now - self.speed_window)
        span = max(span, min(self.speed_window, now - self._window_start))
        return got / span if span > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current speed (None when the total or the speed is unknown)."""
        if self.total is None:
            return None
        left = max(0, self.total - self.downloaded)
        if left == 0:
            return 0.0
        speed = self.speed
        return left / speed if speed > 0 else None

    @property
    def elapsed(self) -> float:
        return self._clock() - self.started

    def snapshot(self, *, done: bool = False) -> DownloadProgress:
        """The current state as an immutable :class:`DownloadProgress`."""
        return DownloadProgress(
            url=self.url, downloaded=self.downloaded, total=self.total, speed=self.speed,
            eta=self.eta, elapsed=self.elapsed, done=done,
        )

    # ----------------------------------------------------------------- stalls

    def stalled(self) -> bool:
        """True when, for the last ``stall_window`` seconds, speed stayed under ``min_speed``."""
        if self.min_speed is None:
            return False
        now = self._clock()
        if now - self._window_start < self.stall_window:
            return False
        got, _ = self._bytes_since(now - self.stall_window)
        return got / self.stall_window < self.min_speed

    def check_stall(self) -> None:
        """Raise :class:`DownloadStalledException` if the download is stalled."""
        if self.stalled():
            raise DownloadStalledException(
                f"download stalled: under {self.min_speed:g} bytes/s for "
                f"{self.stall_window:g} s after {self.downloaded} bytes",
                url=self.url,
            )
