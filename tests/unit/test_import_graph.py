"""No import cycles in src/wavegate, counting imports inside functions.

An import inside a function hides a cycle from Python at start-up, not from a reader: the two
modules still need each other. The graph is read with `ast` from every module: `import a.b`,
`from a import b` (an edge to `a.b` when that is a module, else to `a`), relative imports, at
module level and inside functions. Imports under `if TYPE_CHECKING:` are left out (they never
run). Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` too, so those count as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import wavegate

ROOT = Path(wavegate.__file__).parent


def module_files(root: Path = ROOT) -> dict[str, Path]:
    modules = {}
    for file in sorted(root.rglob("*.py")):
        parts = file.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = file
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import/ImportFrom node, skipping the bodies of `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _run_by(target: str, importer: str, modules) -> list[str]:
    """The modules importing `target` runs: it and the packages above it, leaving out the
    importer's own packages (they ran before it) and anything outside wavegate."""
    parts = target.split(".")
    names = (".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return [n for n in names if n in modules and n != importer and not importer.startswith(n + ".")]


def import_graph(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first import of it}."""
    graph: dict[str, dict[str, int]] = {}
    for name, file in modules.items():
        package = name.split(".") if file.name == "__init__.py" else name.split(".")[:-1]
        edges: dict[str, int] = {}
        for node in _imports(ast.parse(file.read_text(), str(file))):
            targets = []
            if isinstance(node, ast.Import):
                for alias in node.names:
                    targets += _run_by(alias.name, name, modules)
            else:
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets += _run_by(source, name, modules)
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:
                        targets += _run_by(f"{source}.{alias.name}", name, modules)
                    elif source in modules and source != name:
                        targets.append(source)  # a name defined in that module (even a package above)
            for target in targets:
                edges.setdefault(target, node.lineno)
        graph[name] = edges
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return sorted(components)


def shortest_cycle(graph, members: list[str]) -> list[str]:
    """One shortest cycle through the component's first module (breadth-first, inside it)."""
    start, inside = members[0], set(members)
    previous = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node]):
            if child == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return list(reversed(path)) + [start]
            if child in inside and child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError("a component without a cycle")


def describe(graph, modules, cycle: list[str]) -> str:
    steps = [f"{a} imports {b} ({modules[a].relative_to(ROOT.parent)}:{graph[a][b]})"
             for a, b in zip(cycle, cycle[1:], strict=False)]
    return "\n    ".join(steps)


def test_no_import_cycles():
    modules = module_files()
    graph = import_graph(modules)
    components = strongly_connected(graph)
    report = [f"{len(c)} modules: {', '.join(c)}\n    {describe(graph, modules, shortest_cycle(graph, c))}"
              for c in components]
    assert not components, f"{len(components)} import cycle(s):\n" + "\n".join(report)


def _graph_of(tmp_path: Path, files: dict[str, str]) -> dict[str, dict[str, int]]:
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return import_graph(module_files(tmp_path / "pkg"))


def test_a_function_level_import_is_an_edge_and_type_checking_is_not(tmp_path):
    graph = _graph_of(tmp_path, {
        "__init__.py": "",
        "a.py": "def f():\n    from pkg import b\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
        "c.py": "from .sub import d\n",
        "sub/__init__.py": "",
        "sub/d.py": "from .. import c\nimport pkg.a\n",
    })
    assert "pkg.b" in graph["pkg.a"]
    assert "pkg.a" not in graph["pkg.b"]
    assert {"pkg.sub", "pkg.sub.d"} <= set(graph["pkg.c"])
    assert {"pkg.c", "pkg.a"} <= set(graph["pkg.sub.d"])
    components = strongly_connected(graph)
    assert components == [["pkg.c", "pkg.sub.d"]]
    assert shortest_cycle(graph, components[0]) == ["pkg.c", "pkg.sub.d", "pkg.c"]


def test_the_test_finds_a_cycle_through_a_function_level_import(tmp_path):
    graph = _graph_of(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg.b import thing\n",
        "b.py": "thing = 1\ndef f():\n    import pkg.c\n",
        "c.py": "def g():\n    from pkg import a\n",
    })
    assert strongly_connected(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def _declares_rules(file: Path) -> bool:
    """Whether a module calls `declare(...)` at module level (the rule catalog's entries)."""
    for node in ast.parse(file.read_text()).body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)) else None
        if isinstance(value, ast.Call):
            func = value.func
            if (isinstance(func, ast.Name) and func.id == "declare") or (
                    isinstance(func, ast.Attribute) and func.attr == "declare"):
                return True
    return False


def test_the_catalog_names_every_module_that_declares_rules():
    """rules.all_rules imports the declaring modules by name (so the catalog depends on none of
    them); a module missing from its list would leave its rules out of `wavegate rules` and the docs."""
    from wavegate import rules

    declaring = {name for name, file in module_files().items()
                 if _declares_rules(file) and not name.startswith("wavegate.validators")}
    assert declaring == set(rules.DECLARING_MODULES)
    family_of = {rule.id: rule.family for rule in rules.all_rules()}
    assert "yaml-duplicate-key" in family_of and "dry-run-refused" in family_of
