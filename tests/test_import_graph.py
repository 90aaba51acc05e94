"""The package's import graph: no cycles, and the plugin set passed, not fetched.

Read from the source with ``ast``, imports inside functions counted (they run too, later):
an edge A → B for every ``import zoo.B`` / ``from zoo.B import …`` / ``from zoo import B``
in A, and A → ``zoo`` for ``import zoo`` or ``from zoo import name``. Imports under
``if TYPE_CHECKING:`` are left out: they never run.
"""

import ast
from pathlib import Path

import zoo

PACKAGE = Path(zoo.__file__).parent
ENTRY_POINTS = {"zoo", "zoo.cli.main", "zoo.cli.commands", "zoo.cli.bench"}  # the timm-style functions and the command line: where the plugin set is loaded


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def executed(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *executed(child)])
            continue
        yield node
        yield from executed(node)


def imports(name: str) -> set[str]:
    found = set()
    for node in executed(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name if a.name in MODULES else "zoo" for a in node.names if a.name.split(".")[0] == "zoo"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "zoo":
            if node.module == "zoo":
                found |= {f"zoo.{a.name}" if f"zoo.{a.name}" in MODULES else "zoo" for a in node.names}
            else:
                found.add(node.module)
    return found - {name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    graph = {name: imports(name) & set(MODULES) for name in MODULES}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_only_the_entry_points_fetch_the_plugin_set():
    """Everything else receives the loaded plugin set as an argument, so a function's inputs
    are in its signature and a test passes its own set instead of patching a global."""
    fetching = {
        name
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.Attribute) and node.attr == "get_zoo") or (isinstance(node, ast.Name) and node.id == "get_zoo")
    }
    assert fetching <= ENTRY_POINTS, sorted(fetching - ENTRY_POINTS)
