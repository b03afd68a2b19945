"""Argument errors, as a user meets them: exit 2, the subcommand's usage, and a message that
names the flag or the value, never a library class."""

from __future__ import annotations

import re

import pytest
from cli_runner import cli

#: What a library class name looks like in a message (NetworkManager, ConfigurationError...).
_CLASS_NAME = re.compile(r"\b[A-Z][a-z]+[A-Z]\w*\b|\bError\b|Traceback")

CASES = [
    (["get", "x", "--timeout", "0"], "argument --timeout: must be > 0"),
    (["get", "x", "--timeout", "nan"], "argument --timeout: expected a finite number"),
    (["get", "x", "--retries", "-1"], "argument --retries: must be >= 0"),
    (["get", "x", "justaword"], "request item 'justaword'"),
    (["get", "x", "-H", "nocolon"], "-H 'nocolon': expected 'Name: value'"),
    (["get", "x", "-d", "@/no/such/file"], "-d @/no/such/file: cannot read"),
    (["get", "x", "-d", "a=1", "k=v"], "-d and JSON request items"),
    (["get", "ftp://example.com/"], "URL 'ftp://example.com/': expected a URL starting with"),
    (["get", "http://u:pw@h:99999/"], "URL 'http://[REDACTED]@h:99999/': Port out of range"),
    (["get", "x", "--bogus"], "unrecognized arguments: --bogus"),
    (["get"], "the following arguments are required: url"),
    (["download", "x/a", "-j", "0"], "argument -j/--concurrency: must be > 0"),
    (["ws", "http://x/"], "URL 'http://x/': expected a URL starting with ws:// or wss://"),
    (["ws", "ws://x/", "--count", "0"], "argument --count: must be > 0"),
    (["monitor", "--duration", "-1"], "argument --duration: must be > 0"),
    (["monitor", "foo://x"], "argument TARGET: target 'foo://x': unknown scheme 'foo'"),
    (["monitor", "tcp://:99999"], "argument TARGET: target 'tcp://:99999'"),
    (["monitor", "--offline-after", "0"], "argument --offline-after: must be > 0"),
    (["demo", "--only", "nope"], "--only: unknown section(s) nope"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
async def test_argument_error_names_the_flag_under_the_usage(
    args: list[str], message: str
) -> None:
    code, out, err = await cli(*args)
    command = args[0]
    assert code == 2 and out == ""
    assert err.startswith(f"usage: pepperpy-core {command} "), err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"pepperpy-core {command}: error: ") and message in last, last
    assert not _CLASS_NAME.search(last.split(": error: ", 1)[1]), last
