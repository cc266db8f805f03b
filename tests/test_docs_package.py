"""Packaging promises: the py.typed marker ships, LICENSE matches pyproject.toml, no helper names leak
into chainrule's namespace."""

from pathlib import Path
from types import ModuleType

import pytest

import chainrule

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def test_py_typed_marker_is_shipped():
    assert (Path(chainrule.__file__).parent / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["chainrule"]


def test_license_file_matches_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["license"]["text"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_no_helper_names_leak_into_the_namespace():
    for name in ("Any", "import_module"):
        assert not hasattr(chainrule, name), name
    public = [n for n in dir(chainrule) if not n.startswith("_")]
    assert set(chainrule.__all__) <= set(public)
    loose = [n for n in public if n not in chainrule.__all__ and not isinstance(getattr(chainrule, n), ModuleType)]
    assert not loose  # only the public API and subpackages
