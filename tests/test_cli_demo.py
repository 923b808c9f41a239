"""``agentkit demo``: runs the example's entry point in its own process, offline unless --live."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentkit.cli import app, demo
from agentkit.cli._errors import EXIT_USAGE
from tests._cli import AGENTKIT, run_cli

REPO = Path(__file__).resolve().parents[1]

FAKE_DEMO = """
import sys
print("trip demo ran with", sys.argv[1:])
"""


def _examples(tmp_path: Path, *, trip: bool) -> Path:
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "__init__.py").write_text("")  # a package, like the real one
    shutil.copy(REPO / "examples" / "city_brief.py", examples / "city_brief.py")
    if trip:
        (examples / "trip_planner").mkdir()
        (examples / "trip_planner" / "__init__.py").write_text("")
        (examples / "trip_planner" / "__main__.py").write_text(FAKE_DEMO)
    return examples


def test_demo_runs_the_example_package(tmp_path: Path) -> None:
    """`agentkit demo trip` runs examples/trip_planner as a module and passes --live through."""
    examples = _examples(tmp_path, trip=True)
    done = run_cli(
        "demo", "trip", "--live", env={"AGENTKIT_EXAMPLES": str(examples), "MOONSHOT_API_KEY": "k"}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "trip demo ran with ['--live']\n"


def test_demo_passes_a_live_request_through(tmp_path: Path) -> None:
    """`agentkit demo trip --live "..."` hands the request to the demo; without --live it is refused."""
    env = {"AGENTKIT_EXAMPLES": str(_examples(tmp_path, trip=True)), "MOONSHOT_API_KEY": "k"}
    done = run_cli("demo", "trip", "--live", "Lisbon in June", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "trip demo ran with ['--live', '--', 'Lisbon in June']\n"
    offline = run_cli("demo", "trip", "Lisbon", env=env)
    assert offline.returncode == EXIT_USAGE
    assert "error: a request of your own needs the live model; add --live" in offline.stderr


def test_demo_falls_back_to_the_city_brief(tmp_path: Path) -> None:
    """A demo missing from the checkout runs the offline city-brief example and says so."""
    examples = _examples(tmp_path, trip=False)
    done = run_cli("demo", "report", env={"AGENTKIT_EXAMPLES": str(examples)})
    assert done.returncode == 0, done.stderr
    assert "note: the report demo is not in this checkout yet" in done.stderr
    assert "OFFLINE DEMO" in done.stdout
    assert "tool calls" in done.stdout


def test_live_demo_needs_a_key(tmp_path: Path) -> None:
    """--live without MOONSHOT_API_KEY is one line saying how to set it and that offline needs none."""
    done = run_cli("demo", "trip", "--live", env={"AGENTKIT_EXAMPLES": str(_examples(tmp_path, trip=True))})
    assert done.returncode == EXIT_USAGE
    assert "export MOONSHOT_API_KEY=" in done.stderr
    assert "without --live the demo runs offline" in done.stderr


def test_unknown_demo_is_a_usage_error() -> None:
    """A demo name outside report|trip is refused by the argument parser."""
    done = run_cli("demo", "cooking")
    assert done.returncode == 2
    assert "cooking" in done.stderr


def test_demos_not_installed_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the demos (a wheel of agentkit alone) the hint installs them from a checkout's folders."""
    monkeypatch.setattr(demo, "installed_demos", lambda: False)  # the venv has them; a wheel does not
    monkeypatch.setattr(demo, "examples_dir", lambda: None)
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["demo", "trip"])
    assert done.exit_code == EXIT_USAGE
    assert done.output.strip() == (
        "error: the demos are not installed; install them from an agentkit checkout: "
        "pip install ./tools ./examples (or run agentkit demo inside the checkout)"
    )


def test_demo_piped_into_head_stops_quietly(tmp_path: Path) -> None:
    """`agentkit demo trip | head -3` shows three lines and nothing on stderr, exit status 141.

    It printed the demo's BrokenPipeError traceback and 'the trip demo failed (exit 1)'.
    """
    command = f'"{AGENTKIT}" demo trip --out "{tmp_path / "trip"}" | head -3; exit "${{PIPESTATUS[0]}}"'
    done = subprocess.run(  # noqa: S603 - our own command in a shell pipeline
        [shutil.which("bash") or "/bin/bash", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.startswith("OFFLINE DEMO")
    assert done.stdout.count("\n") == 3
    assert done.stderr == ""
    assert done.returncode == 141
