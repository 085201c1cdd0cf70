"""The package as installed: one version everywhere, typed."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest_compviz


def test_compviz_version_pytest_plugin_version_and_metadata_agree():
    done = subprocess.run([sys.executable, "-m", "pytest_compviz.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.strip() == f"compviz {pytest_compviz.__version__}"
    assert metadata.version("pytest-compviz") == pytest_compviz.__version__  # what pytest -VV lists


def test_the_package_is_typed():
    assert (Path(pytest_compviz.__file__).parent / "py.typed").is_file()
