"""A caching reverse proxy for the public HTTP cache conformance suite (cache-tests.fyi).

Every request it receives goes through one long-lived ``CachedClient`` to the origin, and the
answer (stored or fresh) goes back as it came. The suite itself is not part of this project:
see ``benchmarks/results/cache_conformance.md`` for how to fetch and run it against this proxy.

    python benchmarks/cache_conformance_proxy.py --origin http://127.0.0.1:8000 --port 8081
        [--ttl 300] [--shared]

``--ttl`` is ``cache_ttl`` (default: none, header-based freshness only); ``--shared`` runs the
cache in shared mode. Serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, MultiMapping

from pepperpy_core import CachedClient
from pepperpy_core.http.retry import RetryPolicy

#: Not forwarded either way (RFC 9110 section 7.6.1), plus what aiohttp sets by itself.
_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "host", "content-length",
})
CLIENT = web.AppKey("client", CachedClient)
#: Codings the client decodes by itself; any other stays on the response as the origin sent it.
_DECODED = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd"})
#: One immediate retry, only when a kept-alive connection was closed under the request (the
#: suite's origin closes idle connections after 5 s); never on a status.
_RECONNECT = RetryPolicy(total=1, statuses=frozenset(), backoff_base=0.0, jitter=False)


def _forwardable(headers: MultiMapping[str]) -> CIMultiDict[str]:
    dropped = set(_HOP)
    for value in headers.getall("Connection", []):
        dropped.update(token.strip().lower() for token in value.split(","))
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in dropped)


async def handle(request: web.Request) -> web.StreamResponse:
    client = request.app[CLIENT]
    outgoing = _forwardable(request.headers)
    # Our client sends one line per name: repeated request lines travel as one list.
    joined = {k: ", ".join(outgoing.getall(k)) for k in outgoing}
    body = await request.read()
    response = await client.request(
        request.method, request.path_qs, headers=joined, data=body or None, retries=_RECONNECT
    )
    back = _forwardable(response.headers)
    if back.get("Content-Encoding", "").strip().lower() in _DECODED:
        back.popall("Content-Encoding")  # the client handed us the decoded body
    return web.Response(status=response.status, reason=response.reason, headers=back,
                        body=response.content)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origin", default="http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--ttl", type=float, default=None)
    parser.add_argument("--shared", action="store_true")
    args = parser.parse_args()
    # One connection per request: the suite's origin sends some answers with a wrong
    # Content-Length on purpose, which would poison a kept-alive connection for the next one.
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True), auto_decompress=False
    )
    client = CachedClient(args.ttl, base_url=args.origin, follow_redirects=False,
                          shared=args.shared, session=session)
    app = web.Application()
    app[CLIENT] = client
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(asyncio.CancelledError):
        await stop.wait()
    await runner.cleanup()
    await client.close()
    await session.close()


if __name__ == "__main__":
    asyncio.run(main())
