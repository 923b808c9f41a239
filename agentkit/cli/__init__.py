"""The ``agentkit`` command.

Each command group lives in its own module here and is listed below; a
module is imported only when its command runs (``agentkit --help`` and
``agentkit version`` import none of them). Commands print one clear line on
error and exit non-zero (``--debug`` shows the traceback).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Annotated, Any, cast

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

import agentkit
from agentkit.cli._echo import echo

__all__ = ["LAZY_COMMANDS", "LazyCommand", "app", "main"]


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """A command loaded on first use: the module, its attribute, and the line ``--help`` lists."""

    module: str
    attribute: str
    help: str
    group: bool = False


#: The commands in ``--help`` order; tests/test_cold_start.py checks each ``help`` against its command.
LAZY_COMMANDS: dict[str, LazyCommand] = {
    "run": LazyCommand(
        "agentkit.cli.run",
        "run",
        "Run an agent on a prompt (or chat with it): progress on stderr, the answer on stdout.",
    ),
    "demo": LazyCommand(
        "agentkit.cli.demo",
        "demo",
        "Run a demo agent: offline by default (no network, no API key), on Kimi-K2 with --live.",
    ),
    "batch": LazyCommand(
        "agentkit.cli.batch",
        "batch",
        "Run every task of TASKS durably on a DBOS queue over worker processes.",
    ),
    "eval": LazyCommand(
        "agentkit.cli.evals",
        "eval_command",
        "Run DATASET against an agent, score every run, print and save the report.",
    ),
    "verify": LazyCommand(
        "agentkit.cli.verify",
        "verify_command",
        "Check the tool calling of one or more OpenAI-compatible endpoints with a fixed suite.",
    ),
    "models": LazyCommand(
        "agentkit.cli.models",
        "models",
        "List the models the endpoint offers, with context windows and prices (USD per 1M tokens).",
    ),
    "replay": LazyCommand(
        "agentkit.cli.trace",
        "replay",
        "Re-run an agent against its recording and report match or mismatch (with the diff).",
    ),
    "trace": LazyCommand("agentkit.cli.trace", "app", "Show recorded runs (trace files).", group=True),
    "sessions": LazyCommand(
        "agentkit.cli.sessions", "app", "List, show, fork and delete stored sessions.", group=True
    ),
    "mcp": LazyCommand(
        "agentkit.cli.mcp",
        "app",
        "Model Context Protocol: serve agentkit tools to coding assistants.",
        group=True,
    ),
}


def load_command(name: str) -> TyperCommand | TyperGroup:
    """Import command ``name``'s module and build its click command."""
    spec = LAZY_COMMANDS[name]
    target = getattr(import_module(spec.module), spec.attribute)
    command: TyperCommand | TyperGroup
    if spec.group:
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name=name)(target)
        command = cast(TyperCommand, typer.main.get_command(single))
    command.name = name
    _plain_flags(command)
    return command


class _Flag(TyperOption):
    """An on/off option: its help row names no value type (typer's rich help wrote ``<bool>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        """A flag takes no value, so its help shows none."""
        return None


def _plain_flags(command: TyperCommand | TyperGroup, params: list[Any] | None = None) -> None:
    """Make every flag of ``command`` (its subcommands, its ``--help``) a `_Flag`."""
    for param in command.get_params(typer.Context(command)) if params is None else params:
        if type(param) is TyperOption and param.is_flag:
            param.__class__ = _Flag
    for sub in getattr(command, "commands", {}).values():
        _plain_flags(sub)


class _LazyGroup(TyperGroup):
    """The root group: lists every command from ``LAZY_COMMANDS`` and imports one when it is invoked."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, spec in LAZY_COMMANDS.items():
            if name not in self.commands:
                self.add_command(TyperCommand(name=name, help=spec.help, short_help=spec.help))

    def get_params(self, ctx: Any) -> list[Any]:
        """The root's options (``--version``, completion, ``--help``), flags shown without a type."""
        params = super().get_params(ctx)
        _plain_flags(self, params)
        return params

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Swap a listed command for the real one before click parses its arguments."""
        if args and args[0] in LAZY_COMMANDS and isinstance(self.commands.get(args[0]), TyperCommand):
            self.commands[args[0]] = load_command(args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="agentkit",
    help="Typed, parallel, testable tool-calling agents for Kimi-K2 and OpenAI-compatible models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_LazyGroup,
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


def main() -> None:
    """Run the ``agentkit`` command (the console-script entry point)."""
    app()
