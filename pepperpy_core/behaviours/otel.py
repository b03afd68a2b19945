"""OpenTelemetry for pepperpy-core: spans and metrics, opt in (extra ``pepperpy-core[otel]``).

Nothing here is imported, and nothing runs on any request path, until an application makes an
:class:`OpenTelemetry` and adds its :meth:`~OpenTelemetry.layers` to a client::

    otel = OpenTelemetry(propagate=True)
    client = HttpClient(middlewares=otel.layers())

Then, following OpenTelemetry's HTTP client conventions:

- each logical request is a CLIENT span named after its method (``http.request.method``,
  ``url.full`` redacted, ``server.address``, ``server.port``, ``http.response.status_code``,
  ``error.type``), each attempt a child span (``http.request.resend_count`` from the second),
  and the retry waits, rate-limit waits and cache outcome are events on the request's span;
- the W3C ``traceparent`` header goes out on each attempt only with ``propagate=True``;
- ``http.client.request.duration`` (histogram, seconds) is recorded per logical request with
  the same attributes, with counters ``pepperpy.http.client.retries``,
  ``pepperpy.http.client.rate_limit.waits``, ``pepperpy.http.client.cache.requests`` (by
  ``pepperpy.cache.result``) and ``pepperpy.websocket.reconnects``;
- WebSocket connects and reconnects are CLIENT spans (``websocket.connect``,
  ``websocket.reconnect``), for every WebSocket of the process while the instance is open.

The tracer and meter come from the providers passed in, or the global ones (which are no-ops
until the application configures the SDK). :meth:`OpenTelemetry.close` undoes the process-wide
part (the WebSocket spans and the reconnect counter).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from typing_extensions import Self

import pepperpy_core._observe as _observe
from pepperpy_core._version import __version__
from pepperpy_core.exceptions import ConfigurationError, OptionalDependencyError
from pepperpy_core.http.chain import RANK_METRICS, RANK_RATE_LIMIT, CallNext, Middleware
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import redact_url

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import propagate as otel_propagate
    from opentelemetry import trace as otel_trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise OptionalDependencyError(
        "OpenTelemetry needs opentelemetry-api: pip install 'pepperpy-core[otel]'"
    ) from exc

__all__ = ["AttemptSpanMiddleware", "OpenTelemetry", "RequestSpanMiddleware"]

#: The HTTP client duration buckets OpenTelemetry's conventions advise (seconds).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                    10.0)

#: The logical request's span, for the events of the layers inside it (retry, rate limit).
_REQUEST_SPAN: ContextVar[Any] = ContextVar("pepperpy_core_request_span", default=None)

#: Library events that become span events on the current request's span, and the fields
#: they carry as attributes.
_SPAN_EVENTS = {
    "http.retry": ("attempt", "wait_s", "status", "error"),
    "http.rate_limit.wait": ("key", "wait_s"),
    "http.rate_limit.pause": ("key", "status", "pause_s"),
}


def _server(url: str) -> dict[str, Any]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return {}
    out: dict[str, Any] = {"server.address": parts.hostname or "", "url.scheme": parts.scheme}
    if port is not None:
        out["server.port"] = port
    return out


class OpenTelemetry:
    """Spans and metrics for the clients it is given to and the WebSockets of the process.

    - ``tracer_provider`` / ``meter_provider``: where spans and measurements go (default: the
      global providers, set with ``opentelemetry.trace.set_tracer_provider`` and friends).
    - ``propagate`` (default False): inject the W3C ``traceparent`` (and ``tracestate``) of each
      attempt into its headers, with the globally configured propagator.
    - ``tracing`` / ``metrics`` (default True): either half can be left off.
    - ``attempt_spans`` (default True): each attempt its own child span; False records the
      attempts as ``http.attempt`` events on the request's span instead (half the spans).
    """

    def __init__(
        self,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        propagate: bool = False,
        tracing: bool = True,
        metrics: bool = True,
        attempt_spans: bool = True,
    ) -> None:
        for name, value in (("propagate", propagate), ("tracing", tracing),
                            ("metrics", metrics), ("attempt_spans", attempt_spans)):
            if not isinstance(value, bool):
                raise ConfigurationError(f"OpenTelemetry({name}=...) must be True or False")
        self.propagate = propagate
        self.attempt_spans = attempt_spans
        self.tracer = (
            otel_trace.get_tracer("pepperpy_core", __version__, tracer_provider)
            if tracing else None
        )
        meter = (
            otel_metrics.get_meter("pepperpy_core", __version__, meter_provider)
            if metrics else None
        )
        self.meter = meter
        if meter is not None:
            self.duration = meter.create_histogram(
                "http.client.request.duration", unit="s",
                description="Duration of HTTP client requests.",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            )
            self.retries = meter.create_counter(
                "pepperpy.http.client.retries", unit="{retry}",
                description="Attempts after the first of an HTTP request.",
            )
            self.rate_limit_waits = meter.create_counter(
                "pepperpy.http.client.rate_limit.waits", unit="{wait}",
                description="Waits for the rate limiter before an attempt.",
            )
            self.cache_requests = meter.create_counter(
                "pepperpy.http.client.cache.requests", unit="{request}",
                description="Cacheable HTTP requests, by pepperpy.cache.result.",
            )
            self.reconnects = meter.create_counter(
                "pepperpy.websocket.reconnects", unit="{reconnect}",
                description="WebSocket reconnections that succeeded.",
            )
        self._closed = False
        _observe.subscribe(self._on_event)
        if self.tracer is not None:
            _observe.set_span_factory(self._span)

    def __repr__(self) -> str:
        return (f"OpenTelemetry(propagate={self.propagate}, tracing={self.tracer is not None}, "
                f"metrics={self.meter is not None})")

    def layers(self) -> list[Middleware]:
        """The two HTTP layers to pass as ``middlewares=``: the request span and metrics
        (outermost), and the attempt span (inside the rate limiter, around every attempt)."""
        out: list[Middleware] = [RequestSpanMiddleware(self)]
        if self.tracer is not None:
            out.append(AttemptSpanMiddleware(self))
        return out

    def close(self) -> None:
        """Stop the process-wide part: WebSocket spans and the reconnect counter (the HTTP
        layers already given to clients keep working)."""
        if self._closed:
            return
        self._closed = True
        _observe.unsubscribe(self._on_event)
        if _observe.span_factory() == self._span:
            _observe.set_span_factory(None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- hooks

    def _span(self, name: str, attributes: Mapping[str, Any]) -> AbstractContextManager[Any]:
        assert self.tracer is not None
        return self.tracer.start_as_current_span(
            name, kind=SpanKind.CLIENT, attributes=dict(attributes)
        )

    def _on_event(self, logger: str, level: int, event: str, fields: Mapping[str, Any]) -> None:
        if event == "websocket.reconnected":
            if self.meter is not None:
                self.reconnects.add(1, _server(str(fields.get("url", ""))))
            return
        wanted = _SPAN_EVENTS.get(event)
        if wanted is None:
            return
        span = _REQUEST_SPAN.get()
        if span is None:
            return
        attributes = {f"pepperpy.{key}": _attribute(fields[key]) for key in wanted
                      if fields.get(key) is not None}
        span.add_event(event, attributes)


def _attribute(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int, float)) else str(value)


def _error_type(error: BaseException) -> str:
    kind = type(error)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


class RequestSpanMiddleware:
    """The logical request: a CLIENT span and the duration measurement (outermost layer, so
    one per call however many attempts, and a cache hit as fast as it was)."""

    rank = RANK_METRICS - 50

    def __init__(self, otel: OpenTelemetry) -> None:
        self.otel = otel
        self._urls: dict[str, tuple[str, dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return "RequestSpanMiddleware()"

    def _facts(self, url: str) -> tuple[str, dict[str, Any]]:
        """``(redacted URL, server attributes)`` of ``url``, remembered for 1024 URLs."""
        known = self._urls.get(url)
        if known is None:
            if len(self._urls) >= 1024:
                self._urls.clear()
            known = self._urls[url] = (redact_url(url), _server(url))
        return known

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        tracer = self.otel.tracer
        safe_url, server = self._facts(request.url)
        span: Any = None
        live = False
        if tracer is not None:
            span = tracer.start_span(request.method, kind=SpanKind.CLIENT, attributes={
                "http.request.method": request.method, "url.full": safe_url, **server})
            # a no-op tracer's span has no valid context: nothing to make current
            live = span.get_span_context().is_valid
            if live:
                context_token = otel_context.attach(otel_trace.set_span_in_context(span))
                span_token = _REQUEST_SPAN.set(span)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:
            facts = {**request.metadata, "attempts": getattr(exc, "attempts", None)}
            self._finish(span, request.method, server, facts, None, exc, started)
            raise
        else:
            self._finish(span, request.method, server, response.metadata, response, None,
                         started)
            return response
        finally:
            if live:
                _REQUEST_SPAN.reset(span_token)
                otel_context.detach(context_token)
            if span is not None:
                span.end()

    def _finish(
        self, span: Any, method: str, server: dict[str, Any], facts: Mapping[str, Any],
        response: Response | None, error: BaseException | None, started: float,
    ) -> None:
        otel = self.otel
        attributes: dict[str, Any] = {"http.request.method": method, **server}
        if response is not None:
            attributes["http.response.status_code"] = response.status
            if response.status >= 400:
                attributes["error.type"] = str(response.status)
        if error is not None:
            attributes["error.type"] = _error_type(error)
        cache = facts.get("cache")
        attempts = facts.get("attempts")
        if span is not None and span.is_recording():
            span.set_attributes(attributes)
            if isinstance(attempts, int):
                span.set_attribute("pepperpy.http.attempts", attempts)
            if cache is not None:
                span.add_event("http.cache", {"pepperpy.cache.result": str(cache)})
            if error is not None:  # our errors' messages are redacted
                span.record_exception(error)
            if "error.type" in attributes:
                span.set_status(Status(StatusCode.ERROR, attributes["error.type"]))
        if otel.meter is None:
            return
        otel.duration.record(time.perf_counter() - started, attributes)
        common: dict[str, Any] = {"http.request.method": method}
        if "server.address" in server:
            common["server.address"] = server["server.address"]
        if isinstance(attempts, int) and attempts > 1:
            otel.retries.add(attempts - 1, common)
        waits = facts.get("rate_limit_waits")
        if waits:
            otel.rate_limit_waits.add(waits, common)
        if cache is not None:
            otel.cache_requests.add(1, {**common, "pepperpy.cache.result": str(cache)})


class AttemptSpanMiddleware:
    """One attempt: a child span of the request's, and the ``traceparent`` header when
    propagation is on. Inside the rate limiter, so its waits are not part of the attempt.
    Under a request span that is not recorded (sampled out, or a no-op tracer) no attempt
    span is made; the header still carries the request's context."""

    rank = RANK_RATE_LIMIT + 50

    def __init__(self, otel: OpenTelemetry) -> None:
        self.otel = otel
        assert otel.tracer is not None
        self._tracer = otel.tracer

    def __repr__(self) -> str:
        return "AttemptSpanMiddleware()"

    def _inject(self, request: Request) -> None:
        carrier: dict[str, str] = {}
        otel_propagate.inject(carrier)
        for name, value in carrier.items():
            request.headers[name] = value

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        parent = _REQUEST_SPAN.get()
        if parent is None or not parent.is_recording():
            if parent is not None and self.otel.propagate:
                self._inject(request)
            return await call_next(request)
        attempt = request.metadata.get("attempt", 1)
        if not self.otel.attempt_spans:
            return await self._as_event(parent, attempt, request, call_next)
        attributes: dict[str, Any] = {"http.request.method": request.method}
        if attempt > 1:
            attributes["http.request.resend_count"] = attempt - 1
        with self._tracer.start_as_current_span(
            f"{request.method} attempt", kind=SpanKind.INTERNAL, attributes=attributes,
            record_exception=False, set_status_on_exception=False,
        ) as span:
            if self.otel.propagate:
                self._inject(request)
            try:
                response = await call_next(request)
            except Exception as exc:
                span.set_attribute("error.type", _error_type(exc))
                span.set_status(Status(StatusCode.ERROR, _error_type(exc)))
                raise
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 400:
                span.set_attribute("error.type", str(response.status))
                span.set_status(Status(StatusCode.ERROR, str(response.status)))
            return response

    async def _as_event(
        self, parent: Any, attempt: int, request: Request, call_next: CallNext
    ) -> Response:
        if self.otel.propagate:
            self._inject(request)
        attributes: dict[str, Any] = {"pepperpy.attempt": attempt}
        try:
            response = await call_next(request)
        except Exception as exc:
            attributes["error.type"] = _error_type(exc)
            raise
        else:
            attributes["http.response.status_code"] = response.status
            return response
        finally:
            parent.add_event("http.attempt", attributes)
