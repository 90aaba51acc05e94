"""The package's import graph: layered, without cycles, and the plugin set passed, not fetched.

Read from the source with ``ast``, imports inside functions counted (they run too, later):
an edge A → B for every ``import zoo.B`` / ``from zoo.B import …`` / ``from zoo import B``
in A, and A → ``zoo`` for ``import zoo`` or ``from zoo import name``. Imports under
``if TYPE_CHECKING:`` are left out: they never run.
"""

import ast
from pathlib import Path

import zoo

PACKAGE = Path(zoo.__file__).parent
ENTRY_POINTS = {"zoo", "zoo.cli.main", "zoo.cli.commands", "zoo.cli.bench"}
# The layers, lowest first: a module imports from its own package or from a lower layer, never
# from a higher one nor from another package of its own layer. The shared types sit low (the
# size–similarity matrix, device and precision; the plugin contract; the results table), so
# that the engines above them meet there instead of reaching into each other.
LAYERS = (
    ("zoo.errors",),
    ("zoo.paths", "zoo.names", "zoo.version", "zoo.progress"),
    ("zoo.device", "zoo.matrix"),
    ("zoo.data", "zoo.models"),
    ("zoo.plugin",),
    ("zoo.results",),
    ("zoo.train",),
    ("zoo.bench",),
    ("zoo.leaderboard",),
    ("zoo.recommend",),
    ("zoo.studies",),
    ("zoo",),  # the timm-style functions, where the plugin set is loaded
    ("zoo.cli",),  # the command line, on top of them
)  # the timm-style functions and the command line: where the plugin set is loaded


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


def unit(module: str) -> str:
    """The package or top-level module ``module`` belongs to, as :data:`LAYERS` names them."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def layer(module: str) -> int:
    return next(i for i, units in enumerate(LAYERS) if unit(module) in units)


def upward(graph: dict[str, set[str]]) -> list[str]:
    """The imports that point to a higher layer, or sideways to another package of the same one."""
    return sorted(
        f"{a} -> {b}"
        for a, targets in graph.items()
        for b in targets
        if unit(a) != unit(b) and layer(b) >= layer(a)
    )


def test_every_module_sits_in_a_layer():
    assert [name for name in MODULES if not any(unit(name) in units for units in LAYERS)] == []


def test_imports_point_down_the_layers():
    graph = {name: imports(name) & set(MODULES) for name in MODULES}
    assert upward(graph) == []


def test_the_layer_check_finds_an_import_that_points_up():
    assert upward({"zoo.models.weights": {"zoo.plugin.registry"}, "zoo.plugin.registry": set()}) == ["zoo.models.weights -> zoo.plugin.registry"]
    assert upward({"zoo.data.images": {"zoo.models.backbone"}, "zoo.models.backbone": set()}) == ["zoo.data.images -> zoo.models.backbone"]
    assert upward({"zoo.cli.main": {"zoo.bench.grid"}, "zoo.bench.grid": {"zoo.errors"}, "zoo.errors": set()}) == []


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
