"""The behaviour chain: middleware layers between ``_send_request`` and the transport.

A middleware is any object with ``async __call__(request, call_next) -> Response``. Layers run in
a canonical order by ``rank`` (smaller is outer), whatever order they were given in::

    metrics (100) -> cache (200) -> retry (300) -> rate limit (400)
        -> user layers (500) -> transport

so a cache hit spends no rate-limit token and is never retried, every attempt that reaches the
server waits for its token, and metrics sees what the caller sees. Equal ranks keep the order in
which they were given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from inspect import getattr_static
from types import FunctionType, MethodType
from typing import Protocol, runtime_checkable

from pepperpy_core.http.models import Request, Response

__all__ = [
    "RANK_CACHE",
    "RANK_METRICS",
    "RANK_RATE_LIMIT",
    "RANK_RETRY",
    "RANK_USER",
    "CallNext",
    "Middleware",
    "build_chain",
    "order_middlewares",
]

RANK_METRICS = 100
RANK_CACHE = 200
RANK_RETRY = 300
RANK_RATE_LIMIT = 400
#: The default for a layer that declares no rank: inside the rate limiter, so it runs once per
#: attempt that reaches the server (where request signing and per-attempt headers belong).
RANK_USER = 500

CallNext = Callable[[Request], Awaitable[Response]]


@runtime_checkable
class Middleware(Protocol):
    """One behaviour layer: policy around the next step, I/O only through ``call_next``."""

    async def __call__(self, request: Request, call_next: CallNext) -> Response: ...


def rank_of(layer: Middleware) -> int:
    """A layer's position in the chain (``rank`` attribute, :data:`RANK_USER` if it has none)."""
    rank = getattr(layer, "rank", RANK_USER)
    return rank if isinstance(rank, int) else RANK_USER


def order_middlewares(layers: Iterable[Middleware]) -> list[Middleware]:
    """Layers sorted outermost first by rank; the sort is stable for equal ranks."""
    return sorted(layers, key=rank_of)


def build_chain(layers: Sequence[Middleware], endpoint: CallNext) -> CallNext:
    """Compose ``layers`` (already ordered, outermost first) around ``endpoint``."""
    call: CallNext = endpoint
    for layer in reversed(layers):
        call = _bind(layer, call)
    return call


def _bind(layer: Middleware, call_next: CallNext) -> CallNext:
    # A plain function handing back the layer's own coroutine: no extra coroutine frame per
    # layer, which every suspension of every request would otherwise travel through. A layer
    # whose class defines ``__call__`` as a function is called through the bound method, which
    # CPython calls directly (calling the instance looks the method up again on every call).
    method = getattr_static(type(layer), "__call__", None)
    call: Callable[[Request, CallNext], Awaitable[Response]] = (
        MethodType(method, layer) if isinstance(method, FunctionType) else layer
    )

    def step(request: Request) -> Awaitable[Response]:
        return call(request, call_next)

    return step
