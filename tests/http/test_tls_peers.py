"""nginx over TLS (a trustme CA) as a real peer: a redirect that changes only the scheme is a
new origin, and HTTP/2's DEBUG logs (httpcore, h2, hpack) carry no secret."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest
from peers.nginx import Nginx, run_nginx

from pepperpy_core import HttpClient
from pepperpy_core.http.factory import AiohttpSession, create_client

trustme = pytest.importorskip("trustme")

SECRETS = ("Bearer tls-token-secret", "sid-cookie-secret", "proxy-pass-secret", "qs-key-secret")

# The port speaks TLS only; a plain-HTTP request to it (nginx's status 497) is sent on to the
# same host and port with https: a redirect that changes the scheme and nothing else.
SNIPPET = r"""
        error_page 497 =301 https://$host:$server_port$request_uri;
        location = /echo {
            default_type text/plain;
            set $credentials "auth=[$http_authorization] cookie=[$http_cookie]";
            return 200 "$credentials proxy=[$http_proxy_authorization] proto=[$server_protocol]";
        }
"""


@pytest.fixture(scope="module")
def tls_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Nginx, Path]]:
    base = tmp_path_factory.mktemp("tls-nginx")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, bundle = base / "cert.pem", base / "key.pem", base / "ca.pem"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(bundle))
    root = base / "www"
    root.mkdir()
    with run_nginx(root, SNIPPET, tls=(cert, key)) as server:
        yield server, bundle


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
async def test_scheme_only_redirect_drops_credentials(
    tls_nginx: tuple[Nginx, Path], backend: str
) -> None:
    """http://127.0.0.1:P -> https://127.0.0.1:P is another origin (RFC 6454: scheme, host and
    port): the Authorization, Proxy-Authorization and Cookie headers do not follow it. The
    client's cookie jar scopes by host as RFC 6265 does (no isolation by scheme or port), so
    its cookie does follow to the same host."""
    server, bundle = tls_nginx
    plain = f"http://127.0.0.1:{server.port}"
    async with HttpClient(
        base_url=plain, backend=backend, verify=str(bundle),
        headers={"Authorization": SECRETS[0], "Cookie": "given=header-cookie-secret"},
    ) as c:
        response = await c.get("/echo", headers={"Proxy-Authorization": SECRETS[2]})
        text = await response.text()
    assert response.metadata["redirects"] and str(response.url).startswith("https://")
    assert text.startswith("auth=[] cookie=[] proxy=[]"), text
    async with HttpClient(
        base_url=plain, backend=backend, verify=str(bundle), cookies={"sid": "jar"}
    ) as c:
        assert "cookie=[sid=jar]" in await (await c.get("/echo")).text()


async def test_http2_debug_logs_carry_no_secret(
    tls_nginx: tuple[Nginx, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """With every logger at DEBUG, an HTTP/2 exchange (hpack encodes and decodes each header,
    httpcore and h2 log frames) leaves none of the request's secrets in any record."""
    server, bundle = tls_nginx
    context = ssl.create_default_context(cafile=str(bundle))
    caplog.set_level(logging.DEBUG)
    async with HttpClient(
        base_url=server.base, backend="httpx", http2=True, verify=context,
        headers={"Authorization": SECRETS[0]}, cookies={"sid": SECRETS[1]},
    ) as c:
        response = await c.get(
            f"/echo?api_key={SECRETS[3]}", headers={"Proxy-Authorization": SECRETS[2]}
        )
        body = await response.text()
    assert "proto=[HTTP/2.0]" in body and SECRETS[0] in body  # the secrets did go on the wire
    logged = "\n".join(record.getMessage() for record in caplog.records)
    names = {record.name.split(".")[0] for record in caplog.records}
    assert {"hpack", "httpcore"} <= names  # the libraries did log the exchange
    for secret in SECRETS:
        assert secret.split()[-1] not in logged


@pytest.mark.parametrize("client_type", ["aiohttp", "httpx"])
async def test_factories_trust_nginx_through_a_ca_bundle_path(
    tls_nginx: tuple[Nginx, Path], client_type: str
) -> None:
    """create_client(verify=<a CA bundle path>) trusts nginx's certificate from that CA; by
    default (verify=True, the system's CAs) the same server is refused."""
    server, bundle = tls_nginx
    url = f"https://127.0.0.1:{server.port}/echo"
    trusting = create_client(client_type, verify=bundle)  # type: ignore[call-overload]
    async with trusting:
        if isinstance(trusting, AiohttpSession):
            async with trusting.get(url) as response:
                status = response.status
        else:
            status = (await trusting.get(url)).status_code
    assert status == 200
    default = create_client(client_type)  # type: ignore[call-overload]
    async with default:
        with pytest.raises(
            (aiohttp.ClientConnectorCertificateError, httpx.ConnectError),
            match=r"(?i)certificate verify failed",
        ):
            if isinstance(default, AiohttpSession):
                async with default.get(url):
                    pass
            else:
                await default.get(url)
