"""Turn a function's signature and docstring into the JSON schema a model sees.

Pure functions, run once when a tool is declared. The schema comes from
pydantic (public API only): each parameter becomes a field of an arguments
model built with `pydantic.create_model`, so the same model that made the
schema later coerces validated arguments into real Python objects. Parameter
descriptions come from the docstring (Google, NumPy or Sphinx, parsed with
griffe); a ``Field(description=...)`` on the parameter wins over the docstring,
and a plain string in ``Annotated[T, "..."]`` is used when the docstring says nothing.

The output is a clean object schema: no ``title`` keys, ``$ref`` inlined unless
the referenced model is recursive (only those stay in ``$defs``).

>>> def add(a: int, b: int = 2) -> int:
...     '''Add two numbers.
...
...     Args:
...         a: The first number.
...     '''
...     return a + b
>>> s = function_schema(add, name="add")
>>> s.description, s.parameters["required"], s.parameters["properties"]["b"]
('Add two numbers.', ['a'], {'default': 2, 'type': 'integer'})
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import griffe
from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, TypeAdapter, create_model
from pydantic.fields import FieldInfo

from agentkit._run_context import RunContext
from agentkit.exceptions import ToolDefinitionError

__all__ = [
    "DocstringFormat",
    "FunctionSchema",
    "clean_schema",
    "function_schema",
    "is_run_context",
    "parse_docstring",
]

#: How a docstring is parsed; ``"auto"`` detects the style.
DocstringFormat: TypeAlias = Literal["auto", "google", "numpy", "sphinx"]

_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_SECTION_HEADER = re.compile(r"^\s*[A-Za-z][A-Za-z ]*:\s*$")
# A Google section header right under text ("Summary.\nArgs:"), which griffe reads as more text.
_GOOGLE_SECTION_GLUED = re.compile(
    r"^(.*\S.*\n)((?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns|Return"
    r"|Raises|Yields|Examples?|Notes?|Attributes):[ \t]*\n[ \t]+\S)",
    re.MULTILINE,
)
_STYLES: tuple[Literal["google", "numpy", "sphinx"], ...] = ("google", "numpy", "sphinx")
_EMPTY = inspect.Parameter.empty

# JSON-schema keywords whose value is a schema, a list of schemas, or a map of name -> schema.
_SCHEMA_KEYS = frozenset(
    {
        "items",
        "additionalProperties",
        "additionalItems",
        "not",
        "contains",
        "propertyNames",
        "if",
        "then",
        "else",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_SCHEMA_LIST_KEYS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_MAP_KEYS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
# Dropped: titles are noise for the model; pydantic's OpenAPI ``discriminator`` points into $defs.
_DROPPED_KEYS = frozenset({"title", "discriminator"})
_DEFS_PREFIX = "#/$defs/"


@dataclass(frozen=True, kw_only=True, slots=True)
class FunctionSchema:
    """Everything needed to describe a function to a model and to call it with model arguments.

    Attributes:
        description: the docstring text without its parameter/returns sections.
        parameters: the JSON object schema of the visible parameters.
        arguments_model: a pydantic model whose fields are the visible parameters
            (field ``pN`` aliased to the parameter's name), used to coerce arguments.
        fields: ``(field name, parameter name)`` pairs of ``arguments_model``.
        ctx_param: the name of the parameter that receives the RunContext, if any.
        positional_only: names of positional-only parameters, in order (ctx included).
        is_async: whether calling the function returns an awaitable to await.

    """

    description: str
    parameters: dict[str, Any]
    arguments_model: type[BaseModel]
    fields: tuple[tuple[str, str], ...]
    ctx_param: str | None
    positional_only: tuple[str, ...]
    is_async: bool


def is_run_context(annotation: Any) -> bool:
    """Return whether ``annotation`` is ``RunContext`` or ``RunContext[X]``."""
    return annotation is RunContext or typing.get_origin(annotation) is RunContext


def parse_docstring(doc: str | None, style: DocstringFormat = "auto") -> tuple[str, dict[str, str]]:
    """Split a docstring into (description, {parameter name: description}).

    The description is the docstring's free text (summary and body) without the
    parameters, returns, raises... sections. ``"auto"`` asks griffe to infer the
    style; when it cannot, the first style that finds a parameters section wins.
    """
    if not doc or not doc.strip():
        return "", {}
    # A docstring may open with a section (``Args:`` on its first line). cleandoc() would take the
    # section's indented body for the margin and flatten it, and griffe would read the header as
    # the summary: a blank first line avoids both.
    first_line = doc.lstrip("\n").split("\n", 1)[0]
    cleaned = inspect.cleandoc("\n" + doc if _SECTION_HEADER.match(first_line) else doc)
    docstring = griffe.Docstring("\n" + _GOOGLE_SECTION_GLUED.sub(r"\1\n\2", cleaned))
    sections = _parse_sections(docstring, style)
    texts: list[str] = []
    params: dict[str, str] = {}
    for section in sections:
        if section.kind is griffe.DocstringSectionKind.text:
            texts.append(str(section.value).strip())
        elif section.kind is griffe.DocstringSectionKind.parameters:
            for param in section.value:
                params[param.name.lstrip("*")] = " ".join(str(param.description).split())
    return "\n\n".join(t for t in texts if t), params


def _parse_sections(docstring: griffe.Docstring, style: DocstringFormat) -> list[griffe.DocstringSection]:
    if style != "auto":
        return list(docstring.parse(style, warnings=False))
    inferred, _ = griffe.infer_docstring_style(docstring)
    if inferred is not None:
        return list(docstring.parse(inferred, warnings=False))
    first: list[griffe.DocstringSection] | None = None
    for candidate in _STYLES:
        sections = list(docstring.parse(candidate, warnings=False))
        if any(s.kind is griffe.DocstringSectionKind.parameters for s in sections):
            return sections
        first = sections if first is None else first
    return first or []


@dataclass(frozen=True, kw_only=True, slots=True)
class _Field:
    param: str
    annotation: Any
    definition: FieldInfo


def function_schema(
    fn: Callable[..., Any],
    *,
    name: str,
    description: str | None = None,
    docstring_format: DocstringFormat = "auto",
    localns: Mapping[str, Any] | None = None,
) -> FunctionSchema:
    """Build the `FunctionSchema` of ``fn``, exposed to the model as ``name``.

    ``localns`` resolves string annotations that name local variables (a tool
    defined inside a function in a module using ``from __future__ import annotations``).

    Raises:
        ToolDefinitionError: listing every problem found (missing annotations,
            ``*args``/``**kwargs``, types pydantic cannot describe, docstring
            entries for parameters that do not exist, a bad tool name).

    """
    problems: list[str] = []
    if not _TOOL_NAME.match(name):
        problems.append(
            f"tool name {name!r} must be 1-64 letters, digits, '_' or '-', not starting with a digit"
        )
    try:
        signature = _visible_signature(fn, localns)
    except (NameError, TypeError, ValueError, SyntaxError) as exc:
        raise ToolDefinitionError(name, [*problems, f"cannot read the signature: {exc}"]) from exc
    target = _unpartial(fn)
    doc_text, doc_params = parse_docstring(inspect.getdoc(target), docstring_format)
    fields, ctx_param = _collect_fields(signature, doc_params, problems)
    known = signature.parameters if target is fn else inspect.signature(target).parameters
    problems.extend(
        f"docstring documents parameter {p!r}, which the function does not have"
        for p in doc_params
        if p not in known
    )
    model, parameters = _build_model(name, fields, problems)
    if problems or model is None or parameters is None:
        raise ToolDefinitionError(name, problems)
    return FunctionSchema(
        description=doc_text if description is None else description,
        parameters=parameters,
        arguments_model=model,
        fields=tuple((f"p{i}", f.param) for i, f in enumerate(fields)),
        ctx_param=ctx_param,
        positional_only=tuple(p.name for p in signature.parameters.values() if p.kind is p.POSITIONAL_ONLY),
        is_async=_is_async(fn),
    )


def _unpartial(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function a ``functools.partial`` wraps (its docstring is the tool's, not partial's own)."""
    return fn.func if isinstance(fn, functools.partial) else fn


def _visible_signature(fn: Callable[..., Any], localns: Mapping[str, Any] | None) -> inspect.Signature:
    """``fn``'s signature as the model fills it: annotations resolved, partial's bound arguments gone.

    String annotations are evaluated, and so are quoted names nested in them
    (``Optional["Point"]``), in the function's module and ``localns``.

    Raises:
        NameError: an annotation names something that does not exist.
    """
    signature = inspect.signature(fn, locals=localns, eval_str=True)
    bound = fn.keywords if isinstance(fn, functools.partial) else {}
    params = [p for p in signature.parameters.values() if p.name not in bound]
    annotated = {p.name: p.annotation for p in params if p.annotation is not _EMPTY}
    resolved = typing.get_type_hints(
        _Annotations(annotated), globalns=_globals_of(fn), localns=dict(localns or {}), include_extras=True
    )
    return signature.replace(
        parameters=[p.replace(annotation=resolved.get(p.name, p.annotation)) for p in params]
    )


class _Annotations:
    """A stand-in carrying ``__annotations__``, so ``typing.get_type_hints`` resolves forward references."""

    def __init__(self, annotations: dict[str, Any]) -> None:
        self.__annotations__ = annotations


def _globals_of(fn: Callable[..., Any]) -> dict[str, Any]:
    """The module namespace ``fn``'s annotations were written in."""
    target = inspect.unwrap(_unpartial(fn))
    target = getattr(target, "__func__", target)  # a bound method
    namespace = getattr(target, "__globals__", None)
    if namespace is None:  # a callable object: its class's __call__ was written in its module
        namespace = getattr(getattr(type(target), "__call__", None), "__globals__", None)  # noqa: B004 -- the method, not a callability test
    if namespace is None:
        module = sys.modules.get(getattr(target, "__module__", "") or "")
        namespace = vars(module) if module is not None else {}
    return dict(namespace)


def _collect_fields(
    signature: inspect.Signature, doc_params: Mapping[str, str], problems: list[str]
) -> tuple[list[_Field], str | None]:
    fields: list[_Field] = []
    ctx_param: str | None = None
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            problems.append(f"{star}{param.name} is not supported: tools take named parameters only")
            continue
        if param.annotation is _EMPTY:
            problems.append(f"parameter {param.name!r} has no type annotation")
            continue
        if is_run_context(param.annotation):
            if ctx_param is not None:
                problems.append(f"parameter {param.name!r}: only one RunContext parameter is allowed")
            ctx_param = param.name
            continue
        fields.append(_make_field(param, doc_params.get(param.name)))
    return fields, ctx_param


def _make_field(param: inspect.Parameter, doc: str | None) -> _Field:
    annotation = param.annotation
    kwargs: dict[str, Any] = {"alias": param.name}
    if isinstance(param.default, FieldInfo):
        # ``x: int = Field(1, ge=0)``: the user's FieldInfo carries the default and constraints.
        annotation = typing.Annotated[annotation, param.default]
    elif param.default is not _EMPTY:
        kwargs["default"] = param.default
    doc = doc or _annotated_text(annotation)
    if doc and not _has_description(annotation):
        kwargs["description"] = doc
    return _Field(param=param.name, annotation=annotation, definition=Field(**kwargs))


def _annotated_text(annotation: Any) -> str | None:
    """The first plain string in ``Annotated[T, "text"]``: a description, as other frameworks read it."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    return next((meta for meta in typing.get_args(annotation)[1:] if isinstance(meta, str)), None)


def _has_description(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not typing.Annotated:
        return False
    return any(
        isinstance(meta, FieldInfo) and meta.description is not None
        for meta in typing.get_args(annotation)[1:]
    )


def _build_model(
    name: str, fields: list[_Field], problems: list[str]
) -> tuple[type[BaseModel] | None, dict[str, Any] | None]:
    definitions: dict[str, Any] = {f"p{i}": (f.annotation, f.definition) for i, f in enumerate(fields)}
    try:
        model = create_model(
            f"{name}_arguments",
            __config__=ConfigDict(extra="forbid"),
            **definitions,
        )
        schema = model.model_json_schema()
    except (PydanticUserError, TypeError, ValueError) as exc:
        found = _diagnose_types(fields)
        # If no single parameter is to blame, report what failed for the whole model.
        problems.extend(found or [f"the parameters cannot form a schema: {_first_line(exc)}"])
        return None, None
    return model, clean_schema(schema)


def _diagnose_types(fields: list[_Field]) -> list[str]:
    found: list[str] = []
    for field in fields:
        try:
            TypeAdapter(field.annotation).json_schema()
        except (PydanticUserError, TypeError, ValueError) as exc:
            found.append(
                f"parameter {field.param!r}: no JSON schema can be made for "
                f"{_type_name(field.annotation)} ({_first_line(exc)})"
            )
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _type_name(annotation: Any) -> str:
    return annotation.__qualname__ if isinstance(annotation, type) else repr(annotation)


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 -- looking up an async __call__, not testing callability
    return call is not None and inspect.iscoroutinefunction(call)


def clean_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``schema`` without titles and with every non-recursive ``$ref`` inlined.

    Definitions that refer to themselves (directly or through others) stay in
    ``$defs`` and are referenced; everything else is copied in place.
    """
    defs: Mapping[str, Any] = schema.get("$defs", {})
    recursive = _recursive_defs(defs)
    body = {k: v for k, v in schema.items() if k != "$defs"}
    cleaned = _clean(body, defs, recursive)
    if recursive:
        cleaned["$defs"] = {n: _clean(defs[n], defs, recursive) for n in sorted(recursive)}
    return cleaned


def _clean(node: Mapping[str, Any], defs: Mapping[str, Any], recursive: frozenset[str]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX) and ref[len(_DEFS_PREFIX) :] not in recursive:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {
            **_clean(defs[ref[len(_DEFS_PREFIX) :]], defs, recursive),
            **_clean(siblings, defs, recursive),
        }
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return {**_clean(all_of[0], defs, recursive), **_clean(rest, defs, recursive)}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key in _SCHEMA_KEYS and isinstance(value, Mapping):
            out[key] = _clean(value, defs, recursive)
        elif key in _SCHEMA_LIST_KEYS and isinstance(value, list):
            out[key] = [_clean(v, defs, recursive) if isinstance(v, Mapping) else v for v in value]
        elif key in _SCHEMA_MAP_KEYS and isinstance(value, Mapping):
            out[key] = {
                k: _clean(v, defs, recursive) if isinstance(v, Mapping) else v for k, v in value.items()
            }
        else:
            out[key] = value
    return out


def _recursive_defs(defs: Mapping[str, Any]) -> frozenset[str]:
    edges = {name: _refs_in(body) for name, body in defs.items()}

    def reaches_itself(start: str) -> bool:
        seen: set[str] = set()
        stack = list(edges.get(start, ()))
        while stack:
            current = stack.pop()
            if current == start:
                return True
            if current not in seen:
                seen.add(current)
                stack.extend(edges.get(current, ()))
        return False

    return frozenset(name for name in defs if reaches_itself(name))


def _refs_in(node: Any) -> set[str]:
    if isinstance(node, Mapping):
        found = {
            ref[len(_DEFS_PREFIX) :]
            for ref in [node.get("$ref")]
            if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX)
        }
        for value in node.values():
            found |= _refs_in(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs_in(v) for v in node)) if node else set()
    return set()
