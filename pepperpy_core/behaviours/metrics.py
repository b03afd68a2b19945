"""Metrics: bounded counters and a latency histogram, the middleware that fills them, and the
ready-made ``MetricsClient``.

The layer is outermost, so it sees what the caller sees: one logical request however many
attempts, a cache hit as fast as it was. Facts from inner layers (``attempts``, ``cache``,
``rate_limit_wait_s``) are read from ``response.metadata``, or from ``request.metadata`` when
the request raised. Memory stays constant however many requests are recorded (no list of
every latency that grows forever).
"""

from __future__ import annotations

import functools
import math
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload
from urllib.parse import urlsplit

from typing_extensions import Unpack

from pepperpy_core._lazy import deprecated_names
from pepperpy_core.behaviours.options import MetricsClientForwards
from pepperpy_core.config import ClientOptions, Clock
from pepperpy_core.http.chain import RANK_METRICS, CallNext, Middleware
from pepperpy_core.http.client import HttpClient
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger, redact_url

if TYPE_CHECKING:
    from pepperpy_core.behaviours.prometheus import Registry

__all__ = ["HttpMetrics", "LatencyHistogram", "MetricsClient", "MetricsMiddleware"]

_log = get_logger("pepperpy_core.metrics")

#: Upper bounds (seconds) of the exported Prometheus histogram buckets.
PROMETHEUS_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)


class LatencyHistogram:
    """Latencies in log-spaced buckets 4% wide from 1 µs to about an hour (quantiles within
    ~2%), whose edges include the Prometheus bounds, so one binary search files an observation
    for both. A fixed few hundred counters, whatever the number of observations."""

    _FLOOR = 1e-6  # seconds; anything faster counts as 1 µs
    _GROWTH = 1.04
    _TOP = 3600.0  # above this, only ``max`` tells the size

    def __init__(self, buckets: tuple[float, ...] = PROMETHEUS_BUCKETS) -> None:
        self.bounds = buckets
        self._edges = _edges_for(buckets, self._FLOOR, self._GROWTH, self._TOP)
        self._bound_index = [self._edges.index(b) for b in buckets]
        #: fine bucket -> the Prometheus bucket holding it (the last: +Inf)
        self.bound_of = [bisect_left(buckets, edge) for edge in self._edges] + [len(buckets)]
        self._counts = [0] * (len(self._edges) + 1)  # the last one: above every edge
        self.count = 0
        self.sum = 0.0
        self.max = 0.0

    def observe(self, seconds: float) -> int:
        """File one observation; returns its Prometheus bucket (an index of ``bounds``, or
        ``len(bounds)`` for +Inf), so a caller keeping its own series needs no search."""
        if seconds < 0.0:
            seconds = 0.0
        self.count += 1
        self.sum += seconds
        if seconds > self.max:
            self.max = seconds
        # bucket i holds edges[i-1] < seconds <= edges[i]
        index = bisect_left(self._edges, seconds)
        self._counts[index] += 1
        return self.bound_of[index]

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0..1) in seconds, as the upper edge of its bucket (0 if empty)."""
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index, part in enumerate(self._counts[:-1]):
            seen += part
            if seen >= rank:
                return min(self.max, self._edges[index])
        return self.max

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count)`` pairs for a Prometheus histogram, ``+Inf`` last."""
        pairs: list[tuple[str, int]] = []
        running = 0
        start = 0
        for bound, index in zip(self.bounds, self._bound_index, strict=True):
            running += sum(self._counts[start : index + 1])
            start = index + 1
            pairs.append((f"{bound:g}", running))
        pairs.append(("+Inf", self.count))
        return pairs


@functools.lru_cache(maxsize=8)
def _edges_for(
    bounds: tuple[float, ...], floor: float, growth: float, top: float
) -> list[float]:
    """Sorted bucket edges: ``floor * growth**i`` up to ``top``, plus ``bounds``."""
    edges = set(bounds)
    edge = floor
    while edge < top:
        edges.add(edge)
        edge *= growth
    return sorted(edges)


#: status -> its class ("2xx"), for every status a server can send
_STATUS_CLASS = {status: f"{status // 100}xx" for status in range(100, 600)}

#: Distinct hosts that get a label value of their own; later ones are counted as "other".
MAX_HOSTS = 50


class HostLabels:
    """The ``server_address`` label of a URL: its host, for at most ``limit`` distinct hosts
    (then ``"other"``), so that a client calling many hosts keeps a bounded number of series.
    URLs already seen cost one dict lookup."""

    _MEMO = 1024

    def __init__(self, limit: int = MAX_HOSTS) -> None:
        self.limit = limit
        self._hosts: set[str] = set()
        self._by_url: dict[str, str] = {}

    def __call__(self, url: str) -> str:
        known = self._by_url.get(url)
        if known is not None:
            return known
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        if host not in self._hosts:
            if len(self._hosts) >= self.limit:
                host = "other"
            else:
                self._hosts.add(host)
        if len(self._by_url) >= self._MEMO:
            self._by_url.clear()
        self._by_url[url] = host
        return host


