"""Test helpers for code built on pepperpy-core: a fake clock, local servers and the
library's log events as dicts."""

from pepperpy_core.testing.clock import FakeClock
from pepperpy_core.testing.logs import capture_events
from pepperpy_core.testing.server import LocalServer

__all__ = ["FakeClock", "LocalServer", "capture_events"]
