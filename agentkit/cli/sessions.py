"""``agentkit sessions list|show|fork|delete``: look after stored conversations.

The store is a SQLite file (``--db``, default ``agentkit.db`` or ``$AGENTKIT_DB``)
or, with ``--postgres DSN`` (or ``$AGENTKIT_POSTGRES_DSN``), a PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import anyio
import orjson
import typer

from agentkit.cli._echo import echo
from agentkit.cli._errors import EXIT_USAGE, reported
from agentkit.exceptions import AgentkitError
from agentkit.memory.abstract import Memory
from agentkit.memory.sqlite import SQLiteMemory
from agentkit.messages import AssistantMessage, Message, ToolMessage, message_to_dict

__all__ = ["app", "format_message"]

T = TypeVar("T")

app = typer.Typer(help="List, show, fork and delete stored sessions.", no_args_is_help=True)

DbOption = Annotated[
    Path, typer.Option("--db", envvar="AGENTKIT_DB", help="The SQLite session file.", dir_okay=False)
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")]
PostgresOption = Annotated[
    str | None,
    typer.Option(
        "--postgres",
        envvar="AGENTKIT_POSTGRES_DSN",
        help="A PostgreSQL DSN (instead of --db).",
        show_default=False,
    ),
]
SessionArg = Annotated[str, typer.Argument(help="The session's name.")]


def _fail(message: str) -> typer.Exit:
    """One error line; a session or database that is not there is a usage problem (exit 2)."""
    echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def _open(db: Path, postgres: str | None) -> Memory:
    if postgres:
        try:
            from agentkit.memory.postgres import PostgresMemory  # noqa: PLC0415 - psycopg is optional
        except ImportError:
            raise _fail('--postgres needs psycopg: pip install "agentkit[postgres]"') from None
        return PostgresMemory(postgres)
    if not db.exists():
        raise _fail(
            f"no session database at {db}; name one with --db FILE (or AGENTKIT_DB) or --postgres DSN "
            "(a run with Agent(memory=SQLiteMemory(FILE)) and a session creates it)"
        )
    return SQLiteMemory(db)


def _run(memory: Memory, operation: Callable[[Memory], Awaitable[T]]) -> T:
    async def body() -> T:
        try:
            return await operation(memory)
        finally:
            aclose = getattr(memory, "aclose", None)
            if aclose is not None:
                await aclose()

    try:
        return anyio.run(body)
    except AgentkitError as err:
        raise _fail(str(err)) from None


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_message(message: Message, width: int = 100) -> str:
    """One line for ``message``: its role, then its text, tool calls or result (shortened to ``width``)."""
    if isinstance(message, AssistantMessage) and message.tool_calls:
        calls = ", ".join(f"{c.name}({c.arguments}) [{c.id}]" for c in message.tool_calls)
        text = f"{message.content} -> {calls}" if message.content else f"-> {calls}"
    elif isinstance(message, ToolMessage):
        flag = " ERROR" if message.is_error else ""
        text = f"[{message.tool_call_id}]{flag} {message.content}"
    else:
        text = message.content or ""
    return f"{message.role:>9}: {_short(text, width)}"


@app.command("list")
def list_sessions(
    db: DbOption = Path("agentkit.db"), postgres: PostgresOption = None, debug: DebugOption = False
) -> None:
    """List the stored sessions with their message counts."""

    async def operation(memory: Memory) -> list[tuple[str, int]]:
        return [(name, len(await memory.load(name))) for name in await memory.list_sessions()]

    with reported(debug=debug):
        for name, count in _run(_open(db, postgres), operation):
            echo(f"{name}\t{count} messages")


@app.command()
def show(
    session: SessionArg,
    *,
    db: DbOption = Path("agentkit.db"),
    postgres: PostgresOption = None,
    json: Annotated[bool, typer.Option("--json", help="Print each message as a JSON line.")] = False,
    width: Annotated[int, typer.Option(help="Shorten each line to this many characters.")] = 100,
    debug: DebugOption = False,
) -> None:
    """Print a session's messages in order."""
    with reported(debug=debug):
        messages = _run(_open(db, postgres), lambda memory: memory.load(session))
    if not messages:
        raise _fail(f"no session named {session!r}")
    for message in messages:
        echo(orjson.dumps(message_to_dict(message)).decode() if json else format_message(message, width))


@app.command()
def fork(
    source: SessionArg,
    target: SessionArg,
    db: DbOption = Path("agentkit.db"),
    postgres: PostgresOption = None,
    debug: DebugOption = False,
) -> None:
    """Copy session SOURCE to a new session TARGET."""
    with reported(debug=debug):
        _run(_open(db, postgres), lambda memory: memory.fork(source, target))
    echo(f"forked {source} -> {target}")


@app.command()
def delete(
    session: SessionArg,
    db: DbOption = Path("agentkit.db"),
    postgres: PostgresOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete a session and its messages."""

    async def operation(memory: Memory) -> int:
        count = len(await memory.load(session))
        if count:
            await memory.delete(session)
        return count

    with reported(debug=debug):
        count = _run(_open(db, postgres), operation)
    if not count:
        raise _fail(f"no session named {session!r}")
    echo(f"deleted {session} ({count} messages)")
