"""The package's layers, read from its import statements (lazy imports inside functions included).

storage/ is the bottom: it imports nothing else of seqpipe. The validators stand on it, never on the
data plane (aws/); the data plane calls the validators only through `seqpipe.validators.validate`.
No module imports itself back through others, and no part of the package through other parts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from .conftest import REPO

SRC = REPO / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted((SRC / "seqpipe").rglob("*.py"))}


def _imported(module: str) -> Iterator[str]:
    """The seqpipe modules a module imports; `from package import name` counts for package.name
    when that is a module, and a module's own enclosing packages do not count (Python runs them first)."""
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [m for m in submodules if m in MODULES] or [node.module]
        else:
            continue
        yield from (n for n in names if n in MODULES and n != module and not module.startswith(n + "."))


GRAPH = {module: set(_imported(module)) for module in MODULES}


def _part(module: str) -> str:
    """seqpipe.aws.qc → seqpipe.aws; top-level modules (seqpipe.tsv) are parts of their own."""
    return ".".join(module.split(".")[:2])


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _imports_of(part: str) -> dict[str, set[str]]:
    return {m: deps for m, deps in GRAPH.items() if _part(m) == part}


def test_storage_imports_nothing_of_seqpipe_above_it() -> None:
    above = {
        m: sorted(d for d in deps if _part(d) != "seqpipe.storage")
        for m, deps in _imports_of("seqpipe.storage").items()
    }
    assert GRAPH.keys() >= {"seqpipe.storage.s3", "seqpipe.storage.location"}
    assert {m: deps for m, deps in above.items() if deps} == {}


def test_validators_do_not_import_the_data_plane() -> None:
    uses = {
        m: sorted(d for d in deps if _part(d) == "seqpipe.aws")
        for m, deps in _imports_of("seqpipe.validators").items()
    }
    assert {m: deps for m, deps in uses.items() if deps} == {}
    assert "seqpipe.storage.location" in GRAPH["seqpipe.validators.quick"]


def test_the_data_plane_uses_only_the_validators_public_entry() -> None:
    uses = {
        m: sorted(d for d in deps if _part(d) == "seqpipe.validators" and d != "seqpipe.validators")
        for m, deps in _imports_of("seqpipe.aws").items()
    }
    assert {m: deps for m, deps in uses.items() if deps} == {}
    assert "seqpipe.validators" in GRAPH["seqpipe.aws.ingest"]


def test_no_import_cycle_between_modules_or_parts_of_the_package() -> None:
    parts: dict[str, set[str]] = {}
    for module, deps in GRAPH.items():
        parts.setdefault(_part(module), set()).update(_part(d) for d in deps if _part(d) != _part(module))
    assert _cycles(GRAPH) == []
    assert _cycles(parts) == []
    # the check sees cycles: the data plane and the validators importing each other was one
    assert _cycles({"seqpipe.aws": {"seqpipe.validators"}, "seqpipe.validators": {"seqpipe.aws"}}) == [
        ["seqpipe.aws", "seqpipe.validators"]
    ]
