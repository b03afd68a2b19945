"""wss:// against a real TLS server: verification is on by default."""

from __future__ import annotations

import ssl

import pytest
import websockets

from pepperpy_core import WebSocket, WebSocketConnectionError


async def test_wss_verifies_certificates_by_default() -> None:
    """A server whose CA the client does not trust is refused; trusting the CA connects."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)

    async def echo(conn: websockets.ServerConnection) -> None:
        async for message in conn:
            await conn.send(message)

    async with websockets.serve(echo, "127.0.0.1", 0, ssl=server_ctx) as srv:
        url = f"wss://127.0.0.1:{next(iter(srv.sockets)).getsockname()[1]}"
        refused = WebSocket(url, open_timeout=5)
        with pytest.raises(WebSocketConnectionError, match=r"(?i)certificate|ssl"):
            await refused.connect()
        await refused.close()
        client_ctx = ssl.create_default_context()
        ca.configure_trust(client_ctx)
        async with WebSocket(url, ssl_context=client_ctx) as ws:
            await ws.send({"secure": True})
            assert await ws.receive() == {"secure": True}
