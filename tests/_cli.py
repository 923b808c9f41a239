"""Helpers for CLI tests: run the real ``agentkit`` command in a subprocess, write agent modules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import IO, Any

from agentkit.testing import FakeKimiServer

AGENTKIT = Path(sys.executable).with_name("agentkit")

WEATHER_AGENT = '''
import anyio
from agentkit import Agent, tool
from agentkit.models.kimi import KimiModel

@tool
async def weather(city: str) -> str:
    """Today's weather.

    Args:
        city: City name.
    """
    await anyio.sleep(0.3)
    return f"{city}: 21 C"

def build(model):
    return Agent(model, instructions="Weather bot.", tools=[weather], name="weather")
'''


def write_agent(tmp_path: Path, extra: str = "", name: str = "weather_agent.py") -> Path:
    """Write the weather agent module (plus ``extra`` source) and return its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(WEATHER_AGENT) + textwrap.dedent(extra))
    return path


def run_cli(
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``agentkit *args`` without any Moonshot settings from the environment; capture its output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MOONSHOT_", "AGENTKIT_TRACE"))}
    return subprocess.run(  # noqa: S603 - our own console script
        [str(AGENTKIT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def start_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, output: IO[str] | None = None
) -> subprocess.Popen[str]:
    """Start ``agentkit *args`` in the background (no Moonshot settings); output piped, or to ``output``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MOONSHOT_", "AGENTKIT_TRACE"))}
    return subprocess.Popen(  # noqa: S603 - our own console script
        [str(AGENTKIT), *args],
        stdout=output or subprocess.PIPE,
        stderr=output or subprocess.PIPE,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
    )


def body(server: FakeKimiServer, index: int) -> dict[str, Any]:
    """The JSON body of the server's ``index``-th request."""
    received = server.requests[index].body
    assert received is not None
    return received
