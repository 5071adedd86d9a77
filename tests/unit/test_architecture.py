"""The package's layers (docs/architecture.md): imports run only downward, and no module imports itself back."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import imbalance_lab

PACKAGE = Path(imbalance_lab.__file__).parent
# Lowest first: a sub-package may import those before it, never one after it.
LAYERS = ("settings", "data", "evaluation", "strategies", "models", "persistence", "reporting", "benchmark", "pipeline",
          "warm")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports(path: Path) -> set[str]:
    """The modules of this package that ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("imbalance_lab.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("imbalance_lab"):
            assert node.level == 0, f"{path}: relative import"
            for alias in node.names:  # `from imbalance_lab.x import module` names a module
                candidate = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").is_file()
                found.add(candidate if is_module else node.module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(path): package_imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """The sub-package's place; the package's face (THREAD_PINS, importing nothing) is the ground, __main__ the top."""
    if module == "imbalance_lab":
        return -1
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def test_every_sub_package_has_a_layer():
    sub_packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert sub_packages == set(LAYERS)


def test_imports_run_only_downward():
    upward = [f"{module} -> {imported}" for module, imports in graph().items() for imported in imports
              if layer(imported) > layer(module)]
    assert not upward, f"imports that run back up: {upward}"


def test_no_module_imports_itself_back():
    graphlib.TopologicalSorter(graph()).prepare()  # raises CycleError naming the circle


def test_the_checks_see_an_upward_import(tmp_path):
    """package_imports reads a lazy import inside a function as an import (the layering test relies on it)."""
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from imbalance_lab.reporting import plots\n    import imbalance_lab.warm.runner\n")
    assert package_imports(source) == {"imbalance_lab.reporting.plots", "imbalance_lab.warm.runner"}
