"""The ``agentkit`` command.

Each command group lives in its own module here and is registered below;
commands print one clear line on error and exit non-zero (``--debug`` shows
the traceback).
"""

from __future__ import annotations

from typing import Annotated

import typer

import agentkit
from agentkit.cli import batch as _batch
from agentkit.cli import demo as _demo
from agentkit.cli import evals as _evals
from agentkit.cli import mcp as _mcp
from agentkit.cli import run as _run
from agentkit.cli import sessions as _sessions
from agentkit.cli import trace as _trace
from agentkit.cli import verify as _verify
from agentkit.cli._echo import echo

__all__ = ["app", "main"]

app = typer.Typer(
    name="agentkit",
    help="Typed, parallel, testable tool-calling agents for Kimi-K2 and OpenAI-compatible models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        echo(agentkit.__version__)
        raise typer.Exit


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print agentkit's version and exit."
        ),
    ] = False,
) -> None:
    """Typed, parallel, testable tool-calling agents for Kimi-K2 and OpenAI-compatible models."""


@app.command()
def version() -> None:
    """Print agentkit's version."""
    echo(agentkit.__version__)


app.command(name="run")(_run.run)
app.command(name="demo")(_demo.demo)
app.command(name="batch")(_batch.batch)
app.command(name="eval")(_evals.eval_command)
app.command(name="verify")(_verify.verify_command)
app.add_typer(_trace.app, name="trace")
app.add_typer(_sessions.app, name="sessions")
app.add_typer(_mcp.app, name="mcp")
app.command()(_trace.replay)


def main() -> None:
    """Run the ``agentkit`` command (the console-script entry point)."""
    app()
