"""No import cycles inside the packages (issue 21, item 4).

The import graph is built from the source with :mod:`ast`: every ``import`` and ``from ... import``
statement counts, at module level and inside functions alike (an import deferred into a function
still makes the two modules depend on each other), except those under ``if TYPE_CHECKING:``.
Relative imports are resolved against the importing module; ``from package import name`` is an
edge to the submodule ``package.name`` when there is one, else to the package's ``__init__``.
A cycle is a strongly connected component of more than one module; the failure message lists
each one with the import statements that close it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def module_files(package: str) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` file under ``package``."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Import nodes of ``tree``, at any depth, outside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _known(name: str, modules) -> str | None:
    """The longest prefix of dotted ``name`` that is a module of the graph."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        cand = ".".join(parts[:k])
        if cand in modules:
            return cand
    return None


def import_graph(packages) -> dict[str, dict[str, list[str]]]:
    """module -> {imported module -> ["file:line", ...]} over the modules of ``packages``."""
    files = {}
    for p in packages:
        files.update(module_files(p))
    graph = {m: {} for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [_known(a.name, files) for a in node.names]
            else:
                if node.level:
                    base_parts = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in files else _known(base, files))
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            for tgt in targets:
                if tgt is not None and tgt != mod and where not in graph[mod].get(tgt, ()):
                    graph[mod].setdefault(tgt, []).append(where)
    return graph


def cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        # iterative Tarjan: (node, iterator over its successors)
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def describe(graph, comps) -> str:
    lines = []
    for comp in comps:
        lines.append("cycle: " + ", ".join(comp))
        members = set(comp)
        for a in comp:
            for b, where in sorted(graph[a].items()):
                if b in members:
                    lines.append(f"  {a} -> {b} ({', '.join(where)})")
    return "\n".join(lines)


def test_the_graph_sees_relative_function_level_and_package_imports(tmp_path, monkeypatch):
    """A hand-made package with one cycle through a function-level relative import, one through
    a package ``__init__``, and no edge from an import under TYPE_CHECKING."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .sub import b\n")
    (pkg / "a.py").write_text("import os\n\ndef f():\n    from .sub.b import g\n    return g\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nfrom .. import a\nif TYPE_CHECKING:\n    from ..c import C\n\ndef g():\n    from pkg import helper\n"
    )
    (pkg / "c.py").write_text("from .a import f\n")
    (pkg / "helper.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    graph = import_graph(["pkg"])
    assert graph["pkg.a"] == {"pkg.sub.b": ["pkg/a.py:4"]}
    assert graph["pkg.sub.b"] == {"pkg.a": ["pkg/sub/b.py:2"], "pkg.helper": ["pkg/sub/b.py:7"]}
    assert graph["pkg"] == {"pkg.sub.b": ["pkg/__init__.py:1"]}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]
    assert "pkg.sub.b -> pkg.a (pkg/sub/b.py:2)" in describe(graph, cycles(graph))


@pytest.mark.parametrize("package", ["solver", "workflows", "webapp"])
def test_no_import_cycles(package):
    graph = import_graph([package])
    found = cycles(graph)
    assert not found, f"import cycles in {package}/:\n{describe(graph, found)}"


@pytest.mark.parametrize(("package", "above"), [("solver", ("workflows", "webapp")), ("workflows", ("webapp",))])
def test_layers_import_only_downwards(package, above):
    """webapp -> workflows -> solver: a lower layer never imports a higher one (the CLI takes
    ``coastcast serve`` from webapp through an entry point, not an import)."""
    graph = import_graph(["solver", "workflows", "webapp"])
    upward = [
        f"{mod} -> {target} ({', '.join(where)})"
        for mod, targets in graph.items()
        if mod == package or mod.startswith(package + ".")
        for target, where in targets.items()
        if target.split(".")[0] in above
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)
