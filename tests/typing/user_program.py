"""A small, fully typed program that uses the library the way its guides and examples do.
``tests/typing/test_mypy.py`` checks it with ``mypy --strict``: it must pass with no error and
no ignore comment, so every public name, signature and return type it touches is typed as a
user expects. It is type-checked only, never run (it would need the internet)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

from pepperpy_core import (
    AiohttpSession,
    BatchWebSocket,
    CachedClient,
    ConfigurationError,
    DownloadException,
    DownloadHandler,
    DownloadStalledException,
    HttpClient,
    HTTPStatusError,
    MetricsClient,
    NetworkManager,
    PepperPyError,
    RateLimitedClient,
    RateLimitError,
    RateLimitException,
    Request,
    Response,
    RetryPolicy,
    RetryWebSocket,
    Timeout,
    VisionDownloadManager,
    WebSocket,
    create_aiohttp_client,
    create_client,
    create_httpx_client,
    download_files_concurrently,
    make_api_request,
)


async def plain_client() -> list[str]:
    client = HttpClient(base_url="https://api.example.com", timeout=30.0, retries=3)
    try:
        response: Response = await client.get("/users", params={"page": 1, "limit": 10})
        users: Any = await response.json()
        response = await client.post("/users", json={"name": "John", "email": "john@example.com"})
        response.raise_for_status()
        with open("data.txt", "rb") as handle:
            response = await client.post("/upload", files={"file": handle})
        status: int = response.status
        text: str = await response.text()
        await client.get(
            "/slow", timeout=Timeout(total=5.0, connect=1.0), retries=0, cache=False,
            weight=2, follow_redirects=False, headers={"X-Trace": "1"},
        )
        return [str(users), str(status), text]
    except HTTPStatusError as exc:
        return [f"HTTP {exc.status}"]
    finally:
        await client.close()


async def context_managed() -> bytes:
    async with HttpClient("https://api.example.com", auth=("user", "pass")) as client:
        async with client.stream("GET", "/big") as response:
            chunks = [chunk async for chunk in response.iter_bytes(1 << 16)]
        request: Request = client.build_request("GET", "/x")
        return b"".join(chunks) + request.url.encode()


class SignedClient(HttpClient):
    """The documents' hook: an override of ``_send_request`` written as they write it."""

    async def _send_request(self, *args: Any, **kwargs: Any) -> Response:
        started = time.time()
        try:
            return await super()._send_request(*args, **kwargs)
        finally:
            self.last_latency = time.time() - started


class Api(CachedClient, RateLimitedClient):
    """Ready-made classes compose by inheritance."""


async def ready_made() -> dict[str, Any]:
    async with CachedClient(60.0, base_url="https://api.example.com") as cached:
        await cached.get("/data")
    async with RateLimitedClient(100, 60.0, raise_on_limit=True) as limited:
        try:
            await limited.get("https://api.example.com/data")
        except RateLimitError as exc:
            wait: float | None = exc.retry_after
            print(wait)
    async with Api(
        base_url="https://api.example.com", max_requests=10, window=1.0, cache_ttl=60.0,
        retries=RetryPolicy(total=3, backoff_base=0.01),
    ) as api:
        await api.get("/data")
    async with MetricsClient(base_url="https://api.example.com") as measured:
        await measured.get("/data")
        return measured.get_metrics()


async def websockets() -> None:
    ws = WebSocket("wss://ws.example.com")
    try:
        await ws.connect()

        @ws.on("message")
        async def handle_message(data: dict[str, Any]) -> None:
            print(f"Mensagem: {data}")

        @ws.on("error")
        async def handle_error(error: Exception) -> None:
            print(f"Erro: {error}")

        await ws.send({"type": "subscribe", "channel": "updates"})
        message: Any = await ws.receive()
        print(message)
        async for message in ws:
            print(f"Recebido: {message}")
    finally:
        await ws.close()
    retrying = RetryWebSocket("wss://ws.example.com", max_retries=3, retry_delay=1.0,
                              ping_interval=10.0, headers={"X-Key": "k"})
    batch = BatchWebSocket("wss://ws.example.com", batch_size=100, flush_interval=1.0,
                           max_size=2**16)
    for socket in (retrying, batch):
        await socket.connect()
        await socket.send({"x": 1})
        await socket.close()


async def network() -> bool:
    manager = NetworkManager()
    await manager.initialize()
    api: HttpClient = manager.http_client(base_url="https://status.example.com", retries=2)
    feed: WebSocket = manager.websocket("wss://stream.example.com/ws", ping_interval=5.0)
    print(api, feed)
    is_online: bool = await manager.check_connection()
    await manager.monitor_connection(
        on_disconnect=lambda: print("Desconectado"),
        on_reconnect=lambda: print("Reconectado"),
    )
    await manager.close()
    return is_online


async def market_data() -> None:
    client = create_client(client_type="httpx", timeout=30, headers={"X-Custom-Header": "Value"})
    try:
        handler = DownloadHandler(client)
        success: bool = await handler.download_file(
            url="https://example.com/file.zip", local_path=Path("./downloads/file.zip")
        )
        data: Any = await make_api_request(
            client=client, url="https://api.example.com/data", params={"limit": 100},
            max_retries=3,
        )
        outcomes = await download_files_concurrently(
            client, ["https://example.com/a.zip"], ["a.zip"], max_concurrent=5,
            chunk_size=1 << 16, max_retries=2,
        )
        manager = VisionDownloadManager(client=client, symbol="BTCUSDT", interval="1m")
        frame = await manager.download_date(dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc))
        print(success, data, len(outcomes), len(frame))
    except (DownloadStalledException, DownloadException, RateLimitException) as exc:
        print(f"failed: {exc}")
    finally:
        await client.aclose()


async def raw_clients() -> None:
    """The factories, with their own options and the escape hatch to the library's."""
    session: AiohttpSession = create_client(
        timeout=10, max_connections=20, max_connections_per_host=5, verify=True,
        session_options={"raise_for_status": True},
    )
    faster = create_client("httpx", http2=True, trust_env=False, cookies={"id": "1"})
    plain = create_aiohttp_client(30.0, 100, {"X-App": "a"}, proxy=None)
    other = create_httpx_client(session_options={"follow_redirects": True})
    for client in (session, faster, plain, other):
        await client.aclose()


def errors_users_catch() -> None:
    try:
        HttpClient(timeout=0)
    except ConfigurationError as exc:
        assert isinstance(exc, ValueError)
    except PepperPyError:
        raise


if __name__ == "__main__":
    asyncio.run(plain_client())
