"""``make_api_request``: one JSON API call with retries and rate-limit handling, as a
function, built on the client's own retry layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pepperpy_core._backoff import parse_retry_after
from pepperpy_core.config import check_count
from pepperpy_core.exceptions import ConfigurationError, RateLimitError
from pepperpy_core.http.factory import as_http_client
from pepperpy_core.http.models import Response
from pepperpy_core.http.retry import RetryPolicy
from pepperpy_core.logging import redact_url

__all__ = ["make_api_request"]

#: What a JSON API call retries: throttling and the transient server errors.
API_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


async def make_api_request(
    client: Any,
    url: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    max_retries: int = 3,
    retry_delay: float = 1.0,
    *,
    method: str = "GET",
    json: Any = None,
) -> Any:
    """Send one API request and return its parsed JSON (None for an empty body).

    Connection errors, timeouts, 429 and 500/502/503/504 are retried up to ``max_retries``
    times through the client's retry layer, waiting ``retry_delay`` seconds doubled per retry
    (full jitter, capped at 60 s) or what ``Retry-After`` asks. A 429 that persists past the
    retries raises :class:`~pepperpy_core.RateLimitException` with ``retry_after``; any other
    4xx/5xx raises :class:`~pepperpy_core.HTTPStatusError`; a body that is not JSON raises
    :class:`~pepperpy_core.DecodingError`. ``client`` is a :class:`HttpClient` (preferred)
    or a raw ``aiohttp.ClientSession`` / ``httpx.AsyncClient`` from
    :func:`~pepperpy_core.create_client`, wrapped over the same session.
    """
    policy = _api_policy(max_retries, retry_delay)
    options: dict[str, Any] = {"params": params, "headers": headers}
    if json is not None:
        options["json"] = json
    http, owned = as_http_client(client)
    try:
        response = await http.request(method, url, retries=policy, **options)
    finally:
        if owned:
            await http.close()  # the wrapper only: the caller's raw client stays open
    if response.status == 429:
        raise _rate_limited(response)
    response.raise_for_status()
    body = await response.read()
    return await response.json() if body.strip() else None


def _api_policy(max_retries: int, retry_delay: float) -> RetryPolicy:
    check_count("make_api_request", "max_retries", max_retries, 0)
    if retry_delay < 0:
        raise ConfigurationError(f"make_api_request: retry_delay must be >= 0, got {retry_delay}")
    return RetryPolicy(
        total=max_retries, statuses=API_RETRY_STATUSES, backoff_base=retry_delay,
        backoff_max=max(60.0, retry_delay),
    )


def _rate_limited(response: Response) -> RateLimitError:
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    attempts = response.metadata.get("attempts")
    return RateLimitError(
        f"429 Too Many Requests from {redact_url(response.url)} after "
        f"{attempts or 1} attempt(s); retry after {retry_after}s",
        retry_after=retry_after, request=response.request, response=response,
        attempts=attempts,
    )
