"""The one way the CLI prints text: through :func:`agentkit._terminal.terminal_safe`."""

from __future__ import annotations

import typer

from agentkit._terminal import terminal_safe

__all__ = ["echo"]


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """Print ``message`` like ``typer.echo``, with terminal control characters escaped."""
    typer.echo(terminal_safe(str(message)), err=err, nl=nl)
