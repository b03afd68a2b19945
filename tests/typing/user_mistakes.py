"""Mistakes a user makes, each of which ``mypy --strict`` must reject. A line ending in
``# E: <words>`` is one mypy must report (its message containing the words); every other line
must be clean. ``tests/typing/test_mypy.py`` runs the check; this file is never run."""

from __future__ import annotations

from pepperpy_core import (
    BatchWebSocket,
    CachedClient,
    DownloadHandler,
    HttpClient,
    NetworkManager,
    RateLimitedClient,
    RetryWebSocket,
    WebSocket,
    create_aiohttp_client,
    create_client,
    create_httpx_client,
    download_files_concurrently,
)


class Api(CachedClient, RateLimitedClient):
    """Composed as the README composes it."""


async def mistakes() -> None:
    client = HttpClient("https://api.example.com")
    await client.get("/users", parms={"page": 1})  # E: Unexpected keyword argument "parms"
    await client.get("/users", tiemout=0.001)  # E: Unexpected keyword argument "tiemout"
    await client.get("/users", allow_redirects=False)  # E: Unexpected keyword argument
    await client.post("/users", timeout="30")  # E: Argument "timeout"
    await client.get("/users", headers=[("a", "b")])  # E: Argument "headers"
    await client.get("/users", retries="3")  # E: Argument "retries"
    await client.request("GET", "/users", weight="heavy")  # E: Argument "weight"
    HttpClient("https://a.example", 30.0)  # E: Too many positional arguments
    HttpClient(tiemout=30.0)  # E: Unexpected keyword argument "tiemout"
    HttpClient(timeout="30")  # E: Argument "timeout"
    HttpClient(auth="user:pass")  # E: Argument "auth"
    CachedClient("https://api.example.com")  # E: Argument 1
    RateLimitedClient(100, 60.0, base_ur="https://a.example")  # E: Unexpected keyword argument
    WebSocket("wss://a.example", ping_intervall=5)  # E: Unexpected keyword argument
    create_client(client_type="requests")  # E: "create_client"
    create_client(tiemout=30)  # E: Unexpected keyword argument "tiemout" for overloaded
    create_client("httpx", max_connections_per_host=2)  # E: No overload variant
    create_client(http2=True)  # E: No overload variant of "create_client"
    create_aiohttp_client(tiemout=30)  # E: Unexpected keyword argument "tiemout"
    create_httpx_client(raise_for_status=True)  # E: Unexpected keyword argument
    create_httpx_client(session_options=[("a", 1)])  # E: Argument "session_options"
    create_aiohttp_client(timeout="30")  # E: Argument "timeout"
    DownloadHandler(client, chunk_size="1MB")  # E: Argument "chunk_size"
    RetryWebSocket("wss://a.example", 5, ping_intervall=5)  # E: Unexpected keyword argument
    BatchWebSocket("wss://a.example", 10, max_size="big")  # E: Argument "max_size"
    await DownloadHandler(client).download_file("u", "p", sha=None)  # E: Unexpected keyword
    await download_files_concurrently(client, ["u"], "d", chunk_size="1")  # E: "chunk_size"
    NetworkManager().http_client(base_url=1)  # E: Argument "base_url"
    Api(max_request=10, cache_ttl=60.0)  # E: Unexpected keyword argument "max_request"
    Api(max_requests="10")  # E: Argument "max_requests"
    response = await client.get("/users")
    status: str = response.status  # E: Incompatible types in assignment
    print(status)
