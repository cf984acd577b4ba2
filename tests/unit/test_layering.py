"""The layers, proved by walking every import in the source (function-level and
TYPE_CHECKING ones included), not by hoping:

- `perftop.model` (the profile model) imports nothing else of perftop's;
- `system/`, `profiling/`, `formats/` and `model/` never import Textual, `ui/`, the app or
  the commands;
- `formats/` and `profiling/` do not import each other: both build on the model.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "perftop"
CORE = ("system", "profiling", "formats", "model")
NEVER_IN_CORE = ("textual", "perftop.ui", "perftop.app", "perftop.commands", "perftop.cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, absolute, wherever the import statement sits."""
    tree = ast.parse(path.read_text(), str(path))
    package = (
        module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    )
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from perftop.x import y` may import the submodule perftop.x.y
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def modules_in(layer: str) -> list[Path]:
    return sorted((SRC / layer).rglob("*.py"))


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def is_module(name: str) -> bool:
    """Whether `name` names a module or package of perftop's (not a function in one)."""
    rel = Path(*name.split(".")[1:])
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def test_the_walk_sees_imports() -> None:
    """A guard on the guard: the walker finds imports that are known to be there."""
    found = imports_of(SRC / "formats" / "folded.py")
    assert "perftop.model.profile" in found and "perftop.formats.atomic" in found
    found = imports_of(SRC / "app.py")
    assert "textual.app" in found


@pytest.mark.parametrize("path", modules_in("model"), ids=lambda p: p.name)
def test_the_model_imports_nothing_of_perftops(path: Path) -> None:
    bad = {m for m in imports_of(path) if under(m, "perftop") and not under(m, "perftop.model")}
    assert not bad, f"{module_name(path)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "path", [p for layer in CORE for p in modules_in(layer)], ids=lambda p: module_name(p)
)
def test_the_core_never_imports_the_ui(path: Path) -> None:
    bad = {m for m in imports_of(path) if any(under(m, p) for p in NEVER_IN_CORE)}
    assert not bad, f"{module_name(path)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    ("layer", "other"), [("formats", "perftop.profiling"), ("profiling", "perftop.formats")]
)
def test_formats_and_profiling_do_not_import_each_other(layer: str, other: str) -> None:
    bad = {
        f"{module_name(p)} -> {m}"
        for p in modules_in(layer)
        for m in imports_of(p)
        if under(m, other) and is_module(m)
    }
    assert not bad, sorted(bad)
