"""``pepperpy-core --help`` and every subcommand's ``--help`` load no network stack: the
modules they import are checked in a fresh interpreter (the timing itself is measured in
benchmarks/import_time.py, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Third-party packages and our own layers that only the work itself needs.
HEAVY = (
    "aiohttp", "httpx", "websockets", "rich", "structlog", "pydantic", "yarl", "multidict",
    "numpy", "pandas", "pyarrow", "asyncio", "ssl",
    "pepperpy_core.http", "pepperpy_core.websocket", "pepperpy_core.download",
    "pepperpy_core.network", "pepperpy_core.vision", "pepperpy_core.cache",
    "pepperpy_core.behaviours",
)

_PROBE = """
import json, sys
from pepperpy_core.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
else:
    code = None
sys.stderr.write(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

COMMANDS = [
    [], ["get"], ["download"], ["ws"], ["monitor"], ["demo"], ["vision"],
    ["vision", "download"], ["vision", "list"], ["vision", "symbols"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_imports_no_heavy_module(command: list[str]) -> None:
    run = subprocess.run([sys.executable, "-c", _PROBE, *command, "--help"],
                         capture_output=True, text=True, timeout=60, check=False)
    found = json.loads(run.stderr)
    assert found["code"] == 0 and run.stdout.startswith("usage: pepperpy-core")
    heavy = [m for m in found["modules"]
             if any(m == name or m.startswith(name + ".") for name in HEAVY)]
    assert heavy == []
