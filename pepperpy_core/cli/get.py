"""``pepperpy-core get URL``: one HTTP request, printed for people or as JSON for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pepperpy_core.cli._common import EXIT_FAILURE, EXIT_OK, parse_header
from pepperpy_core.http.client import HttpClient
from pepperpy_core.http.models import Response

_HELP = """\
Send one request and print the status line, the headers and the body.
Retries transient failures (connect errors, 429/502/503/504) with backoff.
Exit code 0 for a status below 400, 1 for 4xx/5xx, 3 for network errors.

examples:
  pepperpy-core get https://api.example.com/data
  pepperpy-core get https://api.example.com/data -H "Accept: application/json" --json
  pepperpy-core get https://api.example.com/items -X POST -d '{"name": "x"}' --retries 0
"""


def add_parser(sub: Any) -> None:
    """Register the ``get`` subcommand."""
    p = sub.add_parser(
        "get", help="send an HTTP request and print the response", description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", help="absolute http(s) URL")
    p.add_argument("-X", "--method", default="GET", help="HTTP method (default GET)")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="extra request header; repeat for more")
    p.add_argument("-d", "--data", help="request body; sent as JSON if it parses as JSON")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {status, reason, url, headers, body, attempts}")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds for the request (30)")
    p.add_argument("--retries", type=int, default=3, help="retries on transient failures (3)")
    p.add_argument("-i", "--include", action="store_true", default=True, help=argparse.SUPPRESS)
    p.set_defaults(handler=run_get)


async def run_get(args: argparse.Namespace) -> int:
    """Do the request; print it; return the exit code."""
    headers = dict(parse_header(h) for h in args.header)
    kwargs: dict[str, Any] = {"headers": headers}
    if args.data is not None:
        try:
            kwargs["json"] = json.loads(args.data)
        except ValueError:
            kwargs["data"] = args.data
    async with HttpClient(timeout=args.timeout, retries=args.retries) as client:
        response = await client.request(args.method, args.url, **kwargs)
        body = await response.read()
    if args.json:
        print(json.dumps(_as_json(response, body), indent=2, ensure_ascii=False))
    else:
        _print_human(response, body)
    return EXIT_OK if response.ok else EXIT_FAILURE


def _as_json(response: Response, body: bytes) -> dict[str, Any]:
    parsed: Any
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode(response.charset or "utf-8", "replace")
    return {
        "status": response.status,
        "reason": response.reason,
        "url": response.url,
        "headers": dict(response.headers.items()),
        "body": parsed,
        "attempts": response.metadata.get("attempts", 1),
        "elapsed_ms": round(response.elapsed.total_seconds() * 1000, 2),
    }


def _print_human(response: Response, body: bytes) -> None:
    out = sys.stdout
    out.write(f"HTTP {response.status} {response.reason}\n")
    for name, value in response.headers.items():
        out.write(f"{name}: {value}\n")
    out.write("\n")
    out.write(body.decode(response.charset or "utf-8", "replace"))
    if body and not body.endswith(b"\n"):
        out.write("\n")
