"""agentkit: typed, parallel, testable tool-calling agents for Kimi-K2 and OpenAI-compatible models.

The public API is this module's ``__all__``; models live in
[`agentkit.models`][], errors in [`agentkit.exceptions`][], test doubles
and the loopback fake Kimi server in [`agentkit.testing`][].
"""

from agentkit._run_context import RunContext
from agentkit._version import __version__ as __version__
from agentkit.agent import Agent, RunStream
from agentkit.exceptions import ModelRetry, StopRun
from agentkit.models.abstract import ModelSettings
from agentkit.result import RunResult
from agentkit.tool import Tool, Toolset, tool
from agentkit.usage import Usage, UsageLimits

__all__ = [
    "Agent",
    "ModelRetry",
    "ModelSettings",
    "RunContext",
    "RunResult",
    "RunStream",
    "StopRun",
    "Tool",
    "Toolset",
    "Usage",
    "UsageLimits",
    "tool",
]
