"""Probe targets: parsing, validation, and what each probe calls up or down on local servers."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from typing import Any

import pytest

from pepperpy_core.exceptions import ConfigurationError, ProbeError
from pepperpy_core.http import HttpClient
from pepperpy_core.network import (
    DEFAULT_TARGETS,
    DnsProbe,
    HttpProbe,
    ProbeContext,
    TcpProbe,
    parse_target,
)
from pepperpy_core.testing import LocalServer


@pytest.fixture
async def context() -> Any:
    client = HttpClient(retries=0, follow_redirects=False)
    yield ProbeContext(timeout=2.0, http=lambda: client)
    await client.close()


# --------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tcp://db.example.com:5432", TcpProbe("db.example.com", 5432)),
        ("db.example.com:5432", TcpProbe("db.example.com", 5432)),
        ("TCP://10.0.0.1:80/", TcpProbe("10.0.0.1", 80)),
        ("[::1]:443", TcpProbe("::1", 443)),
        ("https://example.com/health", HttpProbe("https://example.com/health")),
        ("dns://example.com", DnsProbe("example.com")),
    ],
)
def test_parse_target_forms(text: str, expected: object) -> None:
    """Each documented string form becomes the matching probe value."""
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    "text", ["example.com", "ftp://example.com", "host:http", "tcp://host:0", "[zz]:1", ":80"]
)
def test_parse_target_rejects_bad_strings(text: str) -> None:
    """A string that names no probe raises ConfigurationError quoting it."""
    with pytest.raises(ConfigurationError):
        parse_target(text)


def test_parse_target_passes_probe_objects_through() -> None:
    """A probe object (built-in or custom) is used as given; other objects are refused."""
    probe = TcpProbe("127.0.0.1", 1)
    assert parse_target(probe) is probe
    with pytest.raises(ConfigurationError):
        parse_target(42)  # type: ignore[arg-type]


def test_probes_are_immutable_printable_values() -> None:
    """Probes compare by value, hash, refuse mutation and print as their target string."""
    probe = TcpProbe("::1", 443)
    assert str(probe) == "tcp://[::1]:443"
    assert {probe, TcpProbe("::1", 443)} == {probe}
    with pytest.raises(dataclasses.FrozenInstanceError):
        probe.port = 1  # type: ignore[misc]
    assert str(DnsProbe("localhost")) == "dns://localhost"


def test_http_probe_redacts_credentials_in_its_name() -> None:
    """A probe URL's user info and secret query values never reach a log line."""
    probe = HttpProbe("https://user:pw@example.com/health?token=abc")
    assert "pw" not in str(probe) and "abc" not in str(probe)


@pytest.mark.parametrize(
    "build",
    [
        lambda: TcpProbe("", 80),
        lambda: TcpProbe("host", 70000),
        lambda: HttpProbe("example.com/health"),
        lambda: HttpProbe("http://example.com", expected_status=42),
        lambda: DnsProbe("bad name"),
    ],
)
def test_invalid_probe_values_are_refused(build: Any) -> None:
    """Out-of-range ports, relative URLs, bad statuses and bad names fail at construction."""
    with pytest.raises(ConfigurationError):
        build()


def test_defaults_are_independent_portal_aware_checks() -> None:
    """The defaults are several hosts, each an HTTP check of a known status or word."""
    assert len({str(t).split("/")[2] for t in DEFAULT_TARGETS}) >= 4
    for probe in DEFAULT_TARGETS:
        assert isinstance(probe, HttpProbe)
        assert probe.expected_status is not None or probe.expected_body is not None


# --------------------------------------------------------------------- running probes


async def test_tcp_probe_up_and_down(tcp_target: Any, context: ProbeContext) -> None:
    """A TCP probe returns while the port accepts and raises once it is closed."""
    probe = TcpProbe("127.0.0.1", tcp_target.port)
    await probe.check(context)
    await tcp_target.stop()
    with pytest.raises(OSError):
        await probe.check(context)


async def test_http_probe_accepts_expected_status(
    http_target: LocalServer, context: ProbeContext
) -> None:
    """A 204 endpoint with expected_status=204, and any 2xx by default, count as up."""
    await HttpProbe(http_target.url("/generate_204"), expected_status=204).check(context)
    await HttpProbe(http_target.url("/health")).check(context)
    await HttpProbe(http_target.url("/health"), expected_body="success").check(context)


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("/portal", {}),  # redirect to a login page: not followed
        ("/health", {"expected_status": 204}),  # 200 where 204 is expected
        ("/login", {"expected_body": "success"}),  # a login page instead of the known word
        ("/down", {}),
    ],
)
async def test_http_probe_treats_portals_and_errors_as_down(
    http_target: LocalServer, context: ProbeContext, path: str, options: dict[str, Any]
) -> None:
    """A captive portal's redirect or page, and an error status, raise ProbeError."""
    with pytest.raises(ProbeError):
        await HttpProbe(http_target.url(path), **options).check(context)


async def test_dns_probe_resolves_localhost(context: ProbeContext) -> None:
    """Resolving localhost succeeds through the system resolver."""
    await DnsProbe("localhost").check(context)


async def test_dns_probe_failure_is_a_probe_error(
    context: ProbeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resolver error becomes a ProbeError naming the target (no real lookup is made)."""

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", failing)
    with pytest.raises(ProbeError, match="Name or service not known") as info:
        await DnsProbe("localhost").check(context)
    assert info.value.target == "dns://localhost"
