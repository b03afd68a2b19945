"""Test helpers for code built on pepperpy-core: a fake clock and local servers."""

from pepperpy_core.testing.clock import FakeClock
from pepperpy_core.testing.server import LocalServer

__all__ = ["FakeClock", "LocalServer"]
