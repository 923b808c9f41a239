"""The one way the CLI prints model, tool and trace text: secrets redacted, terminal controls escaped."""

from __future__ import annotations

import typer

from agentkit._terminal import terminal_safe
from agentkit.usage import counted  # re-exported: the CLI's one import for printing

__all__ = ["counted", "echo", "shown"]


def shown(text: str) -> str:
    """``text`` as the CLI prints it: secrets redacted (the tracing policy), controls escaped."""
    from agentkit._redact import redact_text  # noqa: PLC0415 - the scanner only when printing

    return terminal_safe(redact_text(text))


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """Print ``message`` like ``typer.echo``, through `shown`."""
    typer.echo(shown(str(message)), err=err, nl=nl)
