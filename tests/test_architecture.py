"""Data flows one way: a module imports only from its own layer or the layers below it.

    core → message → transports → setup → outbox → documents → app → faces (cli, web, relay)

The faces hold no business logic: they import the application layer and presentation helpers
only. No module imports another that imports it back, even for type checking. Only
``barua.environment`` reads the process environment, and only the transports know which
transport they are.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import barua

PACKAGE = Path(barua.__file__).parent

LAYERS: list[tuple[str, ...]] = [
    (
        "errors",
        "texts",
        "version",
        "i18n",
        "certificates",
        "lazy",
        "environment",
        "choices",
        "files",
    ),
    ("addresses", "settings", "secrets", "database", "store"),
    ("message", "wire", "relaying"),
    ("transports",),
    ("setup",),
    ("outbox",),
    ("documents",),
    ("app",),
    ("cli", "web", "relay", "__main__", "__init__"),
]
FACES = ("cli", "web", "relay")
FACES_MAY_IMPORT = (
    "barua.app",
    "barua.errors",
    "barua.texts",
    "barua.i18n",
    "barua.version",
    "barua.lazy",
    "barua.environment",
    "barua.choices",
)
"""The application layer, and what only presents: errors, words, languages, choices."""
LAUNCHERS = {"cli": ("barua.web", "barua.relay")}
"""The command line starts the other faces (``barua serve``, ``barua relay``)."""


def top(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def layer_of(module: str) -> int:
    name = top(module)
    for number, names in enumerate(LAYERS):
        if name in names:
            return number
    raise AssertionError(f"barua.{name} is in no layer: add it to LAYERS in {__file__}")


def barua_imports(path: Path) -> set[str]:
    """Every barua module ``path`` imports, at the top, in a function or for type checking."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "barua":
                found.update(f"barua.{alias.name}" for alias in node.names)
            elif node.module.startswith("barua."):
                # ``from barua.outbox import schema`` imports the module barua.outbox.schema;
                # ``from barua.outbox import Outbox``, what the package barua.outbox offers.
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if module_path(candidate) is not None else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("barua."))
    return found


def module_path(module: str) -> Path | None:
    parts = module.split(".")[1:]
    base = PACKAGE.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), path


def test_no_import_points_back() -> None:
    backwards = []
    for name, path in modules():
        if name == "barua":
            continue
        for imported in barua_imports(path):
            if layer_of(imported) > layer_of(name):
                backwards.append(f"{name} imports {imported}")
    assert backwards == []


def test_the_faces_import_only_the_application_and_what_presents() -> None:
    found = []
    for name, path in modules():
        if top(name) not in FACES:
            continue
        for imported in barua_imports(path):
            own = top(imported) == top(name)
            allowed = any(
                imported == prefix or imported.startswith(prefix + ".")
                for prefix in (*FACES_MAY_IMPORT, *LAUNCHERS.get(top(name), ()))
            )
            if not own and not allowed:
                found.append(f"{name} imports {imported}")
    assert found == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = {
        name: {i for i in barua_imports(path) if module_path(i) is not None}
        for name, path in modules()
    }
    cycles: set[tuple[str, ...]] = set()

    def visit(name: str, trail: list[str]) -> None:
        for imported in sorted(graph.get(name, ())):
            if imported in trail:
                cycle = trail[trail.index(imported) :]
                start = cycle.index(min(cycle))
                cycles.add(tuple(cycle[start:] + cycle[:start]))
            elif len(trail) < 12:
                visit(imported, [*trail, imported])

    for name in graph:
        visit(name, [name])
    assert sorted(cycles) == []


def test_only_the_environment_module_reads_the_process_environment() -> None:
    readers = []
    for name, path in modules():
        text = path.read_text(encoding="utf-8")
        if ("os.environ" in text or "getenv(" in text) and name != "barua.environment":
            readers.append(name)
    assert readers == []


def test_only_the_transports_know_which_transport_they_hold() -> None:
    found = []
    for name, path in modules():
        if top(name) == "transports":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "isinstance"
                and len(node.args) == 2
                and re.search(r"\w+Transport\b", ast.unparse(node.args[1]))
            ):
                found.append(f"{name}: {ast.unparse(node)}")
    assert found == []


def test_the_rules_would_catch_an_arrow_pointing_back() -> None:
    assert layer_of("barua.cli.send") > layer_of("barua.transports.smtp")
    assert layer_of("barua.message") < layer_of("barua.outbox.queue")
    assert layer_of("barua.setup.diagnose") < layer_of("barua.outbox.worker")
    assert layer_of("barua.documents.emailing") < layer_of("barua.app.documents")
    assert "barua.outbox.schema" in barua_imports(PACKAGE / "outbox" / "queue.py")
