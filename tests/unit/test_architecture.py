"""The shared package's layout holds (docs/ARCHITECTURE.md): imports run one way only, from the
composition root down through the carriers to the AWS adapters and the carrier-neutral core,
and no two modules import each other, however indirectly."""

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "layers" / "common"
PACKAGE = ROOT / "gateway"

# What each room may import of the gateway, besides itself. Anything not listed is refused.
BASE = {"gateway.observability", "gateway.config"}
ALLOWED: dict[str, set[str]] = {
    "gateway": set(),
    "gateway.observability": set(),
    "gateway.config": set(),
    "gateway.core": {"gateway.observability"},
    "gateway.mm7": {"gateway.core"},
    "gateway.carrier_http": {"gateway.core"},
    "gateway.aws": {"gateway.core", *BASE},
    "gateway.orange": {"gateway.core", "gateway.aws", "gateway.carrier_http", *BASE},
    "gateway.mms": {"gateway.core", "gateway.aws", "gateway.carrier_http", "gateway.mm7", *BASE},
    # Orange Poland's API speaks Orange's dialect (errors, OAuth): it builds on orange/.
    "gateway.orange_pl": {
        "gateway.core",
        "gateway.aws",
        "gateway.carrier_http",
        "gateway.orange",
        *BASE,
    },
    "gateway.wiring": {"*"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: Iterable[str]) -> set[str]:
    """The gateway modules `path` imports, type-checking imports included."""
    known = set(known)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return {name for name in found if name in known}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, found) - {name} for name, path in found.items()}


def room(module: str) -> str:
    """The room a module lives in: `gateway.orange.client` -> `gateway.orange`."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def violations(edges: Mapping[str, set[str]]) -> list[str]:
    found = []
    for module, targets in edges.items():
        allowed = ALLOWED.get(room(module))
        if allowed is None:
            found.append(f"{module}: in no room of the architecture")
            continue
        for target in sorted(targets):
            if "*" in allowed or room(target) == room(module) or room(target) in allowed:
                continue
            found.append(f"{module} imports {target}")
    return found


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, set()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_lives_in_a_room_and_imports_only_downwards() -> None:
    assert violations(graph()) == []


def test_no_import_cycle_between_modules() -> None:
    assert cycles(graph()) == []


def test_no_import_cycle_between_rooms() -> None:
    rooms: dict[str, set[str]] = {}
    for module, targets in graph().items():
        rooms.setdefault(room(module), set()).update(
            room(t) for t in targets if room(t) != room(module)
        )
    assert cycles(rooms) == []


def test_the_walk_sees_the_imports() -> None:
    """The graph is read from the code: a walk that found nothing would pass the rules."""
    edges = graph()
    assert "gateway.core.model" in edges["gateway.core.tracking"]
    assert "gateway.aws.dynamo" in edges["gateway.aws.message_store"]
    assert "gateway.mm7.submit" in edges["gateway.mms.client"]


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"gateway.core.model": {"gateway.orange.client"}}, "gateway.core.model imports"),
        ({"gateway.aws.locks": {"gateway.wiring"}}, "gateway.aws.locks imports"),
        ({"gateway.mm7.xml": {"gateway.aws.clients"}}, "gateway.mm7.xml imports"),
        ({"gateway.orange.client": {"gateway.mms.client"}}, "gateway.orange.client imports"),
        ({"gateway.spare": set()}, "in no room"),
    ],
)
def test_a_wrong_import_is_reported(edges: dict[str, set[str]], expected: str) -> None:
    assert any(expected in v for v in violations(edges))


def test_a_cycle_is_reported() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]


def test_the_carrier_simulators_import_nothing_of_the_gateway() -> None:
    """A simulator that reused the gateway's parsers or models would let their bugs pass on
    both sides: each reads and writes the carriers' formats on its own."""
    simulators = ROOT.parents[1] / "infra" / "simulators"
    borrowed = {
        f"{path.name}: {name}"
        for path in sorted(simulators.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
        if name == "gateway" or name.startswith("gateway.")
    }
    assert borrowed == set()
