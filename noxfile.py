"""The test matrix and the everyday commands of the cosmos monorepo.

    nox -s tests                 every package's tests, each in a fresh venv (one session per package)
    nox -s "tests(core)"         one package
    nox -s namespace             build all wheels, check the PEP 420 namespace, import everything
    nox -s demo                  the main job (README's first command)
    nox -s lint                  ruff
    nox -s benchmarks            speed/memory/quality tables (benchmarks/*.py)

torch is installed first, pinned to the local CPU wheel (TORCH below): letting pip resolve a plain
``torch`` requirement would pull gigabytes of CUDA packages. Packages are installed non-editable, so a
file missing from a wheel or a stray ``cosmos/__init__.py`` breaks the run as it would for a user.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent
TORCH = os.environ.get("COSMOS_TORCH", "torch==2.13.0")
# package -> in-repo dependencies (design.md section 1: only diffusion and ar depend on a leaf; plan's tests
# need the simulator, cosmos-curate's [sim] extra: a "name[extra]" entry installs the folder with that extra)
PACKAGES: dict[str, tuple[str, ...]] = {
    "core": (),
    "tokenizer": ("core",),
    "diffusion": ("core", "tokenizer"),
    "ar": ("core", "tokenizer"),
    "guard": ("core",),
    "curate": ("core",),
    "plan": ("core", "curate[sim]"),
    "eval": ("core", "curate"),  # curate: the physics scenes of its [sim] extra, in eval's [test] extra
}
REPORTS = ROOT / ".nox-reports"

nox.options.sessions = ["tests", "namespace"]
nox.options.reuse_existing_virtualenvs = False


def _path(package: str, extras: str = "") -> str:
    return str(ROOT / "packages" / f"cosmos-{package}") + (f"[{extras}]" if extras else "")


def _install(session: nox.Session, *requirements: str) -> None:
    session.install(TORCH)
    session.install(*requirements)


@nox.session
@nox.parametrize("package", [nox.param(name, id=name) for name in PACKAGES])
def tests(session: nox.Session, package: str) -> None:
    """One package's tests in a fresh venv: torch, then the package (+ [test]) and its in-repo deps."""
    _install(session, *(_path(dep) for dep in PACKAGES[package]), _path(package, "test"))
    REPORTS.mkdir(exist_ok=True)
    session.run(
        "pytest",
        str(ROOT / "packages" / f"cosmos-{package}" / "tests"),
        f"--junitxml={REPORTS / (package + '.xml')}",
        *session.posargs,
        env={"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")},
    )


@nox.session
def namespace(session: nox.Session) -> None:
    """Build every wheel, assert none ships cosmos/__init__.py, install all into one venv, import all."""
    dist = Path(session.create_tmp()) / "wheels"
    session.install("build>=1.0", "hatchling>=1.18")
    for package in PACKAGES:
        session.run("python", "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), _path(package), silent=True)
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != len(PACKAGES):
        session.error(f"expected {len(PACKAGES)} wheels, built {[w.name for w in wheels]}")
    for wheel in wheels:
        names = zipfile.ZipFile(wheel).namelist()
        if "cosmos/__init__.py" in names:
            session.error(f"{wheel.name} ships cosmos/__init__.py, which would hide every other cosmos package")
        session.log(f"{wheel.name}: {len(names)} files, namespace clean")
    _install(session, *map(str, wheels))
    modules = ", ".join(f"cosmos.{name}" for name in PACKAGES)
    session.run(
        "python",
        "-c",
        f"import {modules}; import cosmos; "
        "assert getattr(cosmos, '__file__', None) is None, cosmos.__file__; "
        "assert type(cosmos.__path__).__name__ == '_NamespacePath', type(cosmos.__path__); "
        f"print('imported {modules} from namespace', list(cosmos.__path__))",
    )


@nox.session
def demo(session: nox.Session) -> None:
    """The main job on shipped defaults (README's first command); extra arguments go to the demo.

    cosmos-curate comes with its ``[sim]`` extra (PyBullet) so the demo simulates a held-out episode."""
    _install(session, *(_path(name, "sim" if name == "curate" else "") for name in PACKAGES))
    session.run("python", str(ROOT / "examples" / "demo.py"), *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole tree."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", str(ROOT), *session.posargs)


@nox.session
def benchmarks(session: nox.Session) -> None:
    """Every benchmark script (tables printed, JSON written to benchmarks/results/); peers (diffusers,
    transformers) come from the packages' ``[peer]`` extras."""
    peers = {"tokenizer", "diffusion", "ar"}
    _install(session, *(_path(name, "peer" if name in peers else "") for name in PACKAGES))
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        session.run("python", str(script), *session.posargs)
