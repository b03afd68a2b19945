"""The examples in docs/vision.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "vision.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example_runs(index: int) -> None:
    """Each python block of docs/vision.md executes without error."""
    exec(compile(BLOCKS[index], f"vision.md block {index}", "exec"), {})
