"""The packages' layers, as their folders name them (mnist_core's and the pages' in mnist_ui): no import cycle, no
import against the layer order, and the serving path free of TensorFlow (a 3 s import and hundreds of MB that no
answer needs)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mnist_core"
UI = ROOT / "mnist_ui"
# Each subpackage may import those of a lower rank and its own modules; config, errors, atomic_files and tf_logs
# serve everyone.
RANK = {
    "config": 0,
    "errors": 0,
    "atomic_files": 0,
    "tf_logs": 0,
    "imaging": 1,
    "data": 2,
    "model": 3,
    "drawings": 4,
    "personal": 4.5,
    "training": 5,
    "serving": 5,
}
# The pages' folders: the words, the server side (who asks, the stores, the actions; no page building), the
# components the tabs are made of, the tabs; the whole page, its API, its launch and the test driver on top.
UI_RANK = {"gradio_stubs": 0, "text": 0, "server": 1, "components": 2, "tabs": 3}
TOP = {"cli": 9, "__main__": 9, "__init__": 9}
LAZY_ALLOWED = {("serving", "training")}  # the job's worker thread starts TensorFlow, never an import


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def imports(path: Path, package: str = "mnist_core") -> list[tuple[str, bool]]:
    """(imported `package` module, at module level?) for every import in the file, TYPE_CHECKING blocks aside."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, bool]] = []
    type_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
        for n in ast.walk(block)
    }
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package:
            assert node.level == 0, f"{path}: relative import (use {package}.… so the layer is visible)"
            targets = [node.module]
            targets += [
                f"{node.module}.{a.name}"
                for a in node.names
                if (ROOT / (f"{node.module}.{a.name}".replace(".", "/") + ".py")).exists()
            ]
            found += [(t, id(node) in top_level) for t in targets]
        elif isinstance(node, ast.Import):
            found += [(a.name, id(node) in top_level) for a in node.names if a.name.split(".")[0] == package]
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
UI_MODULES = {module_name(p): p for p in UI.rglob("*.py")}


def test_every_subpackage_imports_only_lower_layers():
    wrong = []
    for name, path in MODULES.items():
        own = layer(name)
        own_rank = RANK.get(own, TOP.get(own, 9))
        for target, _ in imports(path):
            other = layer(target)
            if other == own or other in TOP:
                continue
            if RANK.get(other, 9) >= own_rank and (own, other) not in LAZY_ALLOWED and own_rank != 9:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports against the layer order: " + "; ".join(wrong)


def test_the_pages_import_only_lower_folders_and_the_library_never_imports_them():
    wrong = []
    for name, path in UI_MODULES.items():
        own = UI_RANK.get(layer(name), 9)
        for target, _ in imports(path, "mnist_ui"):
            other = layer(target)
            if other != layer(name) and UI_RANK.get(other, 9) >= own and own != 9:
                wrong.append(f"{name} imports {target}")
    wrong += [f"{name} imports {target}" for name, path in MODULES.items() for target, _ in imports(path, "mnist_ui")]
    assert not wrong, "imports against the layer order: " + "; ".join(wrong)


@pytest.mark.parametrize("package", ["mnist_core", "mnist_ui"])
def test_no_import_cycle_at_module_level(package: str):
    modules = MODULES if package == "mnist_core" else UI_MODULES
    graph = {
        name: {t for t, top in imports(path, package) if top and t in modules and t != name}
        for name, path in modules.items()
    }
    seen: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if seen.get(node) == 2:
            return
        if seen.get(node) == 1:
            pytest.fail("import cycle: " + " → ".join([*trail[trail.index(node) :], node]))
        seen[node] = 1
        for nxt in sorted(graph[node]):
            visit(nxt, [*trail, node])
        seen[node] = 2

    for name in sorted(graph):
        visit(name, [])


def test_serving_and_the_ui_never_import_tensorflow():
    served = [
        m
        for m in MODULES
        if layer(m) in ("imaging", "data", "model", "drawings", "personal", "serving")
        and m != "mnist_core.model.network"
    ]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in sorted(served))
        + "import mnist_ui.app\n"
        + "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_benches_import_no_test_helpers_and_the_shared_ones_need_no_playwright():
    """What benches and tests both need lives in mnist_ui.testing, not in tests/; it imports playwright (a dev
    dependency) only inside the functions that drive a browser, so that mnist_ui always imports."""
    bench_imports = [
        f"{path.name} imports {node.module}"
        for path in (ROOT / "bench").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("tests", "conftest")
    ]
    assert not bench_imports, bench_imports
    tree = ast.parse((ROOT / "mnist_ui" / "testing.py").read_text())
    top_level = [a.name for node in tree.body if isinstance(node, ast.Import) for a in node.names]
    top_level += [node.module or "" for node in tree.body if isinstance(node, ast.ImportFrom)]
    assert not [m for m in top_level if m.split(".")[0] == "playwright"], top_level


def test_no_function_over_50_lines_and_no_class_over_200():
    """Issue #22's size limits, over the package, the UI and demo.py: a longer one hides more than one role."""
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "mnist_ui").rglob("*.py"), ROOT / "demo.py"]
    too_long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in sources
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > (200 if isinstance(node, ast.ClassDef) else 50)
    ]
    assert not too_long, too_long
