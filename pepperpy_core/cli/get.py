"""``pepperpy-core get URL [ITEM...]``: one HTTP request, with httpie's and curl's habits.

Imports of the library happen inside the handler, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pepperpy_core.cli._common import (
    EXIT_CLIENT_ERROR,
    EXIT_OK,
    EXIT_REDIRECT,
    EXIT_SERVER_ERROR,
    UsageError,
    number,
)

if TYPE_CHECKING:
    from pepperpy_core.http.models import Request, Response

_HELP = """\
Send one request. On a terminal: the status line, the headers, then the body (JSON
pretty-printed and coloured). On a pipe: the body only, so `pepperpy-core get URL | jq .`
works (-i adds the status line and headers). Binary bodies are never dumped to a terminal.

request items (httpie's syntax):
  name==value      query parameter          Header:value     request header
  field=value      JSON string field        field:=json      raw JSON field (number, list...)
JSON fields make the body a JSON object and the method POST (unless -X says otherwise).

URL shorthands: example.com/path means http://example.com/path; :8080/x means
http://localhost:8080/x.

exit codes: 0 ok; 2 bad arguments; with --check-status 3/4/5 for a 3xx/4xx/5xx answer;
6 host not resolved; 7 connection refused or broken; 28 timeout; 35 TLS failure.

examples:
  pepperpy-core get api.example.com/search q==python Accept:application/json
  pepperpy-core get https://api.example.com/items name=pen price:=1.5
  pepperpy-core get https://api.example.com/form -d 'a=1&b=2'
  pepperpy-core get https://api.example.com/cache -X PURGE -v
  pepperpy-core get https://host/file.bin -o file.bin --check-status
"""


def add_parser(sub: Any) -> None:
    """Register the ``get`` subcommand."""
    p = sub.add_parser(
        "get", help="send an HTTP request and print the response", description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", help="URL (http:// assumed when the scheme is missing)")
    p.add_argument("items", nargs="*", default=[], metavar="ITEM",
                   help="request items: name==value, Header:value, field=value, field:=json")
    p.add_argument("-X", "--method", default=None,
                   help="HTTP method, any token (default GET, or POST with a body)")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="extra request header (curl's form); repeat for more")
    p.add_argument("-d", "--data", metavar="DATA",
                   help="form body, as curl sends it (implies POST); @FILE reads a file")
    p.add_argument("-o", "--output", metavar="FILE", help="write the body to FILE")
    p.add_argument("-i", "--include", action="store_true",
                   help="print the status line and headers on a pipe too")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="request and response headers, and every retry, on stderr")
    p.add_argument("--check-status", action="store_true",
                   help="exit 3, 4 or 5 for a 3xx, 4xx or 5xx answer (default: exit 0)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {status, reason, url, headers, body, attempts}")
    p.add_argument("--timeout", type=number(float), default=30.0, metavar="SECONDS",
                   help="seconds for the whole command, retries included (30)")
    p.add_argument("--retries", type=number(int, inclusive=True), default=2, metavar="N",
                   help="retries of a transient failure within --timeout (2; 0: none)")
    p.add_argument("--no-follow", action="store_true", help="do not follow redirects")
    p.set_defaults(handler=run_get)


async def run_get(args: argparse.Namespace) -> int:
    """Do the request; print it; return the exit code."""
    from pepperpy_core.cli._common import check_url, parse_header
    from pepperpy_core.cli._items import guess_url, parse_items, read_data
    from pepperpy_core.http.client import HttpClient
    from pepperpy_core.http.retry import RetryPolicy

    url = check_url(guess_url(args.url))
    items = parse_items(args.items)
    headers = [parse_header(h) for h in args.header] + items.headers
    kwargs: dict[str, Any] = {"params": items.params or None}
    method = args.method
    if args.data is not None and items.json:
        raise UsageError("-d and JSON request items (field=value) cannot be combined")
    if args.data is not None:
        kwargs["data"] = read_data(args.data)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        method = method or "POST"
    elif items.json:
        kwargs["json"] = items.json
        method = method or "POST"
    kwargs["headers"] = dict(headers)
    err = sys.stderr
    middlewares = [_Announcer(err)] if args.verbose else []
    retry = RetryPolicy(total=args.retries, deadline=args.timeout, backoff_base=0.25,
                        retry_after_max=args.timeout)
    async with HttpClient(timeout=args.timeout, retries=retry, middlewares=middlewares,
                          follow_redirects=not args.no_follow) as client:
        if args.output:
            async with client.stream(method or "GET", url, **kwargs) as response:
                if args.verbose:
                    _write_head(response, err)
                written = await _save(response, Path(args.output))
            body = b""
            print(f"{response.status} {response.reason}: {written:,} bytes to {args.output}",
                  file=err)
        else:
            response = await client.request(method or "GET", url, **kwargs)
            body = await response.read()
            if args.verbose:
                _write_head(response, err)
    if args.json:
        print(json.dumps(_as_json(response, body), indent=2, ensure_ascii=False))
    elif not args.output:
        _print_response(response, body, include=args.include)
    return _status_code(response.status) if args.check_status else EXIT_OK


def _status_code(status: int) -> int:
    if status >= 500:
        return EXIT_SERVER_ERROR
    if status >= 400:
        return EXIT_CLIENT_ERROR
    if status >= 300:
        return EXIT_REDIRECT
    return EXIT_OK


class _Announcer:
    """A per-attempt layer (inside retry) that shows each attempt on stderr with ``-v``."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.attempt = 0

    async def __call__(self, request: Request, call_next: Any) -> Response:
        from pepperpy_core.logging import redact_headers, redact_url

        self.attempt += 1
        if self.attempt > 1:
            print(f"* retrying: attempt {self.attempt}", file=self.out, flush=True)
        print(f"> {request.method} {redact_url(request.url)}", file=self.out)
        for name, value in redact_headers(request.header_view).items():
            print(f"> {name}: {value}", file=self.out)
        print(">", file=self.out, flush=True)
        try:
            response: Response = await call_next(request)
        except Exception as exc:
            print(f"* attempt {self.attempt} failed: {exc}", file=self.out, flush=True)
            raise
        if response.status >= 500 or response.status == 429:
            print(f"* attempt {self.attempt}: HTTP {response.status}", file=self.out, flush=True)
        return response


def _write_head(response: Response, out: IO[str]) -> None:
    from pepperpy_core.logging import redact_headers

    out.write(f"< HTTP {response.status} {response.reason}\n")
    for name, value in _header_pairs(redact_headers(response.headers)):
        out.write(f"< {name}: {value}\n")
    out.write("<\n")
    out.flush()


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in headers.items()]


