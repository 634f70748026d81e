"""Layers run one way: collector → sync → qr. sync/ and qr/ never import Flask."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(("package", "forbidden"), [
    ("qr", ["flask", "collector", "sync"]),
    ("sync", ["flask", "collector"]),
])
def test_library_packages_do_not_import_upwards(package, forbidden):
    code = (
        "import importlib, pkgutil, sys\n"
        f"import {package}\n"
        f"for m in pkgutil.walk_packages({package}.__path__, '{package}.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {forbidden!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
