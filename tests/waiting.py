"""Bounded polling for tests that wait on something another task or process does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(
    condition: Callable[[], bool], timeout: float = 5.0, every: float = 0.01
) -> None:
    """Poll ``condition`` every ``every`` seconds until true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"condition not met in {timeout} s"
        await asyncio.sleep(every)
