"""Agents that durable-run tests execute in worker processes (imported there as ``module:attr``).

They talk to the loopback fake Kimi server named by ``AGENTKIT_TEST_KIMI_URL``
and record every tool execution, one line each, in ``AGENTKIT_TEST_TOOL_LOG``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import psycopg

from agentkit import Agent, RunContext, tool
from agentkit.models import KimiModel
from tests._memory_backends import postgres_dsn

URL_ENV = "AGENTKIT_TEST_KIMI_URL"
SMTP_PORT_ENV = "AGENTKIT_TEST_SMTP_PORT"
WORKSPACE_ENV = "AGENTKIT_TEST_WORKSPACE"
LOG_ENV = "AGENTKIT_TEST_TOOL_LOG"
MEMORY_ENV = "AGENTKIT_TEST_MEMORY"
#: While this file does not exist, the ``slow`` step waits (a test kills the worker meanwhile).
GATE_ENV = "AGENTKIT_TEST_GATE"


def _record(line: str) -> None:
    with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()


async def _wait_for_file(path: str) -> None:
    """Return once ``path`` exists (another process creates it)."""
    while not await anyio.Path(path).exists():  # noqa: ASYNC110 - the event is another process's file
        await anyio.sleep(0.02)


@tool
async def step(name: str, ctx: RunContext[None]) -> str:
    """Perform one named step.

    Args:
        name: the step's name.
        ctx: the run context (for the idempotency key).
    """
    _record(f"start {name} {ctx.idempotency_key}")
    if name == "boom":
        raise RuntimeError("the boom step always fails")
    gate = os.environ.get(GATE_ENV)
    if name == "slow" and gate:
        await _wait_for_file(gate)
    _record(f"done {name} {ctx.idempotency_key}")
    return f"{name} ok"


def stepper() -> Agent[str]:
    """An agent with the ``step`` tool, against the fake server."""
    model = KimiModel("kimi-k2-0905-preview", base_url=os.environ[URL_ENV], api_key="test-key")
    return Agent(model, instructions="Do the steps.", tools=[step], name="stepper")


def looper() -> Agent[str]:
    """The stepper with a limit of three model turns (a model that never stops calling fails)."""
    model = KimiModel("kimi-k2-0905-preview", base_url=os.environ[URL_ENV], api_key="test-key")
    return Agent(
        model, instructions="Do the steps.", tools=[step], name="looper", max_turns=3, tool_retries=5
    )


def chatter() -> Agent[str]:
    """An agent without tools whose sessions live in the SQLite file ``AGENTKIT_TEST_MEMORY``."""
    from agentkit.memory import SQLiteMemory  # noqa: PLC0415 - only the session tests need it

    model = KimiModel("kimi-k2-0905-preview", base_url=os.environ[URL_ENV], api_key="test-key")
    return Agent(model, instructions="Chat.", memory=SQLiteMemory(os.environ[MEMORY_ENV]), name="chatter")


def mailer() -> Agent[str]:
    """An agent with agentkit-tools' ``send_email`` (approved automatically) over loopback SMTP."""
    from agentkit_tools.email import EmailSettings, Mailer, email_tools  # noqa: PLC0415
    from agentkit_tools.workspace import Workspace  # noqa: PLC0415

    from agentkit.approval import approve_all  # noqa: PLC0415 - only the email tests need these

    port = int(os.environ[SMTP_PORT_ENV])
    settings = EmailSettings(host="127.0.0.1", port=port, sender="agent@example.com", security="none")
    tools = email_tools(Mailer(Workspace(os.environ[WORKSPACE_ENV]), settings))
    model = KimiModel("kimi-k2-0905-preview", base_url=os.environ[URL_ENV], api_key="test-key")
    return Agent(model, instructions="Send the emails.", tools=tools, approve=approve_all, name="mailer")


#: The system databases durable tests run on (PostgreSQL skips without ``AGENTKIT_TEST_POSTGRES_DSN``).
SYSTEM_DATABASES = ("sqlite", "postgres")


@contextmanager
def system_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh DBOS system database URL of ``kind``; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.sqlite'}"
        return
    dsn = postgres_dsn()
    name = f"agentkit_dbos_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{dsn.rsplit('/', 1)[0]}/{name}"  # DBOS creates the database on launch
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # name is ours: hex only