async def _save(response: Response, target: Path) -> int:
    """Stream the body to ``target`` through a temporary file renamed into place at the end."""
    partial = target.with_name(target.name + ".part")
    written = 0
    try:
        with partial.open("wb") as handle:
            async for chunk in response.iter_bytes():
                handle.write(chunk)
                written += len(chunk)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


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
        "headers": [list(pair) for pair in _header_pairs(response.headers)],
        "body": parsed,
        "attempts": response.metadata.get("attempts", 1),
        "elapsed_ms": round(response.elapsed.total_seconds() * 1000, 2),
    }


def _is_binary(response: Response, body: bytes) -> bool:
    kind = response.content_type.lower()
    if kind.startswith("text/") or "json" in kind or "xml" in kind or "javascript" in kind:
        return False
    if b"\x00" in body[:4096]:
        return True
    try:
        body[:4096].decode(response.charset or "utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < 4090  # a character cut at the sample's end is not binary
    return False


def _print_response(response: Response, body: bytes, *, include: bool) -> None:
    terminal = sys.stdout.isatty()
    if not terminal:
        if include:
            sys.stdout.write(f"HTTP {response.status} {response.reason}\n")
            for name, value in _header_pairs(response.headers):
                sys.stdout.write(f"{name}: {value}\n")
            sys.stdout.write("\n")
            sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    _print_for_terminal(response, body)


def _print_for_terminal(response: Response, body: bytes) -> None:
    try:
        from rich.console import Console
    except ImportError:  # the progress extra is not installed: plain text
        console = None
    else:
        console = Console(highlight=False)
    head = [f"HTTP {response.status} {response.reason}"]
    head += [f"{name}: {value}" for name, value in _header_pairs(response.headers)]
    if console is not None:
        style = "green" if response.status < 400 else "red"
        console.print(head[0], style=f"bold {style}", markup=False)
        for line in head[1:]:
            name, _, value = line.partition(": ")
            console.print(f"[cyan]{_escape(name)}[/]: {_escape(value)}")
        console.print()
    else:
        print("\n".join(head) + "\n")
    if not body:
        return
    if _is_binary(response, body):
        print(f"[binary body of {len(body):,} bytes ({response.content_type or 'no type'}) not "
              "shown on a terminal; save it with -o FILE or pipe it to a file]")
        return
    text = body.decode(response.charset or "utf-8", "replace")
    if "json" in response.content_type.lower() or text.lstrip()[:1] in ("{", "["):
        try:
            parsed = json.loads(text)
        except ValueError:
            pass
        else:
            if console is not None:
                from rich.json import JSON

                console.print(JSON.from_data(parsed, ensure_ascii=False))
            else:
                print(json.dumps(parsed, indent=2, ensure_ascii=False))
            return
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
