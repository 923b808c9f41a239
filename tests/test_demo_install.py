"""The demos work installed (the agentkit-demos distribution), away from a checkout, writing to the cwd."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests._cli import AGENTKIT

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def _installed_layout(site: Path) -> Path:
    """Lay examples/ out as the wheel does: the folder becomes the ``agentkit_demos`` package."""
    target = site / "agentkit_demos"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("pyproject.toml", "__pycache__"))
    return site


def _run_installed(site: Path, work: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``work``, importing only the installed layout (not the checkout or the cwd).

    This interpreter is the ``python`` on the PATH, as in an activated virtual environment.
    """
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(  # noqa: S603 - our own interpreter, command and demo
        list(command),
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1", "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _sources(name: str) -> list[Path]:
    """The files called ``name`` under examples/, relative to it, without setuptools' build copies.

    A non-editable ``pip install ./examples`` leaves ``examples/build/lib/...`` behind.
    """
    found = [p.relative_to(EXAMPLES) for p in EXAMPLES.rglob(name)]
    return [p for p in found if not {"build", "dist"} & set(p.parts)]


def test_distribution_lists_every_demo_package_and_trace() -> None:
    """examples/pyproject.toml ships every package folder of examples/ and the traces the demos replay."""
    config = tomllib.loads((EXAMPLES / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {p.parent for p in _sources("__init__.py")}
    expected = {".".join(("agentkit_demos", *folder.parts)) for folder in folders}
    assert set(config["packages"]) == expected
    for trace in _sources("trace.jsonl"):
        package = ".".join(("agentkit_demos", *trace.parent.parts))
        assert "trace.jsonl" in config["package-data"][package]


def test_installed_trip_demo_runs_outside_a_checkout(tmp_path: Path) -> None:
    """`python -m agentkit_demos.trip_planner` runs offline from any folder and writes under that folder."""
    site = _installed_layout(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    done = _run_installed(site, work, sys.executable, "-m", "agentkit_demos.trip_planner")
    assert done.returncode == 0, done.stderr
    assert "OFFLINE DEMO" in done.stdout
    assert (work / "out" / "trip_planner" / "itinerary.md").is_file()
    assert (
        'Live: MOONSHOT_API_KEY=... python -m agentkit_demos.trip_planner --live ["your request"]'
        in done.stdout
    )


def test_agentkit_demo_uses_the_installed_demos_and_the_cwd(tmp_path: Path) -> None:
    """`agentkit demo trip --out DIR` runs the installed demos from a folder with no examples/ in it."""
    site = _installed_layout(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    done = _run_installed(site, work, str(AGENTKIT), "demo", "trip", "--out", "mine")
    assert done.returncode == 0, done.stderr
    assert (work / "mine" / "trip.ics").is_file()
    # The hint names the command the user typed (it said python -m agentkit_demos.trip_planner).
    assert 'Live: MOONSHOT_API_KEY=... agentkit demo trip --live ["your request"]' in done.stdout


def test_make_demo_hint_names_the_venvs_interpreter(tmp_path: Path) -> None:
    """Run as `make demo` does (this interpreter, not the PATH's python), the hint names this interpreter.

    It said `python -m examples.trip_planner`, which is not the venv's python unless it is activated.
    """
    bare_path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != Path(sys.executable).parent
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and demo
        [sys.executable, "-m", "examples.report_agent", "--out", str(tmp_path / "report")],
        cwd=REPO,
        env={**os.environ, "PATH": bare_path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    running = Path(sys.executable).absolute()
    shown = running.relative_to(REPO) if running.is_relative_to(REPO) else running
    assert (
        f'Live: MOONSHOT_API_KEY=... {shown} -m examples.report_agent --live ["your question"]' in done.stdout
    )


def test_make_installs_with_the_venvs_own_pip() -> None:
    """The Makefile keeps the venv's pip: an upgraded one prints setuptools' compat warning per install."""
    recipes = [line.strip() for line in (REPO / "Makefile").read_text().splitlines() if line.startswith("\t")]
    installs = [line for line in recipes if "-m pip install" in line]
    assert installs  # the venv targets install with pip
    assert not [line for line in installs if "--upgrade pip" in line or "-U pip" in line]
