"""The shape of the house (docs/architecture.md), read from the code's imports: floors that
only look down, no import circles, services that never import tasks, and feature apps that
never reach into each other's models. A change that bends the shape fails here, by name."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Floor of each top-level package: a module imports only from its own floor or below, and
# never from another package of its own floor (apps on one floor are strangers).
FLOORS: dict[str, int] = {
    "core": 0,
    "accounts": 1,
    "workspaces": 2,
    "connections": 3,
    "queries": 3,
    "chats": 3,
    "sync": 3,
    "billing": 3,
    "portability": 3,
    "ai": 4,
    "config": 5,
}
# Packages on a floor others stand on: their models are the tenancy and users every app uses.
SHARED_MODELS = {"core", "accounts", "workspaces"}
# Files allowed to import config: the processes' entry points.
ENTRY_POINTS = {"manage.py"}


@dataclass(frozen=True)
class Import:
    source: str  # dotted module that imports
    target: str  # dotted module imported (resolved to a module of this tree)
    line: int
    type_checking: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in FLOORS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The longest prefix of `name` that is a module of this tree."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _in_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports() -> Iterator[Import]:
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                target = _resolve(name)
                if target is not None and target != module:
                    yield Import(
                        module, target, getattr(node, "lineno", 0), _in_type_checking(node, parents)
                    )


IMPORTS = list(_imports())


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_tree_is_read() -> None:
    """The checks below see the code (a wrong root would make them pass vacuously)."""
    assert len(MODULES) > 150
    assert any(i.source == "chats.services" and i.target == "core.entity_writes" for i in IMPORTS)


def test_every_package_has_a_floor() -> None:
    packages = {path.name for path in ROOT.iterdir() if (path / "apps.py").exists()}
    assert packages <= set(FLOORS), f"add {packages - set(FLOORS)} to FLOORS and the docs"


def test_floors_only_look_down() -> None:
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in IMPORTS
        if _top(i.source) != _top(i.target) and FLOORS[_top(i.target)] >= FLOORS[_top(i.source)]
    ]
    assert wrong == []


def test_nothing_below_the_roof_imports_config() -> None:
    wrong = [
        f"{i.source}:{i.line}"
        for i in IMPORTS
        if _top(i.target) == "config" and _top(i.source) != "config"
    ]
    assert wrong == []
    for name in ENTRY_POINTS:
        assert "config" in (ROOT / name).read_text()


def test_no_import_circles_between_files() -> None:
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for i in IMPORTS:
        graph[i.source].add(i.target)
    # Tarjan's strongly connected components, iteratively.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
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
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    assert circles == []


def test_services_and_selectors_never_import_tasks() -> None:
    """Tasks are thin and call services; services enqueue by name (core.tasks)."""
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in IMPORTS
        if ("services" in i.source.split(".") or i.source.endswith("selectors"))
        and i.target.split(".")[-1] == "tasks"
        and i.target != "core.tasks"
    ]
    assert wrong == []


def test_apps_never_use_each_others_models() -> None:
    """Feature apps talk through core's registries and each other's services and selectors.
    (Annotations under TYPE_CHECKING may name a model: they run nothing.)"""
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in IMPORTS
        if not i.type_checking
        and _top(i.source) != _top(i.target)
        and _top(i.source) != "config"
        and _top(i.target) not in SHARED_MODELS
        and i.target.split(".")[-1] in ("models", "entity")
    ]
    assert wrong == []


@pytest.mark.parametrize("model", ["Chat", "ChatMessage"])
def test_only_chats_writes_chats(model: str) -> None:
    """chats/services.py is the one writer of chats and messages (sync and imports write
    through the adapters in chats/entity.py): no other package names the models."""

    def touches(node: ast.AST) -> bool:
        # `Chat(...)`, `Chat.objects...`: the model used, not merely named in an annotation.
        inner = node.func if isinstance(node, ast.Call) else getattr(node, "value", None)
        return isinstance(node, ast.Call | ast.Attribute) and (
            isinstance(inner, ast.Name) and inner.id == model
        )

    users = sorted(
        module
        for module, path in MODULES.items()
        if _top(module) != "chats" and any(map(touches, ast.walk(ast.parse(path.read_text()))))
    )
    assert users == []
    # The check sees a use where there is one.
    assert touches(ast.parse(f"{model}.objects.filter()").body[0].value.func.value)  # type: ignore[attr-defined]
