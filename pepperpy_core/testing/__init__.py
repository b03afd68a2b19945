"""Test helpers for code built on pepperpy-core: a fake clock and local servers."""

from pepperpy_core.testing.clock import FakeClock

__all__ = ["FakeClock"]
