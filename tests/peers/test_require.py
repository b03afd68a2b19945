"""The missing-peer rule: a skip locally, a failure when CI requires every peer."""

from __future__ import annotations

import pytest

from peers import require


def test_missing_peer_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(require, "REQUIRED", False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install nginx"):
        require.missing("nginx", "apt-get install nginx")


def test_missing_peer_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(require, "REQUIRED", True)
    with pytest.raises(pytest.fail.Exception, match="required peer missing in CI: nginx"):
        require.missing("nginx", "apt-get install nginx")
