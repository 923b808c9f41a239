"""One exception tree for everything agentkit raises.

::


    AgentkitError
    ├── UserError                   a developer mistake, found as early as possible
    │   ├── ToolDefinitionError     a tool's signature cannot become a schema (all problems listed)
    │   ├── TraceFormatError        a trace file is malformed or of an unsupported format version
    │   ├── RunStateError           a paused run's state is malformed, of another version, or misused
    │   └── SessionIdError          a memory session id is empty, too long, or holds control characters
    ├── MCPConnectionError          an MCP server could not be started or connected (.server, .stderr)
    ├── ToolSignal                  raised by a tool on purpose
    │   ├── ModelRetry              "tell the model this, let it try again"
    │   │   ├── ToolArgumentsError  the model's arguments were not valid JSON / failed the schema
    │   │   └── ToolTimeoutError    the tool ran past its timeout
    │   └── StopRun                 end the run now, with this output
    └── RunError                    the run could not finish; carries .messages and .run_id
        ├── MaxTurnsExceeded
        ├── UsageLimitExceeded
        ├── OutputValidationError   the model kept producing output that failed output_type
        ├── ToolRetriesExceeded     a tool failed more often than its retry budget
        ├── ReplayMismatch          a replayed run differs from its recording (.turn, .field, .diff)
        └── ModelError              the model provider failed
            ├── ModelHTTPError      an HTTP error status (.status_code, .error_type, .message)
            │   ├── ModelRetiredError  a 404 for a retired model id (.replacement)
            │   └── ContextOverflowError  a 400 the model's profile reads as "the prompt is too long"
            ├── ModelConnectionError  no answer: connection refused, reset, timed out
            └── ModelResponseError  an answer that cannot be understood (bad JSON, cut stream)
                └── ModelEmptyResponseError  no text, no reasoning, no tool calls (after a retry)

Messages never contain API keys: providers build them from the response
body, status and request id only.

>>> err = ModelHTTPError(status_code=429, error_type="engine_overloaded_error", message="busy")
>>> isinstance(err, RunError), err.status_code
(True, 429)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.messages import Message
    from agentkit.usage import Usage

__all__ = [
    "AgentkitError",
    "ContextOverflowError",
    "MCPConnectionError",
    "MaxTurnsExceeded",
    "ModelConnectionError",
    "ModelEmptyResponseError",
    "ModelError",
    "ModelHTTPError",
    "ModelResponseError",
    "ModelRetiredError",
    "ModelRetry",
    "OutputValidationError",
    "ReplayMismatch",
    "RunError",
    "RunStateError",
    "SessionIdError",
    "StopRun",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "ToolRetriesExceeded",
    "ToolSignal",
    "ToolTimeoutError",
    "TraceFormatError",
    "UsageLimitExceeded",
    "UserError",
]


class AgentkitError(Exception):
    """The root of every error agentkit raises."""


class UserError(AgentkitError):
    """A mistake in how agentkit is used (configuration, tool definitions)."""


class ToolDefinitionError(UserError):
    """A tool's signature cannot be turned into a schema.

    ``problems`` lists every problem found, so all can be fixed at once.
    """

    def __init__(self, tool_name: str, problems: Sequence[str]) -> None:
        self.tool_name = tool_name
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"tool {tool_name!r} cannot be defined:\n{lines}")


class MCPConnectionError(AgentkitError):
    """An MCP server could not be started or connected.

    The message names the server and the reasons; for a stdio server, ``stderr``
    holds the last lines it wrote (a traceback, a missing module), secrets redacted.
    """

    def __init__(self, message: str, *, server: str, stderr: str = "") -> None:
        super().__init__(message)
        self.server = server
        self.stderr = stderr


class TraceFormatError(UserError):
    """A trace file cannot be read: not an agentkit trace, malformed, or an unsupported version."""


class RunStateError(UserError):
    """A paused run's state cannot be read or resumed (malformed, unsupported version, misused)."""


class SessionIdError(UserError):
    """A memory session id is empty, too long, or holds control characters (NUL included).

    Every memory backend checks ids the same way ([`agentkit.memory.abstract.check_session`][]),
    so an id that one backend stores is stored by all of them.
    """


class ToolSignal(AgentkitError):
    """Raised by tool code on purpose to steer the run."""


class ModelRetry(ToolSignal):
    """Send ``message`` back to the model as the tool's (error) result so it can try again."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ToolArgumentsError(ModelRetry):
    """The model's arguments were malformed JSON or did not match the tool's schema."""


class ToolTimeoutError(ModelRetry):
    """The tool did not finish within its timeout."""


class StopRun(ToolSignal):
    """End the run immediately; ``output`` becomes the run's output."""

    def __init__(self, output: Any = None) -> None:
        self.output = output
        super().__init__("run stopped by a tool")


