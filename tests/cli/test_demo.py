"""``pepperpy-core demo`` runs offline and shows each capability with real figures."""

from __future__ import annotations

import io

import pytest

from pepperpy_core.cli import build_parser


async def test_demo_tour() -> None:
    """Every section runs and reports what it measured."""
    args = build_parser().parse_args(["demo"])
    out = io.StringIO()
    assert await args.handler(args, out=out) == 0
    text = out.getvalue()
    assert "after 3 attempts" in text
    assert "none rejected, the limiter waited" in text
    assert "from_cache per call: [False, True, True]" in text
    assert "server saw 2 requests for 23 calls" in text
    assert "'5xx': 2" in text and "http_client_requests_total 12" in text
    assert "server received 300 of 300 distinct messages" in text
    assert "resumed=True" in text
    assert "43,200 rows" in text and "UnsafeArchiveError" in text


async def test_demo_rejects_unknown_section() -> None:
    """--only with a section that does not exist names it."""
    args = build_parser().parse_args(["demo", "--only", "retry,teleport"])
    with pytest.raises(ValueError, match="teleport"):
        await args.handler(args, out=io.StringIO())
