"""The wheel's package list (pyproject.toml) names every package of the repository once."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_and_mapped():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in (ROOT / "src").rglob("__init__.py")
    }
    namespaces = {"hydra_plugins"}  # Hydra's plugin namespace has no __init__.py
    groups = {  # the config tree's folders, listed so that setuptools ships them
        ".".join(("infoprint", *p.relative_to(ROOT).parts))
        for p in (ROOT / "conf").rglob("*")
        if p.is_dir() and p.name != "__pycache__"
    }
    assert listed == found | namespaces | groups | {"infoprint.callbacks", "infoprint.conf"}
    assert config["package-dir"] == {
        "": "src",
        "infoprint.callbacks": "callbacks",
        "infoprint.conf": "conf",
    }
    assert (ROOT / "callbacks" / "__init__.py").is_file()
    assert (ROOT / "conf" / "__init__.py").is_file()
    assert not (ROOT / "callbacks").joinpath("conf").exists()
