"""House rules that keep the code readable (docs/architecture.md §2): no function in any
Python file of the repository (src/, callbacks/, bench/, tests/, the entry points) over 60
lines unless its docstring says why in a line starting ``Long:``; maths in info/ and
metrics/ free of Lightning, Hydra and wandb; wandb only in tracking.py and sources/wandb.py.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "infoprint"
MAX_LINES = 60
# top-level folders that hold no project code: virtualenvs, builds, runs and their outputs
NOT_CODE = {"build", "dist", "multirun", "outputs", "wandb", "analysis", "data"}


def _globbed_python_files() -> list[Path]:
    """The repository's Python files without git: every ``*.py`` outside hidden folders
    (.venv, .git, caches), egg-info and the top-level folders in ``NOT_CODE``."""

    def is_code(path: Path) -> bool:
        parts = path.relative_to(ROOT).parts
        hidden = any(p.startswith(".") or p.endswith(".egg-info") for p in parts[:-1])
        return not hidden and parts[0] not in NOT_CODE

    return sorted(p for p in ROOT.rglob("*.py") if is_code(p))


def _python_files() -> list[Path]:
    """The repository's Python files: those git tracks or would track (new, not ignored);
    the glob above where git is missing or this is not a checkout."""
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.py"]
    try:
        listed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return _globbed_python_files()
    paths = {ROOT / name for name in listed.stdout.split("\0") if name}
    return sorted(p for p in paths if p.is_file())  # a deleted, not yet staged file is gone


def _functions(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_long_function_without_a_reason():
    long = []
    for path in _python_files():
        for fn in _functions(path):
            lines = fn.end_lineno - fn.lineno + 1
            doc = ast.get_docstring(fn) or ""
            if lines > MAX_LINES and "\nLong:" not in f"\n{doc}":
                where = path.relative_to(ROOT)
                long.append(f"{where}:{fn.lineno} {fn.name} ({lines} lines)")
    assert not long, "functions over 60 lines without a 'Long:' reason:\n" + "\n".join(long)


def test_the_rules_see_every_python_file_of_the_repository():
    expected = {
        "train.py",
        "analyze.py",
        "src/infoprint/tasks/train.py",
        "src/hydra_plugins/infoprint_packs/pack_sweeper.py",
        "callbacks/fingerprint.py",
        "bench/training.py",
        "tests/unit/test_code_shape.py",
    }
    listed, globbed = _python_files(), _globbed_python_files()
    for files in (listed, globbed):
        names = {path.relative_to(ROOT).as_posix() for path in files}
        assert expected <= names
        assert not [n for n in names if n.startswith((".venv/", "build/", "multirun/"))]
    assert set(listed) <= set(globbed)


@pytest.mark.parametrize("package", ["info", "metrics"])
def test_maths_is_free_of_frameworks(package):
    for path in sorted((SRC / package).rglob("*.py")):
        used = _imports(path) & {"pytorch_lightning", "lightning", "hydra", "omegaconf", "wandb"}
        assert not used, f"{path.relative_to(SRC)} imports {sorted(used)}"


def test_only_tracking_and_the_wandb_source_import_wandb():
    users = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "wandb" in _imports(p))
    assert users == ["sources/wandb.py", "tracking.py"]


# The layers of the package, bottom first (docs/architecture.md §2): a module imports only
# from its own layer's packages or from layers below, and no chain of imports closes a loop.
LAYERS = (
    ("errors", "registry", "store"),
    ("info", "data"),
    ("models", "metrics"),
    ("fingerprint",),
    ("run", "tracking"),
    ("sources",),
    ("analysis",),
    ("plots",),
    ("callbacks", "pipeline"),
    ("tasks",),
    ("cli", "__main__", "hydra_plugins"),
)
PACKAGE_ROOTS = {"infoprint": SRC, "infoprint.callbacks": ROOT / "callbacks"}


def _module_files() -> dict[str, Path]:
    """Every module of the installed package by its dotted name (callbacks/ installs as
    infoprint.callbacks), and the Hydra plugin's."""
    modules = {}
    roots = {**PACKAGE_ROOTS, "hydra_plugins": ROOT / "src" / "hydra_plugins"}
    for name, root in roots.items():
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            dotted = ".".join((name, *parts)).removesuffix(".__init__")
            if name == "infoprint" and parts[0] == "callbacks":
                continue
            modules[dotted] = path
    return modules


def _imported_modules(dotted: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules ``dotted`` imports anywhere in its file (functions and
    TYPE_CHECKING blocks included): ``from a.b import c`` is a.b.c when that is a module."""
    package = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found |= {
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            }
    return {m for m in found if m in known and m != dotted}


def _layer(dotted: str) -> int:
    parts = dotted.split(".")
    name = parts[1] if parts[0] == "infoprint" and len(parts) > 1 else parts[0]
    for level, names in enumerate(LAYERS):
        if name in names:
            return level
    raise AssertionError(f"{dotted}: its package is in no layer of LAYERS")


def _import_graph() -> dict[str, set[str]]:
    files = _module_files()
    known = set(files)
    return {m: _imported_modules(m, path, known) for m, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop of ``graph`` (a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = state.get(start) or 1
        if state[start] == 2:
            continue
        while stack:
            node, edges = stack[-1]
            nxt = next(edges, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


def test_imports_point_down_the_layers():
    graph = _import_graph()
    assert len(graph) > 100  # the package was found
    up = sorted(
        f"{a} -> {b}" for a, targets in graph.items() for b in targets if _layer(b) > _layer(a)
    )
    assert not up, "imports that point up a layer (docs/architecture.md §2):\n" + "\n".join(up)


def test_no_import_closes_a_loop():
    assert _cycle(_import_graph()) is None, " -> ".join(_cycle(_import_graph()))


def test_the_loop_finder_finds_loops():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
