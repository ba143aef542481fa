"""The import graph of ``src/vidlake`` has no cycles.

Every import counts, at module level and inside functions (a function-local import only hides a
cycle until the function runs); imports under ``if TYPE_CHECKING:`` do not, since they never run.
An import of ``a.b.c`` is an edge to ``a.b.c`` only: Python also runs the parent packages'
``__init__`` first, but a package importing its own submodules is not a design cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "vidlake"

# Known cycles another branch is removing, as sorted module pairs. The coordinator deletes an entry
# once the branch that breaks it has merged; a listed pair that no longer forms a cycle fails the test
# so the list cannot go stale.
ALLOWED_CYCLES: set[frozenset[str]] = set()


def module_names(src: Path = SRC) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``src/vidlake``."""
    names: dict[str, Path] = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree`` except those inside an ``if TYPE_CHECKING:`` body."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    keep = len(parts) - node.level + (1 if is_package else 0)
    base = ".".join(parts[:keep])
    return f"{base}.{node.module}" if node.module else base


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` (file ``path``) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
            continue
        base = _base(module, path.name == "__init__.py", node)
        for alias in node.names:
            target = f"{base}.{alias.name}"
            if target in known:
                found.add(target)
            elif base in known:
                found.add(base)
    found.discard(module)
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    names = module_names(src)
    known = set(names)
    return {name: imported_modules(name, path, known) for name, path in names.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return found


def _path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete loop through ``component`` for the failure message."""
    members = set(component)
    start = component[0]
    trail = [start]
    seen = {start}
    node = start
    while True:
        nxt = sorted(graph[node] & members)
        if start in nxt and len(trail) > 1:
            return [*trail, start]
        step = next((n for n in nxt if n not in seen), None)
        if step is None:
            return [*trail, nxt[0]] if nxt else trail
        trail.append(step)
        seen.add(step)
        node = step


def test_walker_sees_function_local_imports_and_skips_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / PACKAGE
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from vidlake import b\n")
    (pkg / "b.py").write_text("from . import a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from vidlake.a import f\n")
    graph = import_graph(tmp_path)
    assert graph["vidlake.a"] == {"vidlake.b"}
    assert graph["vidlake.b"] == {"vidlake.a"}
    assert graph["vidlake.c"] == set()
    assert cycles(graph) == [["vidlake.a", "vidlake.b"]]


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    unexpected = [c for c in found if frozenset(c) not in ALLOWED_CYCLES]
    assert not unexpected, "import cycles:\n" + "\n".join(" -> ".join(_path(graph, c)) for c in unexpected)
    stale = [sorted(pair) for pair in ALLOWED_CYCLES if list(sorted(pair)) not in found]
    assert not stale, f"these allowed cycles are gone; delete them from ALLOWED_CYCLES: {stale}"
