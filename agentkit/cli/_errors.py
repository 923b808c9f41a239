"""How the ``agentkit`` command reports failures: one clear line, a non-zero exit code.

Every command body runs inside `reported`. An error becomes one line on
stderr saying what failed and what to do about it; ``--debug`` adds the full
traceback. Exit codes: 1 when the run itself failed (model, limits, tools),
2 for a usage problem found before anything ran (a bad agent spec, a missing
API key, a bad option), 130 when interrupted, 141 (quietly) when whatever reads
the output stopped reading (``agentkit trace show run.jsonl | head``).

>>> one_line(CliError("no agent named 'x' in m.py", hint="name an Agent, e.g. m.py:agent"))
"error: no agent named 'x' in m.py; name an Agent, e.g. m.py:agent"
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from agentkit.cli._echo import echo
from agentkit.exceptions import (
    AgentkitError,
    ModelConnectionError,
    ModelHTTPError,
    ModelRetiredError,
    RunError,
    UserError,
)

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OUTPUT_CLOSED",
    "EXIT_RUN_FAILED",
    "EXIT_USAGE",
    "MISSING_KEY_HINT",
    "CliError",
    "one_line",
    "reported",
]

EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: 128 + SIGPIPE, as a shell reports a command whose output pipe closed.
EXIT_OUTPUT_CLOSED = 141

#: What the command says when no Kimi API key is configured.
MISSING_KEY_HINT = (
    "set it with: export MOONSHOT_API_KEY=sk-... (create a key at platform.moonshot.ai); "
    "the offline demos (agentkit demo trip) need no key"
)


class CliError(Exception):
    """A failure the command explains itself: ``message`` says what failed, ``hint`` what to do.

    Args:
        message: what failed.
        hint: what to do about it (optional).
        exit_code: the process exit status.
    """

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = EXIT_USAGE) -> None:
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        super().__init__(message)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _explain_run_error(err: RunError, text: str) -> tuple[str, str | None, int]:
    """Message, hint and exit code for a run that failed (the model or the loop)."""
    if isinstance(err, ModelRetiredError):
        hint = f"use --model {err.replacement} or set MOONSHOT_MODEL={err.replacement}"
        return f"the model {err.model_name} is retired ({err.status_code})", hint, EXIT_RUN_FAILED
    if isinstance(err, ModelHTTPError) and err.status_code in (401, 403):
        hint = "check MOONSHOT_API_KEY: keys of api.moonshot.ai and api.moonshot.cn are not interchangeable"
        return f"the model server refused the API key ({err.status_code})", hint, EXIT_RUN_FAILED
    if isinstance(err, ModelConnectionError):
        return (
            f"could not reach the model server: {text}",
            "check --base-url and your network",
            EXIT_RUN_FAILED,
        )
    hint = "run again with --debug for the traceback"
    return f"the run failed ({type(err).__name__}): {text}", hint, EXIT_RUN_FAILED


def _explain(err: BaseException) -> tuple[str, str | None, int]:
    """Message, hint and exit code for an error raised while a command ran."""
    if isinstance(err, CliError):
        return err.message, err.hint, err.exit_code
    text = _first_line(str(err)) or type(err).__name__
    if isinstance(err, RunError):
        return _explain_run_error(err, text)
    if isinstance(err, UserError) and "API key" in text:
        return "no Kimi API key", MISSING_KEY_HINT, EXIT_USAGE
    if isinstance(err, AgentkitError):
        return f"{type(err).__name__}: {text}", None, EXIT_USAGE
    return (
        f"unexpected {type(err).__name__}: {text}",
        "run again with --debug for the traceback",
        EXIT_RUN_FAILED,
    )


def one_line(err: BaseException) -> str:
    """Return the single line the command prints for ``err`` (never includes secrets it did not get)."""
    message, hint, _ = _explain(err)
    return f"error: {message}" + (f"; {hint}" if hint else "")


@contextmanager
def reported(*, debug: bool) -> Iterator[None]:
    """Run a command body; turn any error into one line on stderr and a non-zero exit.

    Args:
        debug: also print the traceback.

    Raises:
        typer.Exit: with the error's exit code.
    """
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError as err:  # the reader of stdout is gone (| head): nothing to say, nowhere to say it
        if debug:
            echo("".join(traceback.format_exception(err)).rstrip(), err=True)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush fails otherwise
        raise typer.Exit(EXIT_OUTPUT_CLOSED) from None
    except Exception as err:
        if debug:
            echo("".join(traceback.format_exception(err)).rstrip(), err=True)
        echo(one_line(err), err=True)
        raise typer.Exit(_explain(err)[2]) from None