class RunError(AgentkitError):
    """The run ended without a result.

    ``messages`` holds the conversation up to the failure (nothing is lost);
    ``run_id`` names the run in logs and traces. The loop fills both in.
    """

    messages: tuple[Message, ...] = ()
    run_id: str | None = None
    #: What the run spent before it failed (paid model calls count), and its turns.
    usage: Usage | None = None
    cost_usd: float = 0.0
    turns: int = 0

    def attach(
        self,
        messages: Sequence[Message],
        run_id: str,
        *,
        usage: Usage | None = None,
        cost_usd: float = 0.0,
        turns: int = 0,
    ) -> None:
        """Record the conversation so far, the run id and what it spent (called by the loop)."""
        self.messages = tuple(messages)
        self.run_id = run_id
        self.usage = usage
        self.cost_usd = cost_usd
        self.turns = turns


class MaxTurnsExceeded(RunError):
    """The run used its ``max_turns`` without reaching a final answer."""


class UsageLimitExceeded(RunError):
    """A [`agentkit.usage.UsageLimits`][] limit was passed."""


class OutputValidationError(RunError):
    """The model's final output failed ``output_type`` more often than allowed."""


class ToolRetriesExceeded(RunError):
    """A tool kept failing after its retry budget was spent."""


class ReplayMismatch(RunError):
    """A replayed run asked for something other than what was recorded.

    Attributes:
        turn: the model turn (from 1) where the difference showed, or ``None``
            (recorded calls left unused at the end).
        field: what differed, e.g. ``"messages[0].content"`` or ``"tools"``.
        diff: a readable, line-based diff of the recorded and the actual value.
    """

    def __init__(self, message: str, *, turn: int | None = None, field: str = "", diff: str = "") -> None:
        self.turn = turn
        self.field = field
        self.diff = diff
        super().__init__(message if not diff else f"{message}\n{diff}")


class ModelError(RunError):
    """The model provider failed.

    ``retries`` is how many failed attempts the provider retried before giving up with this
    error (0 when it was not retried: a 400, a quota error, or a retry budget of 0).
    """

    retries: int = 0


class ModelHTTPError(ModelError):
    """The provider answered with an HTTP error status.

    Attributes carry what the wire said: ``status_code``, the provider's
    ``error_type`` (e.g. Kimi's ``rate_limit_reached_error``), its ``message``
    and the ``request_id`` header when present.
    """

    def __init__(
        self,
        *,
        status_code: int,
        error_type: str | None,
        message: str,
        request_id: str | None = None,
        model_name: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.error_type = error_type
        self.message = message
        self.request_id = request_id
        self.model_name = model_name
        kind = f" {error_type}" if error_type else ""
        where = f" from {model_name}" if model_name else ""
        super().__init__(f"HTTP {status_code}{kind}{where}: {message}")


class ModelRetiredError(ModelHTTPError):
    """The provider no longer serves this model id (a 404 for an id the profile knows is retired).

    ``replacement`` is the id to use instead (set ``MOONSHOT_MODEL`` or pass it to the model).
    """

    def __init__(
        self,
        *,
        replacement: str,
        status_code: int,
        error_type: str | None,
        message: str,
        request_id: str | None = None,
        model_name: str | None = None,
    ) -> None:
        self.replacement = replacement
        super().__init__(
            status_code=status_code,
            error_type=error_type,
            message=message,
            request_id=request_id,
            model_name=model_name,
        )
        retired = f"{model_name} is retired" if model_name else "this model id is retired"
        self.args = (f"{self.args[0]} ({retired}: use {replacement!r} instead)",)


class ContextOverflowError(ModelHTTPError):
    """The request did not fit the model's context window (an HTTP 400 saying so).

    The provider raises it when its profile recognises the server's message
    (`ModelProfile.context_overflow_markers`: Kimi's "exceeded model token limit", the
    "maximum context length" of OpenAI and vLLM), so context policies such as
    `agentkit.memory.FitContext` react to it without knowing any server's wording.
    """


class ModelConnectionError(ModelError):
    """The provider could not be reached or did not answer in time.

    ``retryable`` is ``False`` when asking again cannot help: a connection refused by a
    server on this machine (loopback) means nothing listens there, so it fails at once.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        self.retryable = retryable
        super().__init__(message)


class ModelResponseError(ModelError):
    """The provider's answer could not be understood (bad JSON, a stream cut mid-way)."""


class ModelEmptyResponseError(ModelResponseError):
    """The provider answered with nothing: no text, no reasoning and no tool calls.

    A backend failing behind a proxy or gateway answers like this; it was asked again
    (``RetryPolicy.empty_answer_retries``) before this was raised. ``finish_reason`` is what
    the last empty answer said.
    """

    def __init__(self, message: str, *, finish_reason: str | None = None) -> None:
        self.finish_reason = finish_reason
        super().__init__(message)
