"""CLI errors: one clear line on stderr, a non-zero exit code, the traceback only with --debug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import agentkit
from agentkit.cli._errors import EXIT_RUN_FAILED, EXIT_USAGE, one_line
from agentkit.exceptions import MaxTurnsExceeded, ModelConnectionError, ModelHTTPError
from agentkit.testing import FakeKimiServer, Reply
from tests._cli import run_cli, write_agent

KIMI_AT_IMPORT = """
agent = build(KimiModel())
"""


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_missing_api_key_says_how_to_set_it(tmp_path: Path) -> None:
    """No MOONSHOT_API_KEY: one line naming the variable and saying offline demos need none; exit 2."""
    path = write_agent(tmp_path, KIMI_AT_IMPORT)
    done = run_cli("run", f"{path}:agent", "hi")
    assert done.returncode == EXIT_USAGE
    assert _lines(done.stderr) == [done.stderr.strip()]
    assert "export MOONSHOT_API_KEY=" in done.stderr
    assert "offline demos" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_missing_key_for_moonshot_model_option(tmp_path: Path) -> None:
    """--model without a key or a base URL targets Moonshot's API, so the missing key is reported."""
    path = write_agent(tmp_path)
    done = run_cli("run", f"{path}:build", "hi", "--model", "kimi-k2-0905-preview")
    assert done.returncode == EXIT_USAGE
    assert done.stderr.startswith("error: no Kimi API key; set it with: export MOONSHOT_API_KEY=")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    """--debug prints the traceback before the same one-line message."""
    path = write_agent(tmp_path, KIMI_AT_IMPORT)
    done = run_cli("run", f"{path}:agent", "hi", "--debug")
    assert done.returncode == EXIT_USAGE
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert _lines(done.stderr)[-1].startswith("error: no Kimi API key")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("missing.py:agent", "error: no such file: missing.py; name an agent as path/to/file.py:agent"),
        ("weather_agent.py:nothing", "error: weather_agent.py has no attribute 'nothing'"),
        ("weather_agent.py:WEATHER", "is neither an Agent nor a function returning one"),
        ("no_such_module_xyz:agent", "error: cannot import module 'no_such_module_xyz'"),
    ],
)
def test_bad_agent_spec(tmp_path: Path, spec: str, message: str) -> None:
    """A spec that names no agent fails with one line saying what to name instead; exit 2."""
    write_agent(tmp_path, "WEATHER = 1\n")
    done = run_cli("run", spec, "hi", "--base-url", "http://127.0.0.1:9/v1", cwd=tmp_path)
    assert done.returncode == EXIT_USAGE
    assert message in done.stderr
    assert len(_lines(done.stderr)) == 1


def test_rejected_key_exits_1(tmp_path: Path) -> None:
    """A 401 from the server is one line about the key, exit 1, and the key never appears."""
    path = write_agent(tmp_path)
    with FakeKimiServer([Reply.error(401, "invalid_authentication_error", "Invalid Authentication")]) as srv:
        done = run_cli(
            "run",
            f"{path}:build",
            "hi",
            "--base-url",
            srv.base_url,
            "-q",
            env={"MOONSHOT_API_KEY": "sk-SECRET1"},
        )
    assert done.returncode == EXIT_RUN_FAILED
    assert "error: the model server refused the API key (401)" in done.stderr
    assert "sk-SECRET1" not in done.stderr + done.stdout


def test_session_without_memory(tmp_path: Path) -> None:
    """--session on an agent without a memory is refused up front with how to add one."""
    path = write_agent(tmp_path)
    done = run_cli("run", f"{path}:build", "hi", "--base-url", "http://127.0.0.1:9/v1", "--session", "alice")
    assert done.returncode == EXIT_USAGE
    assert "--session needs an agent with a memory" in done.stderr
    assert "memory=SQLiteMemory" in done.stderr


def test_one_line_for_run_failures() -> None:
    """Run failures name the error class and what to do; connection failures point at --base-url."""
    assert one_line(MaxTurnsExceeded("max_turns=3 reached")) == (
        "error: the run failed (MaxTurnsExceeded): max_turns=3 reached; "
        "run again with --debug for the traceback"
    )
    assert "check --base-url" in one_line(ModelConnectionError("could not connect"))
    assert one_line(
        ModelHTTPError(status_code=403, error_type="permission_denied_error", message="no")
    ).startswith("error: the model server refused the API key (403)")


def test_one_line_keeps_only_the_first_line() -> None:
    """A multi-line error message is cut to its first line (the rest is for --debug)."""
    assert one_line(ValueError("first\nsecond")) == (
        "error: unexpected ValueError: first; run again with --debug for the traceback"
    )


def test_version_flag_prints_the_version() -> None:
    """`agentkit --version` prints the package version and exits 0, like `agentkit version`."""
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == agentkit.__version__


def test_a_module_level_kimi_agent_runs_on_a_local_server_without_a_key(tmp_path: Path) -> None:
    """`agent = build(KimiModel())` at import needs no key when --base-url points at a local server."""
    path = write_agent(tmp_path, KIMI_AT_IMPORT)
    with FakeKimiServer([Reply.text("21 C")]) as server:
        done = run_cli("run", f"{path}:agent", "Oslo?", "--base-url", server.base_url, "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "21 C"


def test_batch_without_dbos_says_what_to_install(tmp_path: Path) -> None:
    """`agentkit batch` where DBOS is not installed is one line naming the extra to install, exit 2."""
    (tmp_path / "tasks.jsonl").write_text('{"prompt": "hi"}\n')
    without_dbos = (
        "import sys; sys.modules['dbos'] = None; sys.argv = ['agentkit', *sys.argv[1:]]; "
        "from agentkit.cli import main; main()"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-c", without_dbos, "batch", "tasks.jsonl", "--agent", "a.py:agent"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        'error: agentkit batch runs on DBOS, which is not installed; pip install "agentkit[dbos]" '
        '(from a checkout: pip install -e ".[dbos]")'
    ]
