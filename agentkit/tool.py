"""Typed tools: the ``@tool`` decorator, `Tool` and `Toolset`.

A tool is a plain (sync or async) function with type hints and a docstring.
Everything slow happens once, when it is declared: the JSON schema, the
``jsonschema`` validator and the pydantic arguments model. `Tool.call`
then only parses, validates, coerces, runs and serialises.

>>> @tool(timeout=5)
... def add(a: int, b: int = 2) -> int:
...     '''Add two numbers.
...
...     Args:
...         a: The first number.
...         b: The second number.
...     '''
...     return a + b
>>> add.name, add.description, add.parameters["required"]
('add', 'Add two numbers.', ['a'])
>>> import anyio
>>> anyio.run(add.call, '{"a": 1}')
'3'

Return values become the tool message's text: a ``str`` is sent as is, ``None``
becomes ``"null"``, and anything else (pydantic models, dataclasses, dicts,
lists, tuples, enums, numbers, dates...) is encoded as JSON by
`pydantic_core.to_json`; objects it does not know are sent as ``str(obj)``.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

import anyio
import anyio.to_thread

from agentkit import _json
from agentkit._log import get_logger
from agentkit._precheck import Precheck, compile_precheck
from agentkit._run_context import RunContext
from agentkit.exceptions import ToolArgumentsError, ToolDefinitionError, ToolTimeoutError, UserError
from agentkit.images import ImagePart
from agentkit.model_types import ToolDefinition

if TYPE_CHECKING:
    # pydantic, griffe and jsonschema load when the first tool is declared, not with ``import agentkit``.
    import jsonschema.protocols
    from jsonschema.exceptions import ValidationError

    from agentkit._schema import DocstringFormat, FunctionSchema
    from agentkit.approval import Decision
    from agentkit.run_state import RunState

__all__ = ["SubRuns", "Tool", "ToolOutput", "ToolSource", "Toolset", "tool"]

_log = get_logger("agentkit.tool")

_MAX_PROBLEM_CHARS = 300
#: How deeply the model's arguments may nest (objects and arrays). Validating and describing
#: a deeper value recurses past Python's limit; no tool schema needs anywhere near this many.
MAX_ARGUMENT_DEPTH = 64
_JSON_START = frozenset('{["0123456789-tfn')


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolOutput:
    """A tool result with images: ``text`` for the tool message, ``images`` for a vision model.

    Return one from a tool (or return an [`ImagePart`][agentkit.images.ImagePart] alone); the
    images reach the model after the turn's tool results (a model without vision refuses them).
    """

    text: str = ""
    images: tuple[ImagePart, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class _Plan:
    """The per-tool machinery built once at declaration and used on every call."""

    schema: FunctionSchema
    validator: jsonschema.protocols.Validator
    #: A compiled fast path for valid arguments; jsonschema judges whenever it declines.
    precheck: Precheck | None
    definition: ToolDefinition


class SubRuns(Protocol):
    """What a tool running an agent (``agent.as_tool()``) offers its caller's ``resume``.

    When such a tool's run pauses, the calling run pauses with the sub-run's state;
    decisions for the sub-run's waiting calls are checked here before anything runs.
    """

    async def check_decisions(self, state: RunState, decisions: Mapping[str, Decision]) -> None:
        """Raise ``RunStateError`` when ``decisions`` cannot apply to the paused sub-run ``state``."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Tool:
    """A function the model can call, with its schema. Build one with `tool`.

    Attributes:
        name: the name the model calls the tool by.
        description: the docstring's text (without parameter/returns sections), or ``description=``.
        parameters: the JSON object schema the model sees (and arguments are checked against).
        function: the wrapped function, unchanged.
        timeout: seconds a call may take; ``None`` means no limit.
        retries: this tool's retry budget; ``None`` means the agent's default.
        sequential: run this tool alone (a barrier), never concurrently with other calls.
        requires_approval: a call waits for an approval decision before it runs (see
            [`agentkit.approval`][]); without an approver the run pauses.
        takes_ctx: whether the function has a ``RunContext`` parameter (injected, hidden from the schema).
        sub_runs: set on a tool that runs an agent (``agent.as_tool()``): its paused runs
            pause the caller, and the caller's resume checks decisions for them here.

    """

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any]
    timeout: float | None = None
    retries: int | None = None
    sequential: bool = False
    takes_ctx: bool = False
    requires_approval: bool = False
    sub_runs: SubRuns | None = field(default=None, repr=False, compare=False)
    _plan: _Plan = field(repr=False, compare=False)

    @property
    def definition(self) -> ToolDefinition:
        """The tool as sent to the model: name, description and parameters."""
        return self._plan.definition

    def validate_arguments(self, arguments: str) -> dict[str, Any]:
        """Parse and check the model's raw argument string against the schema, without running.

        Returns the arguments as a JSON object (before pydantic coercion), as the
        function would receive them.

        Raises:
            ToolArgumentsError: the arguments are not a JSON object matching the schema.

        """
        plan = self._plan
        args = _validate(plan, _parse_arguments(arguments))
        _coerce(plan.schema, args)
        return args

    @classmethod
    def from_schema(
        cls,
        *,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        function: Callable[[dict[str, Any]], Awaitable[Any]],
        timeout: float | None = None,
        retries: int | None = None,
        sequential: bool = False,
        requires_approval: bool = False,
    ) -> Tool:
        r"""Build a tool from a ready JSON schema and an async function taking the arguments dict.

        For tools described elsewhere (an MCP server, an OpenAPI operation): the
        model sees ``parameters`` unchanged, arguments are checked against it with
        ``jsonschema`` exactly as for ``@tool`` functions, and ``function`` is
        awaited with the checked arguments as one ``dict``. Timeouts, retries,
        approvals, error feedback and events are those of every other tool.

        ``parameters`` is read in the JSON Schema dialect its ``$schema`` names
        (draft-04 to 2020-12; 2020-12 when it names none) and must be valid in it.
        A ``pattern`` Python's ``re`` cannot compile (ECMA-only syntax such as
        ``\p{L}``) is kept for the model but not checked locally.

        >>> async def shout(arguments: dict[str, Any]) -> str:
        ...     return arguments["text"].upper()
        >>> loud = Tool.from_schema(
        ...     name="shout",
        ...     description="Shout the text.",
        ...     parameters={"type": "object", "properties": {"text": {"type": "string"}}},
        ...     function=shout,
        ... )
        >>> import anyio
        >>> anyio.run(loud.call, '{"text": "hi"}')
        'HI'

        Raises:
            ToolDefinitionError: the schema is not a valid JSON Schema of an object (in its
                dialect), names an unknown dialect, or an option is out of range.

        """
        schema, plan = _schema_plan(name, description, parameters, timeout, retries)
        return cls(
            name=name,
            description=description,
            parameters=schema,
            function=function,
            timeout=timeout,
            retries=retries,
            sequential=sequential,
            requires_approval=requires_approval,
            _plan=plan,
        )

    async def call(self, arguments: str, ctx: RunContext[Any] | None = None) -> str:
        """Run the tool on the model's raw argument string and return the result as text.

        A result with images gives its text here; `invoke` keeps the images.

        Raises:
            ToolArgumentsError: the arguments are not a JSON object matching the schema
                (every problem is listed in one message); the function did not run.
            ToolTimeoutError: the call took longer than ``timeout`` seconds.
            UserError: the tool takes a ``RunContext`` but ``ctx`` is ``None``.
            Exception: whatever the function raises (including ``ModelRetry`` and
                ``StopRun``) propagates unchanged.

        """
        result = await self.invoke(arguments, ctx)
        return result.text if isinstance(result, ToolOutput) else result

    async def invoke(self, arguments: str, ctx: RunContext[Any] | None = None) -> str | ToolOutput:
        """Run the tool like `call`, keeping images: what the agent loop calls.

        A tool that returned a `ToolOutput` or an [`ImagePart`][agentkit.images.ImagePart]
        gives a `ToolOutput` (text plus images); any other result is text.

        Raises:
            Exception: as `call`.

        """
        plan = self._plan
        kwargs = _coerce(plan.schema, _validate(plan, _parse_arguments(arguments)))
        if plan.schema.ctx_param is not None:
            if ctx is None:
                raise UserError(f"tool {self.name!r} takes a RunContext but was called without one")
            kwargs[plan.schema.ctx_param] = ctx
        args = [kwargs.pop(n) for n in plan.schema.positional_only]
        bound = functools.partial(self.function, *args, **kwargs)
        if self.timeout is None:
            result = await _run(bound, is_async=plan.schema.is_async)
        else:
            with anyio.move_on_after(self.timeout) as scope:
                result = await _run(bound, is_async=plan.schema.is_async)
            if scope.cancelled_caught:
                raise ToolTimeoutError(f"tool {self.name!r} timed out after {self.timeout:g} s")
        return tool_output(result)


