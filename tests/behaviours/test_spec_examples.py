"""The specification's example classes, copied as written (subclassing our HttpClient), run
against a local server: the documented hook and call shapes work unchanged."""

# ruff: noqa: F841  (the copy keeps the documents' unused `as e`)
from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from pepperpy_core import HttpClient, RateLimitError
from pepperpy_core.testing import LocalServer

# --- copied from the specification ------------------------------------------------------------


class RateLimitedClient(HttpClient):
    def __init__(
        self,
        max_requests: int = 100,
        window: float = 60.0
    ):
        super().__init__()
        self.max_requests = max_requests
        self.window = window
        self.requests = []

    async def _send_request(self, *args, **kwargs):
        # Limpar requisições antigas
        now = time.time()
        self.requests = [
            t for t in self.requests
            if now - t < self.window
        ]

        # Verificar limite
        if len(self.requests) >= self.max_requests:
            raise RateLimitError(
                f"Limite de {self.max_requests} "
                f"requisições por {self.window}s excedido"
            )

        # Registrar requisição
        self.requests.append(now)

        return await super()._send_request(*args, **kwargs)


class CachedClient(HttpClient):
    def __init__(self, cache_ttl: float = 300.0):
        super().__init__()
        self.cache = {}
        self.cache_ttl = cache_ttl

    async def get(self, url: str, **kwargs) -> Any:
        # Verificar cache
        cache_key = f"{url}:{json.dumps(kwargs)}"
        now = time.time()

        if cache_key in self.cache:
            entry = self.cache[cache_key]
            if now - entry["timestamp"] < self.cache_ttl:
                return entry["data"]

        # Fazer requisição
        response = await super().get(url, **kwargs)
        data = await response.json()

        # Atualizar cache
        self.cache[cache_key] = {
            "data": data,
            "timestamp": now
        }

        return data


class MetricsClient(HttpClient):
    def __init__(self):
        super().__init__()
        self.metrics = {
            "requests": 0,
            "errors": 0,
            "latency": []
        }

    async def _send_request(self, *args, **kwargs):
        start_time = time.time()

        try:
            response = await super()._send_request(
                *args,
                **kwargs
            )
            self.metrics["requests"] += 1
            return response
        except Exception as e:
            self.metrics["errors"] += 1
            raise
        finally:
            latency = time.time() - start_time
            self.metrics["latency"].append(latency)

    def get_metrics(self) -> dict:
        latency = self.metrics["latency"]
        return {
            "total_requests": self.metrics["requests"],
            "total_errors": self.metrics["errors"],
            "avg_latency": sum(latency) / len(latency)
            if latency else 0
        }

# --- end of the copy --------------------------------------------------------------------------


async def test_spec_rate_limited_client(server: LocalServer) -> None:
    """The documents' RateLimitedClient raises RateLimitError past max_requests."""
    async with RateLimitedClient(max_requests=2, window=60.0) as client:
        await client.get(server.url("/plain"))
        await client.get(server.url("/plain"))
        with pytest.raises(RateLimitError):
            await client.get(server.url("/plain"))


async def test_spec_cached_client(server: LocalServer, hits: Counter[str]) -> None:
    """The documents' CachedClient returns parsed data and serves repeats from its dict."""
    async with CachedClient(cache_ttl=300.0) as client:
        first = await client.get(server.url("/plain"), params={"a": 1})
        second = await client.get(server.url("/plain"), params={"a": 1})
    assert first == second == {"n": 1} and hits["plain"] == 1


async def test_spec_metrics_client(server: LocalServer) -> None:
    """The documents' MetricsClient counts requests, errors and latency."""
    async with MetricsClient() as client:
        await client.get(server.url("/plain"))
        with pytest.raises(ConnectionError):
            await client.get("http://127.0.0.1:1/unreachable", retries=0)
        metrics = client.get_metrics()
    assert metrics["total_requests"] == 1 and metrics["total_errors"] == 1
    assert metrics["avg_latency"] > 0
