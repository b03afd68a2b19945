"""What a test does when a third-party peer is missing: skip locally, fail in CI.

``.ci/run`` installs every peer and sets ``PEPPERPY_REQUIRE_PEERS=1``, so a peer that is still
missing there is a failure, never a silent skip.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRED = os.environ.get("PEPPERPY_REQUIRE_PEERS", "") not in ("", "0")


def missing(peer: str, how: str) -> NoReturn:
    """Skip (or, in CI, fail) a test whose peer ``peer`` is absent; ``how`` says how to get it."""
    message = f"{peer} is not available: {how}"
    if REQUIRED:
        pytest.fail(f"required peer missing in CI: {message}", pytrace=False)
    pytest.skip(message)
