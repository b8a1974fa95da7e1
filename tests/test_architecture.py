"""Data flows one way: a module imports only from its own layer or the layers before it.

    settings → message → transport → outbox / documents / diagnosis → front ends (cli, web…)

A test that walks the imports keeps an arrow from pointing back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import barua

PACKAGE = Path(barua.__file__).parent

LAYERS: list[tuple[str, ...]] = [
    ("errors", "version", "i18n", "certificates", "lazy"),
    ("addresses", "settings", "secrets", "store"),
    ("message", "wire"),
    ("transports",),
    ("setup", "outbox", "documents"),
    ("cli", "web", "relay", "__main__", "__init__"),
]


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for number, names in enumerate(LAYERS):
        if top in names:
            return number
    raise AssertionError(f"barua.{top} is in no layer: add it to LAYERS in {__file__}")


def barua_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "barua":
                found.update(f"barua.{alias.name}" for alias in node.names)
            elif node.module.startswith("barua."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("barua."))
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def test_no_import_points_back() -> None:
    backwards = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name == "barua":
            continue
        for imported in barua_imports(path):
            if layer_of(imported) > layer_of(name):
                backwards.append(f"{name} imports {imported}")
    assert backwards == []


def test_the_rule_would_catch_an_arrow_pointing_back() -> None:
    assert layer_of("barua.cli.send") > layer_of("barua.transports.smtp")
    assert layer_of("barua.message") < layer_of("barua.outbox.queue")
