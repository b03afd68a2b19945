"""Connectivity probes: immutable descriptions of "what to try" plus the one check each makes.

A probe is any object with ``async check(context)`` that returns when its target is reachable
and raises otherwise, and a ``str()`` naming the target (safe to log). The manager runs the
probes of one check concurrently and bounds each by its own timeout, so the built-in probes
never wait on their own beyond what the context allows.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import urlsplit

from pepperpy_core.exceptions import ConfigurationError, ProbeError
from pepperpy_core.logging import redact_url

if TYPE_CHECKING:
    from pepperpy_core.http.client import HttpClient

__all__ = [
    "DEFAULT_TARGETS",
    "DnsProbe",
    "HttpProbe",
    "Probe",
    "ProbeContext",
    "ProbeResult",
    "TcpProbe",
    "parse_target",
]


@dataclass(frozen=True)
class ProbeContext:
    """What a probe may use during one check.

    - ``timeout``: seconds this probe is allowed (the manager also enforces it).
    - ``http``: a callable returning the manager's probe ``HttpClient`` (no retries, no
      redirects followed, so a captive portal's redirect is seen as such). It is created on
      first call, so probes that never need HTTP cost nothing.
    """

    timeout: float
    http: Callable[[], HttpClient]


@runtime_checkable
class Probe(Protocol):
    """Anything the manager can run: returns when the target is up, raises when it is not."""

    async def check(self, context: ProbeContext) -> None: ...


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe in one check: ``latency`` in seconds (None on failure),
    ``error`` a one-line reason (None on success)."""

    target: str
    ok: bool
    latency: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class TcpProbe:
    """Up when a TCP connection to ``host``:``port`` opens (it is closed at once)."""

    host: str
    port: int

    def __post_init__(self) -> None:
        if not self.host or any(c in self.host for c in " /"):
            raise ConfigurationError(f"TcpProbe: host: invalid host {self.host!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ConfigurationError(f"TcpProbe: port: must be an int (got {self.port!r})")
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"TcpProbe: port: must be 1-65535 (got {self.port})")

    async def check(self, context: ProbeContext) -> None:
        _reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:  # a peer resetting on close does not make it unreachable
            pass

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


@dataclass(frozen=True)
class HttpProbe:
    """Up when a GET of ``url`` answers as expected, through the manager's ``HttpClient``.

    - ``expected_status``: the status meaning "up" (e.g. 204 for a ``generate_204``
      endpoint); None accepts any 2xx. Redirects are never followed: a captive portal that
      redirects to its login page, or answers 200 where 204 was expected, counts as down.
    - ``expected_body``: text the body must contain (None: not checked), for endpoints that
      answer 200 with a known word, which a portal's login page will not contain.
    """

    url: str
    expected_status: int | None = None
    expected_body: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"HttpProbe: url: must be an absolute http(s) URL (got {redact_url(self.url)!r})"
            )
        status = self.expected_status
        if status is not None and not 100 <= status <= 599:
            raise ConfigurationError(f"HttpProbe: expected_status: must be 100-599 (got {status})")

    async def check(self, context: ProbeContext) -> None:
        response = await context.http().get(self.url, timeout=context.timeout, retries=0)
        try:
            if not self._status_ok(response.status):
                raise ProbeError(
                    f"status {response.status}, expected "
                    f"{self.expected_status or '2xx'} (captive portal or wrong endpoint?)",
                    target=str(self),
                )
            if self.expected_body is not None and self.expected_body not in await response.text(
                errors="replace"
            ):
                raise ProbeError(
                    "body lacks the expected text (captive portal?)", target=str(self)
                )
        finally:
            await response.aclose()

    def _status_ok(self, status: int) -> bool:
        if self.expected_status is None:
            return 200 <= status < 300
        return status == self.expected_status

    def __str__(self) -> str:
        return redact_url(self.url)


@dataclass(frozen=True)
class DnsProbe:
    """Up when the system resolver turns ``name`` into at least one address."""

    name: str

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in " /:"):
            raise ConfigurationError(f"DnsProbe: name: invalid host name {self.name!r}")

    async def check(self, context: ProbeContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.name, None, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ProbeError(f"cannot resolve: {exc.strerror or exc}", target=str(self)) from exc
        if not infos:
            raise ProbeError("resolved to no address", target=str(self))

    def __str__(self) -> str:
        return f"dns://{self.name}"


#: Used when ``targets`` is not given: the captive-portal checks of four operating systems and
#: browsers, run by four companies, so one outage does not read as "offline". Any one up means
#: online. All are HTTP checks of a known answer on purpose: behind a captive portal a bare TCP
#: connect often succeeds (the portal accepts it), which would hide the portal.
DEFAULT_TARGETS: tuple[Probe, ...] = (
    HttpProbe("http://connectivitycheck.gstatic.com/generate_204", expected_status=204),
    HttpProbe("http://www.msftconnecttest.com/connecttest.txt", expected_body="Microsoft"),
    HttpProbe("http://captive.apple.com/hotspot-detect.html", expected_body="Success"),
    HttpProbe("http://detectportal.firefox.com/success.txt", expected_body="success"),
)


def parse_target(target: str | Probe) -> Probe:
    """A probe from ``"tcp://host:port"``, ``"http(s)://..."``, ``"dns://name"`` or a bare
    ``"host:port"`` (TCP); probe objects pass through. Raises ConfigurationError otherwise."""
    if not isinstance(target, str):
        if isinstance(target, Probe):
            return target
        raise ConfigurationError(
            f"target {target!r}: expected a string or an object with async check(context)"
        )
    scheme, sep, rest = target.partition("://")
    if not sep:
        return _tcp_from(target, target)
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        return HttpProbe(target)
    if scheme == "tcp":
        return _tcp_from(rest.rstrip("/"), target)
    if scheme == "dns":
        return DnsProbe(rest.rstrip("/"))
    raise ConfigurationError(
        f"target {redact_url(target)!r}: unknown scheme {scheme!r}; use tcp://, http://, "
        "https://, dns:// or host:port"
    )


def _tcp_from(hostport: str, original: str) -> TcpProbe:
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigurationError(
            f"target {original!r}: expected host:port, tcp://host:port, http(s)://... "
            "or dns://name"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigurationError(f"target {original!r}: bad IPv6 address") from None
    return TcpProbe(host, int(port))
