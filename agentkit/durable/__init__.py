"""Durable agent runs and fan-out on DBOS (the ``agentkit[dbos]`` extra).

An agent run becomes a DBOS workflow and each model call, tool call and
memory write a step checkpointed in the system database (SQLite or
PostgreSQL). A run whose process dies resumes, when a worker with the same
executor id starts again, from its last completed step: completed model and
tool calls are not repeated. The call that was in flight runs again, with the
same ``RunContext.idempotency_key``, so side-effect tools can de-duplicate.

See docs/scaling.md for one process -> many processes -> many machines.
"""

from agentkit.durable._steps import DurableMemory, DurableModel, DurableTool, idempotency_key
from agentkit.durable._workflow import DurableRequest, RunRecord, durable_agent, register_agent
from agentkit.durable.runner import DEFAULT_QUEUE, DurableRunner, Progress, QueueConfig, RateLimit

__all__ = [
    "DEFAULT_QUEUE",
    "DurableMemory",
    "DurableModel",
    "DurableRequest",
    "DurableRunner",
    "DurableTool",
    "Progress",
    "QueueConfig",
    "RateLimit",
    "RunRecord",
    "durable_agent",
    "idempotency_key",
    "register_agent",
]
