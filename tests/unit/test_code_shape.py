"""House rules that keep the code readable (docs/architecture.md §2): no function in src/
over 60 lines unless its docstring says why in a line starting ``Long:``; maths in info/ and
metrics/ free of Lightning, Hydra and wandb; wandb only in tracking.py and sources/wandb.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "infoprint"
MAX_LINES = 60


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
    for path in sorted(SRC.rglob("*.py")):
        for fn in _functions(path):
            lines = fn.end_lineno - fn.lineno + 1
            doc = ast.get_docstring(fn) or ""
            if lines > MAX_LINES and "\nLong:" not in f"\n{doc}":
                long.append(f"{path.relative_to(SRC)}:{fn.lineno} {fn.name} ({lines} lines)")
    assert not long, "functions over 60 lines without a 'Long:' reason:\n" + "\n".join(long)


@pytest.mark.parametrize("package", ["info", "metrics"])
def test_maths_is_free_of_frameworks(package):
    for path in sorted((SRC / package).rglob("*.py")):
        used = _imports(path) & {"pytorch_lightning", "lightning", "hydra", "omegaconf", "wandb"}
        assert not used, f"{path.relative_to(SRC)} imports {sorted(used)}"


def test_only_tracking_and_the_wandb_source_import_wandb():
    users = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "wandb" in _imports(p))
    assert users == ["sources/wandb.py", "tracking.py"]
