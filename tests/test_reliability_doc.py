"""docs/reliability.md: at least 30 faults, and every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_the_fault_matrix_names_exists() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text()
    rows = re.findall(r"^\| (\d+) \|.*`(tests/[\w/]+\.py)::(\w+)` \|$", text, re.M)
    faults = [r for r in rows if int(r[0]) <= 35]
    assert len(faults) >= 30
    for _, path, name in rows:
        source = (ROOT / path).read_text()
        assert re.search(rf"^(async )?def {name}\(", source, re.M), f"{path}::{name} missing"