@overload
def tool(
    fn: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    sequential: bool = False,
    requires_approval: bool = False,
    docstring_format: DocstringFormat = "auto",
) -> Tool: ...


@overload
def tool(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    sequential: bool = False,
    requires_approval: bool = False,
    docstring_format: DocstringFormat = "auto",
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    sequential: bool = False,
    requires_approval: bool = False,
    docstring_format: DocstringFormat = "auto",
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a sync or async function into a `Tool`; use as ``@tool`` or ``@tool(...)``.

    Args:
        fn: the function (given when used as a bare ``@tool``).
        name: the tool's name; defaults to the function's ``__name__``.
        description: the tool's description; defaults to the docstring's text.
        timeout: seconds a call may take before `ToolTimeoutError`; ``None`` for no limit.
        retries: this tool's retry budget; ``None`` uses the agent's default.
        sequential: run this tool alone instead of concurrently with other calls of the turn.
        requires_approval: every call waits for an approval decision (``Agent(approve=...)``,
            ``run(approve=...)``, or a paused run resumed with decisions).
        docstring_format: the docstring style for parameter descriptions; ``"auto"`` detects it.

    Raises:
        ToolDefinitionError: listing every problem with the signature at once. A
            docstring entry for a parameter the function does not have is a problem
            too (it usually means the docstring went stale).

    """
    # String annotations (``from __future__ import annotations``) may name the caller's local
    # variables, e.g. a model defined in the same function as the tool: resolve them there.
    caller_locals = dict(sys._getframe(1).f_locals)

    def decorate(func: Callable[..., Any]) -> Tool:
        return _make_tool(
            func,
            localns=caller_locals,
            name=name,
            description=description,
            timeout=timeout,
            retries=retries,
            sequential=sequential,
            requires_approval=requires_approval,
            docstring_format=docstring_format,
        )

    return decorate if fn is None else decorate(fn)


def _make_tool(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    sequential: bool = False,
    requires_approval: bool = False,
    docstring_format: DocstringFormat = "auto",
    localns: Mapping[str, Any] | None = None,
) -> Tool:
    from agentkit._schema import function_schema  # noqa: PLC0415 - see the TYPE_CHECKING imports

    tool_name = name if name is not None else _default_name(func)
    option_problems = _option_problems(timeout, retries)
    try:
        schema = function_schema(
            func, name=tool_name, description=description, docstring_format=docstring_format, localns=localns
        )
    except ToolDefinitionError as err:
        raise ToolDefinitionError(tool_name, [*option_problems, *err.problems]) from None
    if option_problems:
        raise ToolDefinitionError(tool_name, option_problems)
    plan = _make_plan(tool_name, schema)
    return Tool(
        name=tool_name,
        description=schema.description,
        parameters=schema.parameters,
        function=func,
        timeout=timeout,
        retries=retries,
        sequential=sequential,
        takes_ctx=schema.ctx_param is not None,
        requires_approval=requires_approval,
        _plan=plan,
    )


def _make_plan(name: str, schema: FunctionSchema) -> _Plan:
    from agentkit._validator import validator_for  # noqa: PLC0415 - jsonschema loads with the first tool

    try:
        validator, unchecked = validator_for(schema.parameters)
    except ToolDefinitionError as err:
        raise ToolDefinitionError(name, err.problems) from None
    if unchecked:
        _log.info("tool_patterns_unchecked", tool=name, patterns=list(unchecked))
    return _Plan(
        schema=schema,
        validator=validator,
        precheck=compile_precheck(schema.parameters),
        definition=ToolDefinition(name=name, description=schema.description, parameters=schema.parameters),
    )


def _schema_plan(
    name: str, description: str, parameters: Mapping[str, Any], timeout: float | None, retries: int | None
) -> tuple[dict[str, Any], _Plan]:
    """Check a ready schema (and the options) for `Tool.from_schema`; return it and its call plan."""
    problems = _option_problems(timeout, retries)
    schema = dict(parameters)
    if schema.get("type", "object") != "object":
        problems.append(f"parameters must be a JSON object schema, not type {schema.get('type')!r}")
    if problems:
        raise ToolDefinitionError(name, problems)
    schema.setdefault("type", "object")
    import pydantic  # noqa: PLC0415 - see the TYPE_CHECKING imports

    from agentkit._schema import FunctionSchema  # noqa: PLC0415 - likewise

    function_schema_ = FunctionSchema(
        description=description,
        parameters=schema,
        # The checked arguments pass through whole, as the function's one parameter.
        arguments_model=pydantic.RootModel[dict[str, Any]],
        fields=(("root", "arguments"),),
        ctx_param=None,
        positional_only=("arguments",),
        is_async=True,
    )
    return schema, _make_plan(name, function_schema_)


def _option_problems(timeout: float | None, retries: int | None) -> list[str]:
    problems: list[str] = []
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        problems.append(f"timeout must be a positive number of seconds, not {timeout!r}")
    if retries is not None and retries < 0:
        problems.append(f"retries must be >= 0, not {retries!r}")
    return problems


def _default_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", None)
    if isinstance(name, str):
        return name
    inner = getattr(func, "func", None)  # functools.partial
    return _default_name(inner) if callable(inner) else type(func).__name__


@runtime_checkable
class ToolSource(Protocol):
    """Tools whose list can change between runs, such as an MCP server's.

    Pass one in ``Agent(tools=[...])`` next to plain tools: the agent asks it
    for its current tools at the start of every run (a source caches them and
    refreshes when they change, so asking is cheap).
    """

    async def list_tools(self) -> Sequence[Tool]:
        """Return the tools as they are now."""
        ...


class Toolset:
    """An immutable collection of tools with unique names.

    Plain functions are wrapped with `tool`. A name used twice raises
    `UserError` naming it.
    """

    __slots__ = ("_by_name", "_definitions")

    def __init__(self, tools: Iterable[Tool | Callable[..., Any]]) -> None:
        by_name: dict[str, Tool] = {}
        for item in tools:
            made = item if isinstance(item, Tool) else _make_tool(item)
            if made.name in by_name:
                raise UserError(f"two tools are named {made.name!r}; tool names must be unique")
            by_name[made.name] = made
        self._by_name: Mapping[str, Tool] = by_name
        self._definitions = tuple(t.definition for t in by_name.values())

    def get(self, name: str) -> Tool | None:
        """Return the tool called ``name``, or ``None``."""
        return self._by_name.get(name)

    @property
    def definitions(self) -> tuple[ToolDefinition, ...]:
        """Every tool's definition, in declaration order."""
        return self._definitions

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __repr__(self) -> str:
        return f"Toolset({list(self._by_name)!r})"


def tool_output(value: Any) -> str | ToolOutput:
    """Turn a tool's return value into its result: a `ToolOutput` when it has images, else text."""
    if isinstance(value, ToolOutput):
        return value
    if isinstance(value, ImagePart):
        return ToolOutput(text="[1 image]", images=(value,))
    return serialize_result(value)


def serialize_result(value: Any) -> str:
    """Turn a tool's return value into the text sent to the model.

    ``str`` as is; ``None`` as ``"null"``; everything else as JSON via
    `pydantic_core.to_json`, with ``str(obj)`` for objects it cannot encode.
    """
    if isinstance(value, str):
        return value
    import pydantic_core  # noqa: PLC0415 - loaded with the first non-text result

    return pydantic_core.to_json(value, fallback=str).decode()


async def _run(bound: Callable[[], Any], *, is_async: bool) -> Any:
    if is_async:
        return await bound()
    return await anyio.to_thread.run_sync(bound, abandon_on_cancel=True)


def _parse_arguments(arguments: str) -> dict[str, Any]:
    if not arguments or arguments.isspace():
        return {}
    try:
        value = _json.loads(arguments)
    except ValueError as err:
        raise ToolArgumentsError(
            f"arguments are not valid JSON: {_short(str(err))}; send a JSON object matching the schema"
        ) from None
    if isinstance(value, str):
        if _holds_json(value):
            raise ToolArgumentsError(
                "arguments were a JSON string containing JSON (encoded twice); "
                "send the JSON object itself, not a string"
            )
        raise ToolArgumentsError("arguments must be a JSON object, not a string")
    if not isinstance(value, dict):
        raise ToolArgumentsError(f"arguments must be a JSON object, not {_json_type(value)}")
    if _too_deep(value):
        raise ToolArgumentsError(
            f"arguments nest objects or arrays more than {MAX_ARGUMENT_DEPTH} levels deep; "
            "send flatter arguments matching the schema"
        )
    return value


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests containers deeper than `MAX_ARGUMENT_DEPTH` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_ARGUMENT_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _holds_json(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in _JSON_START:
        return False
    try:
        _json.loads(stripped)
    except ValueError:
        return False
    return True


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    return "a number"


def _validate(plan: _Plan, args: dict[str, Any]) -> dict[str, Any]:
    if plan.precheck is not None and plan.precheck(args):
        return args
    if plan.validator.is_valid(args):
        return args
    errors = sorted(plan.validator.iter_errors(args), key=lambda e: [str(p) for p in e.absolute_path])
    # jsonschema reports each missing key as its own "required" error: drop the repeats.
    problems = list(dict.fromkeys(p for err in errors for p in _describe(err)))
    raise ToolArgumentsError(_join(problems))


def _describe(err: ValidationError) -> list[str]:
    path = _path(err.absolute_path)
    where = f"{path}: " if path else ""
    noun = "field" if path else "parameter"
    if err.validator == "required" and isinstance(err.instance, dict):
        required = err.validator_value if isinstance(err.validator_value, list) else []
        return [f"{where}missing required {noun} {k!r}" for k in required if k not in err.instance]
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
        extra = [k for k in err.instance if k not in known]
        if extra:
            return [f"{where}unexpected {noun} {k!r}" for k in extra]
    return [f"{where}{_short(err.message)}"]


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _coerce(schema: FunctionSchema, args: dict[str, Any]) -> dict[str, Any]:
    import pydantic  # noqa: PLC0415 - already loaded by the tool's declaration

    try:
        model = schema.arguments_model.model_validate(args)
    except pydantic.ValidationError as err:
        problems = [
            f"{_path(e['loc'])}: {_short(e['msg'])}" if e["loc"] else _short(e["msg"]) for e in err.errors()
        ]
        raise ToolArgumentsError(_join(problems)) from None
    return {param: getattr(model, attr) for attr, param in schema.fields}


def _join(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return "; ".join(problems)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_PROBLEM_CHARS else text[: _MAX_PROBLEM_CHARS - 3] + "..."
