"""Agents that durable-run tests execute in worker processes (imported there as ``module:attr``).

They talk to the loopback fake Kimi server named by ``AGENTKIT_TEST_KIMI_URL``
and record every tool execution, one line each, in ``AGENTKIT_TEST_TOOL_LOG``.
"""

from __future__ import annotations

import os

import anyio

from agentkit import Agent, RunContext, tool
from agentkit.models import KimiModel

URL_ENV = "AGENTKIT_TEST_KIMI_URL"
LOG_ENV = "AGENTKIT_TEST_TOOL_LOG"
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
    gate = os.environ.get(GATE_ENV)
    if name == "slow" and gate:
        await _wait_for_file(gate)
    _record(f"done {name} {ctx.idempotency_key}")
    return f"{name} ok"


def stepper() -> Agent[str]:
    """An agent with the ``step`` tool, against the fake server."""
    model = KimiModel("kimi-k2-0905-preview", base_url=os.environ[URL_ENV], api_key="test-key")
    return Agent(model, instructions="Do the steps.", tools=[step], name="stepper")
