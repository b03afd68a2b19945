"""Run the ```python blocks of a Markdown page, in order, in one namespace, on the running
loop. Top-level ``await`` is allowed (as in the specification's examples) and
``asyncio.run(main())`` becomes ``await main()``. Example hosts are replaced by local servers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    """The ```python blocks of ``page``, in order (```bash and others are not run)."""
    return [m.group(1) for m in _BLOCK.finditer(page.read_text(encoding="utf-8"))]


async def run_page(page: Path, replacements: dict[str, str], workdir: Path) -> dict[str, Any]:
    """Execute every python block of ``page``; returns the shared namespace."""
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for index, block in enumerate(python_blocks(page)):
        source = block.replace("asyncio.run(main())", "await main()")
        for old, new in replacements.items():
            source = source.replace(old, new)
        source = source.replace("./downloads", str(workdir / "downloads"))
        code = compile(
            source, f"{page.name}[block {index + 1}]", "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        )
        result = eval(code, namespace)
        if result is not None:
            await result
    return namespace
