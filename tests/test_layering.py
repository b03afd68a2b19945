"""The package's dependencies point one way: a walk over every module's imports (``ast``).

The layers, lowest first. A module may import its own area and any lower layer, never a higher
one or a sibling on its own layer; ``http/`` in particular never imports ``behaviours/``
(the retry policy and layer the plain client needs live in ``http/``). Imports under
``if TYPE_CHECKING:`` are annotations only and may point anywhere but from ``http/`` into
``behaviours/``. No two modules import each other at load time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pepperpy_core

ROOT = Path(pepperpy_core.__file__).parent

#: Area (first name under ``pepperpy_core``; "" for the package's own ``__init__``) -> layer.
LAYERS: dict[str, int] = {
    "_version": 0, "_redact": 0, "_hashing": 0, "_backoff": 0, "_lazy": 0, "_observe": 0,
    "_signature": 0,
    "exceptions": 1, "logging": 2,
    "http": 3,
    "behaviours": 4,
    "websocket": 5, "download": 5,
    "network": 6, "vision": 6,
    "testing": 7,
    "": 8,
    "cli": 9,
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: ``config.py`` holds the HTTP client's options: it is part of the http layer.
SAME_AREA = {"config": "http"}


def area(module: str) -> str:
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    return SAME_AREA.get(name, name)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


Found = tuple[str, int, bool, bool]


def imports(path: Path, root: Path = ROOT) -> Iterator[Found]:
    """``(imported module, line, annotation_only, at_load_time)`` for every import in ``path``
    that names a pepperpy_core module, relative imports resolved."""
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]

    def walk(nodes: Iterable[ast.AST], typing_only: bool, top: bool) -> Iterator[Found]:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, node.lineno, typing_only, top
            elif isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                yield target, node.lineno, typing_only, top
                for alias in node.names:  # ``from pepperpy_core.http import retry``
                    yield f"{target}.{alias.name}", node.lineno, typing_only, top
            elif isinstance(node, ast.If) and _is_type_checking(node):
                yield from walk(node.body, True, top)
                yield from walk(node.orelse, typing_only, top)
            else:
                nested = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                yield from walk(ast.iter_child_nodes(node), typing_only, top and not nested)

    for found in walk(ast.parse(path.read_text()).body, False, True):
        if found[0] in MODULES:
            yield found


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def test_every_area_has_a_layer() -> None:
    """A new top-level module or package gets a place in the layering on purpose."""
    assert sorted({area(m) for m in MODULES} - set(LAYERS)) == []


def test_imports_point_down() -> None:
    """No module imports a higher layer or a sibling area of its own layer (annotations aside),
    and nothing in http/ imports behaviours/ at all."""
    wrong: list[str] = []
    for name, path in sorted(MODULES.items()):
        mine = area(name)
        for target, line, typing_only, _top in imports(path):
            theirs = area(target)
            if theirs == mine:
                continue
            if mine == "http" and theirs == "behaviours":
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
            elif not typing_only and LAYERS[theirs] >= LAYERS[mine]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target} (layer "
                             f"{LAYERS[mine]} -> {LAYERS[theirs]})")
    assert wrong == []


def test_no_import_cycles_at_load_time() -> None:
    """Module-level imports (not inside functions, not for annotations) form no cycle."""
    graph = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _line, typing_only, top in imports(path):
            if top and not typing_only and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_walk_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The walk finds imports inside functions, relative ones and annotation-only ones (so the
    tests above cannot pass by not looking)."""
    probe = tmp_path / "pepperpy_core" / "http" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..behaviours import retry\n"
        "def f():\n    import pepperpy_core.cli\n"
        "from . import chain\n"
    )
    found = {(t, typing_only, top) for t, _l, typing_only, top in imports(probe, probe.parents[1])}
    assert ("pepperpy_core.behaviours.retry", True, True) in found
    assert ("pepperpy_core.cli", False, False) in found
    assert ("pepperpy_core.http.chain", False, True) in found
