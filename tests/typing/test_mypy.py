"""A user's program type-checks under ``mypy --strict``, and the mistakes users make (a
misspelled keyword, a wrong type) are reported on the very lines that make them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

#: mypy --strict over the package from a cold cache takes tens of seconds on a busy machine.
pytestmark = pytest.mark.timeout(300)

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
_EXPECT = re.compile(r"\S\s+#\s*E:\s*(.+)$")  # a comment after code
_REPORT = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.+)$")


@pytest.fixture(scope="module")
def report() -> dict[str, dict[int, list[str]]]:
    """mypy's errors for both files, by file name and line (one mypy run)."""
    pytest.importorskip("mypy")
    cache = ROOT / ".mypy_cache" / "user-program"  # kept between runs: warm after the first
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--hide-error-context",
         "--no-color-output", "--cache-dir", str(cache),
         str(HERE / "user_program.py"), str(HERE / "user_mistakes.py")],
        capture_output=True, text=True, cwd=ROOT, timeout=280,
        env={**os.environ, "MYPYPATH": str(ROOT)},  # the package itself, not an installed copy
    )
    assert done.returncode in (0, 1), f"mypy failed:\n{done.stdout}\n{done.stderr}"
    found: dict[str, dict[int, list[str]]] = {}
    for line in done.stdout.splitlines():
        match = _REPORT.match(line)
        if match:
            name = Path(match["file"]).name
            found.setdefault(name, {}).setdefault(int(match["line"]), []).append(
                match["message"]
            )
    return found


def test_the_users_program_passes_mypy_strict(report: dict[str, dict[int, list[str]]]) -> None:
    """The documents' usage, typed as a user types it, has no mypy error."""
    assert report.get("user_program.py", {}) == {}
    assert "type: ignore" not in (HERE / "user_program.py").read_text()


def test_mypy_rejects_each_mistake_on_its_line(report: dict[str, dict[int, list[str]]]) -> None:
    """Every line marked ``# E:`` gets an error containing its words; no other line does."""
    source = (HERE / "user_mistakes.py").read_text().splitlines()
    expected = {n: m[1].strip() for n, text in enumerate(source, 1) if (m := _EXPECT.search(text))}
    got = report.get("user_mistakes.py", {})
    assert len(expected) >= 15
    missed = {n: words for n, words in expected.items()
              if not any(words in message for message in got.get(n, []))}
    assert missed == {}, f"mypy accepted these mistakes: {missed}\nit said: {got}"
    assert sorted(set(got) - set(expected)) == []
