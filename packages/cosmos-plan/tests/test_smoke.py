"""The package imports inside the PEP 420 namespace and never imports a concrete world model."""

import subprocess
import sys

import cosmos
import cosmos.plan


def test_namespace_and_version():
    assert getattr(cosmos, "__file__", None) is None
    assert cosmos.plan.__version__ == "0.1.0"


def test_plan_does_not_import_world_model_packages():
    code = (
        "import sys, cosmos.plan, pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(cosmos.plan.__path__, 'cosmos.plan.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('cosmos.diffusion', 'cosmos.ar'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