class Series:
    """One label set's share of the duration histogram, in the Prometheus buckets only."""

    __slots__ = ("count", "counts", "sum")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size  # one per bound, then +Inf
        self.count = 0
        self.sum = 0.0


T = TypeVar("T")


class _Figure(Generic[T]):
    """One public figure of :class:`HttpMetrics`: reading it counts the queued responses
    first, then gives the private attribute of the same name (``requests`` -> ``_requests``)."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self._private = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._private = "_" + name

    @overload
    def __get__(self, metrics: None, owner: type) -> _Figure[T]: ...
    @overload
    def __get__(self, metrics: HttpMetrics, owner: type) -> T: ...
    def __get__(self, metrics: HttpMetrics | None, owner: type) -> _Figure[T] | T:
        if metrics is None:
            return self
        metrics._fold()
        value: T = getattr(metrics, self._private)
        return value

    def __set__(self, metrics: HttpMetrics, value: object) -> None:
        raise AttributeError(f"HttpMetrics.{self._private[1:]} is read-only")


#: Responses recorded but not yet counted; :meth:`HttpMetrics.record_response` counts them in
#: batches of this size, and every read counts what is waiting first.
FOLD_EVERY = 64


class HttpMetrics:
    """The counters one or more clients record into; share one instance between clients to
    aggregate them. Read with :meth:`snapshot` (or the client's ``get_metrics()``), export with
    :meth:`to_prometheus` or :meth:`log`.

    A response is counted in two steps: recording it queues five facts (method, URL, status,
    seconds, its metadata), and the queue is folded into the counters when it holds
    :data:`FOLD_EVERY` of them or when anything reads a figure (every attribute below, the
    snapshot, the exports). Folding a batch at once costs about half of counting each response
    as it comes, on a loaded client, because the counters stay in the processor's caches for
    the whole batch. Reads from another thread (a Prometheus scrape) are safe: the queue is a
    ``deque`` and folding holds a lock."""

    def __init__(self) -> None:
        self._latency = LatencyHistogram()
        self._requests = 0
        self._errors = 0
        self._attempts = 0
        self._retries = 0
        self._rate_limit_waits = 0
        self._rate_limit_wait_seconds = 0.0
        self._errors_by_type: dict[str, int] = {}
        self._status_classes: dict[str, int] = {}
        self._cache: dict[str, int] = {"hit": 0, "miss": 0, "revalidated": 0, "stale": 0}
        #: (method, host, status class or "error") -> its durations; bounded by MAX_HOSTS
        self._series: dict[tuple[str, str, str], Series] = {}
        self._host = HostLabels()
        #: (method, URL, status class) -> its series: a repeated request costs one lookup
        self._recent: dict[tuple[str, str, str], Series] = {}
        #: (method or None, URL, status, seconds, metadata) of responses not yet counted
        self._pending: deque[tuple[str | None, str, int, float, dict[str, Any]]] = deque()
        self._lock = threading.Lock()

    # Every figure counts the queued responses first (see _Figure).
    latency: _Figure[LatencyHistogram] = _Figure("Every request's duration (one histogram).")
    requests: _Figure[int] = _Figure("Logical requests recorded, those that raised included.")
    errors: _Figure[int] = _Figure("Requests that raised.")
    attempts: _Figure[int] = _Figure("Attempts sent to the network (a cache hit sends none).")
    retries: _Figure[int] = _Figure("Attempts after the first of a request.")
    rate_limit_waits: _Figure[int] = _Figure("Times a request waited for the rate limiter.")
    rate_limit_wait_seconds: _Figure[float] = _Figure("Seconds spent waiting for the rate limiter.")
    errors_by_type: _Figure[dict[str, int]] = _Figure("Requests that raised, by error class name.")
    status_classes: _Figure[dict[str, int]] = _Figure('Responses by status class ("2xx"...).')
    cache: _Figure[dict[str, int]] = _Figure("Cache outcomes: hit, miss, revalidated, stale.")
    series: _Figure[dict[tuple[str, str, str], Series]] = _Figure(
        '(method, host, status class or "error") -> that label set\'s durations.'
    )

    def _series_for(self, method: str | None, url: str, status_class: str) -> Series:
        """The series of a request (``method`` None: a response without one); remembered in
        ``_recent`` for next time."""
        key = ("", "", status_class) if method is None else (
            method, self._host(url), status_class
        )
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = Series(len(self._latency.bounds) + 1)
        if method is not None:
            if len(self._recent) >= HostLabels._MEMO:
                self._recent.clear()
            self._recent[(method, url, status_class)] = series
        return series

    def _observe(self, method: str | None, url: str, status_class: str, seconds: float) -> None:
        series = self._recent.get((method, url, status_class)) if method is not None else None
        if series is None:
            series = self._series_for(method, url, status_class)
        bucket = self._latency.observe(seconds)
        series.count += 1
        series.sum += seconds
        series.counts[bucket] += 1

    def record_response(self, response: Response, seconds: float) -> None:
        """Count one response that took ``seconds`` (queued; see the class docstring)."""
        request = response.request
        pending = self._pending
        pending.append((
            request.method if request is not None else None,
            request.url if request is not None else "", response.status, seconds,
            response.metadata,
        ))
        if len(pending) >= FOLD_EVERY:
            self._fold()

    def _fold(self) -> None:
        """Count the queued responses."""
        pending = self._pending
        if not pending:
            return
        with self._lock:
            classes, outcomes, observe = self._status_classes, self._cache, self._observe
            while pending:
                method, url, status, seconds, facts = pending.popleft()
                key = _STATUS_CLASS.get(status) or f"{status // 100}xx"
                observe(method, url, key, seconds)
                self._requests += 1
                attempts = facts.get("attempts")
                if attempts is None:
                    attempts = 0 if facts.get("from_cache") else 1
                self._attempts += attempts
                if attempts > 1:
                    self._retries += attempts - 1
                if "rate_limit_waits" in facts:
                    self._rate_limit_waits += facts["rate_limit_waits"]
                    self._rate_limit_wait_seconds += facts.get("rate_limit_wait_s", 0.0)
                classes[key] = classes.get(key, 0) + 1
                outcome = facts.get("cache")
                if outcome in outcomes:
                    outcomes[outcome] += 1

    def record_error(self, error: BaseException, request: Request, seconds: float) -> None:
        """Count one request that raised ``error`` after ``seconds``."""
        attempts = getattr(error, "attempts", None)  # set by the retry layer when it gives up
        if not isinstance(attempts, int) or attempts < 1:
            attempts = request.metadata.get("attempt", 1)
        facts = request.metadata
        name = type(error).__name__
        with self._lock:
            self._requests += 1
            self._attempts += attempts
            self._retries += max(0, attempts - 1)
            self._rate_limit_waits += facts.get("rate_limit_waits", 0)
            self._rate_limit_wait_seconds += facts.get("rate_limit_wait_s", 0.0)
            self._observe(request.method, request.url, "error", seconds)
            self._errors += 1
            self._errors_by_type[name] = self._errors_by_type.get(name, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        """Every figure as a plain dict; latencies in seconds. ``total_requests`` counts every
        logical request, including those that raised (also counted in ``total_errors``)."""
        self._fold()
        hist = self._latency
        return {
            "total_requests": self._requests,
            "total_errors": self._errors,
            "avg_latency": hist.sum / hist.count if hist.count else 0,
            "p50_latency": hist.quantile(0.50),
            "p95_latency": hist.quantile(0.95),
            "p99_latency": hist.quantile(0.99),
            "max_latency": hist.max,
            "total_attempts": self._attempts,
            "total_retries": self._retries,
            "rate_limit_waits": self._rate_limit_waits,
            "rate_limit_wait_seconds": self._rate_limit_wait_seconds,
            "cache_hits": self._cache["hit"],
            "cache_misses": self._cache["miss"],
            "cache_revalidations": self._cache["revalidated"],
            "cache_stale": self._cache["stale"],
            "status_classes": dict(self._status_classes),
            "errors_by_type": dict(self._errors_by_type),
        }

    def to_prometheus(self, prefix: str = "http_client") -> str:
        """The figures in the Prometheus text exposition format (version 0.0.4)."""
        out: list[str] = []
        _counter(out, f"{prefix}_requests_total", "Logical requests.", self.requests)
        _counter(out, f"{prefix}_attempts_total", "Attempts sent to the network.", self.attempts)
        _counter(out, f"{prefix}_retries_total", "Retries after a first attempt.", self.retries)
        _counter(out, f"{prefix}_rate_limit_waits_total", "Requests that waited for the rate "
                 "limiter.", self.rate_limit_waits)
        _counter(out, f"{prefix}_rate_limit_wait_seconds_total", "Seconds spent waiting for the "
                 "rate limiter.", self.rate_limit_wait_seconds)
        _labelled(out, f"{prefix}_errors_total", "Requests that raised, by error type.", "type",
                  self.errors_by_type)
        _labelled(out, f"{prefix}_responses_total", "Responses by status class.", "status_class",
                  self.status_classes)
        _labelled(out, f"{prefix}_cache_requests_total", "Cacheable requests by outcome.",
                  "result", self.cache)
        name = f"{prefix}_request_duration_seconds"
        out += [f"# HELP {name} Logical request duration in seconds.", f"# TYPE {name} histogram"]
        out += [f'{name}_bucket{{le="{le}"}} {n}' for le, n in self.latency.cumulative()]
        out += [f"{name}_sum {self.latency.sum!r}", f"{name}_count {self.latency.count}"]
        return "\n".join(out) + "\n"

    def register(self, registry: Registry | None = None, *, prefix: str = "http_client") -> Any:
        """Expose these figures to ``prometheus_client`` (extra ``pepperpy-core[prometheus]``):
        a collector registered in ``registry`` (default: prometheus_client's global
        ``REGISTRY``), read at each scrape. Returns the collector
        (``registry.unregister(collector)`` takes it out). Names follow OpenTelemetry's HTTP
        client conventions: ``http_client_request_duration_seconds`` with the labels
        ``http_request_method``, ``server_address`` and ``status_class``. Two instances in one
        registry need different ``prefix`` values."""
        from pepperpy_core.behaviours.prometheus import register

        return register(self, registry, prefix=prefix)

    def log(self, logger: Any = None, event: str = "http.metrics") -> None:
        """Emit the snapshot as one log event at INFO (to ``logger`` or the library's)."""
        (logger or _log).info(event, **self.snapshot())


def _counter(out: list[str], name: str, help_text: str, value: float) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value!r}"]


def _labelled(
    out: list[str], name: str, help_text: str, label: str, values: Mapping[str, int]
) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
    out += [f'{name}{{{label}="{_escape(key)}"}} {n}' for key, n in sorted(values.items())]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsMiddleware:
    """The metrics layer (outermost). ``clock`` measures latency (``time.perf_counter``)."""

    rank = RANK_METRICS

    def __init__(self, metrics: HttpMetrics | None = None, *, clock: Clock = time.perf_counter):
        self.metrics = metrics if metrics is not None else HttpMetrics()
        self._clock = clock

    def __repr__(self) -> str:
        return "MetricsMiddleware()"

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        clock = self._clock
        started = clock()
        try:
            response = await call_next(request)
        except Exception as exc:
            self.metrics.record_error(exc, request, clock() - started)
            raise
        elapsed = clock() - started
        # Queued as record_response does, without its call, and under the logical request's
        # method and URL (after redirects, response.request is the last hop's), as errors are.
        metrics = self.metrics
        pending = metrics._pending
        pending.append(
            (request.method, request.url, response.status, elapsed, response.metadata)
        )
        if len(pending) >= FOLD_EVERY:
            metrics._fold()
        if _log.debug_enabled():
            _log.debug(
                "http.request", method=request.method, url=redact_url(request.url),
                status=response.status, elapsed_ms=round(elapsed * 1000, 2),
                attempts=response.metadata.get("attempts"), cache=response.metadata.get("cache"),
            )
        return response


class MetricsClient(HttpClient):
    """``MetricsClient()``: an HttpClient that counts its requests, with ``get_metrics()``, in
    constant memory. ``metrics=`` an :class:`HttpMetrics` to share between clients (default: a
    new one per client). Every other keyword is :class:`HttpClient`'s, or that of another
    ready-made class it is combined with (``class Api(MetricsClient, CachedClient)``)."""

    def __init__(
        self, *, metrics: HttpMetrics | None = None, **kwargs: Unpack[MetricsClientForwards]
    ) -> None:
        self._set_up_metrics(metrics)
        # The next class may be another ready-made one, which takes its own keywords.
        super().__init__(**cast("ClientOptions", kwargs))

    def _set_up_metrics(self, metrics: HttpMetrics | None) -> None:
        """Keep the counters :meth:`_default_layers` builds the layer over."""
        self.metrics = metrics if metrics is not None else HttpMetrics()

    def _default_layers(self) -> list[Middleware]:
        layer = MetricsMiddleware(self.metrics, clock=self._behaviour_clock or time.perf_counter)
        return [*super()._default_layers(), layer]

    def get_metrics(self) -> dict[str, Any]:
        """The usual keys (``total_requests``, ``total_errors``, ``avg_latency``) and more:
        p50/p95/p99, attempts, retries, rate-limit waits, cache outcomes, status classes."""
        return self.metrics.snapshot()


if not TYPE_CHECKING:  # the deprecated MetricsMixin, for one release
    __getattr__ = deprecated_names(__name__, ("MetricsMixin",))
