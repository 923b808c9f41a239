"""Structured output: how the run's final answer is recognised and validated.

With ``output_type=str`` the final answer is the model's text. With any
other type the model is offered a ``final_result`` tool whose parameters are
that type's schema; a reply whose text is valid JSON for the type (for
example after an assistant prefill of ``{``) is accepted too. Invalid output
goes back to the model with the validation errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from agentkit.model_types import ToolDefinition

if TYPE_CHECKING:
    import pydantic

__all__ = ["OUTPUT_TOOL_NAME", "OutputInvalid", "OutputSpec"]

OUTPUT_TOOL_NAME = "final_result"
_WRAP_KEY = "response"

T = TypeVar("T")


class OutputInvalid(Exception):
    """The model's output failed validation; ``message`` tells the model why."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, kw_only=True, slots=True)
class OutputSpec(Generic[T]):
    """How to recognise and validate the final output for one ``output_type``."""

    output_type: Any
    adapter: pydantic.TypeAdapter[T] | None
    tool: ToolDefinition | None
    wrapped: bool

    @classmethod
    def for_type(cls, output_type: Any) -> OutputSpec[Any]:
        """Build the spec for ``output_type`` (``str`` means plain text)."""
        if output_type is str:
            return OutputSpec(output_type=str, adapter=None, tool=None, wrapped=False)
        import pydantic  # noqa: PLC0415 - lazy: ``import agentkit`` does not load it

        from agentkit._schema import clean_schema  # noqa: PLC0415 - likewise (pydantic, griffe)

        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(output_type)
        schema = clean_schema(adapter.json_schema())
        wrapped = schema.get("type") != "object"
        if wrapped:
            schema = {
                "type": "object",
                "properties": {_WRAP_KEY: schema},
                "required": [_WRAP_KEY],
                "additionalProperties": False,
            }
        tool = ToolDefinition(
            name=OUTPUT_TOOL_NAME,
            description="Give the final answer. Call this exactly once, when you are done.",
            parameters=schema,
        )
        return OutputSpec(output_type=output_type, adapter=adapter, tool=tool, wrapped=wrapped)

    @property
    def is_text(self) -> bool:
        """True when the output is plain text."""
        return self.adapter is None

    def from_tool_arguments(self, arguments: str) -> T:
        """Validate the ``final_result`` call's raw arguments."""
        assert self.adapter is not None
        import pydantic  # noqa: PLC0415 - lazy: ``import agentkit`` does not load it

        try:
            if self.wrapped:
                envelope = pydantic.TypeAdapter(dict[str, Any]).validate_json(arguments or "{}")
                if _WRAP_KEY not in envelope:
                    raise OutputInvalid(f"missing required parameter {_WRAP_KEY!r}")
                return self.adapter.validate_python(envelope[_WRAP_KEY])
            return self.adapter.validate_json(arguments or "{}")
        except pydantic.ValidationError as err:
            raise OutputInvalid(_describe(err)) from None

    def from_text(self, text: str) -> T:
        """Validate a text answer (JSON, optionally in a Markdown code fence)."""
        assert self.adapter is not None
        body = _strip_fence(text)
        import pydantic  # noqa: PLC0415 - lazy: ``import agentkit`` does not load it

        try:
            return self.adapter.validate_json(body)
        except pydantic.ValidationError as err:
            raise OutputInvalid(
                f"{_describe(err)}\nCall the {OUTPUT_TOOL_NAME!r} tool with the final answer."
            ) from None


def _strip_fence(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        first_newline = stripped.find("\n")
        stripped = stripped[first_newline + 1 :] if first_newline != -1 else ""
        stripped = stripped.removesuffix("```").strip()
    return stripped


def _describe(err: pydantic.ValidationError) -> str:
    parts = []
    for item in err.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "output"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)
