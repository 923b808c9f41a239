r"""The jsonschema validator of a tool's parameters: the right draft, a checked schema, lenient patterns.

A schema is read in the JSON Schema dialect its ``$schema`` names (draft-04,
-06, -07, 2019-09 or 2020-12); without one it is 2020-12, the default the MCP
specification sets for tool schemas (SEP-1613) and the dialect pydantic
writes. So a draft-07 tuple (``"items": [...]``, as zod-to-json-schema emits
it) and a draft-04 ``"exclusiveMinimum": true`` mean what their authors meant.

The schema itself is checked against its dialect's metaschema when the tool is
built: ``{"type": "float"}`` or ``"required": true`` is a
[`ToolDefinitionError`][agentkit.exceptions.ToolDefinitionError] then, not a failure on every
call later.

``pattern`` is an ECMA-262 regular expression in JSON Schema. Python's ``re``
reads most of them the same way, but not all (``\p{L}``, ``(?<name>...)``).
A pattern Python cannot compile stays in the schema the model sees and is not
checked locally (the server that wrote it still checks it); `validator_for`
reports it so the caller can say so.

>>> validator, unchecked = validator_for(
...     {"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 5, "exclusiveMinimum": True}
... )
>>> validator.is_valid(5), validator.is_valid(6), unchecked
(False, True, ())
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import jsonschema.protocols
import jsonschema.validators
from jsonschema.exceptions import ValidationError

from agentkit._precheck import compile_pattern
from agentkit.exceptions import ToolDefinitionError

__all__ = ["validator_for"]

#: The ``$schema`` used when a schema names none (the MCP specification's default).
DEFAULT_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_MAX_SCHEMA_PROBLEMS = 5


def _pattern(
    validator: jsonschema.protocols.Validator, pattern: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    regex = compile_pattern(pattern) if isinstance(pattern, str) else None
    if regex is not None and validator.is_type(instance, "string") and not regex.search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any,  # a jsonschema validator instance: descend() is not in the Validator protocol
    patterns: Any,
    instance: Any,
    schema: Any,
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object") or not isinstance(patterns, Mapping):
        return
    for pattern, subschema in patterns.items():
        regex = compile_pattern(pattern)
        if regex is None:
            continue
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _lenient(base: Any) -> Any:
    """``base`` with ``pattern``/``patternProperties`` that skip patterns Python cannot compile."""
    keywords = {"pattern": _pattern, "patternProperties": _pattern_properties}
    return jsonschema.validators.extend(base, keywords)  # type: ignore[no-untyped-call]  # unannotated upstream


def _key(uri: str) -> str:
    """A ``$schema`` URI compared loosely: scheme, trailing ``#`` and case do not matter."""
    return uri.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("#")


_DIALECTS: dict[str, tuple[str, Any]] = {
    _key(str(base.META_SCHEMA.get("$id") or base.META_SCHEMA["id"])): (name, _lenient(base))
    for name, base in (
        ("draft-04", jsonschema.Draft4Validator),
        ("draft-06", jsonschema.Draft6Validator),
        ("draft-07", jsonschema.Draft7Validator),
        ("2019-09", jsonschema.Draft201909Validator),
        ("2020-12", jsonschema.Draft202012Validator),
    )
}


def validator_for(schema: Mapping[str, Any]) -> tuple[jsonschema.protocols.Validator, tuple[str, ...]]:
    """A validator for ``schema`` in the dialect its ``$schema`` names, and the patterns left unchecked.

    Raises:
        ToolDefinitionError: ``$schema`` names a dialect jsonschema does not know, or
            ``schema`` is not valid in its dialect (every problem, up to five, is listed;
            the error's tool name is empty: the caller knows it).
    """
    declared = schema.get("$schema", DEFAULT_DIALECT)
    found = _DIALECTS.get(_key(declared)) if isinstance(declared, str) else None
    if found is None:
        supported = ", ".join(name for name, _ in _DIALECTS.values())
        raise ToolDefinitionError("", [f"unsupported $schema {declared!r}: use one of {supported}"])
    dialect, cls = found
    meta_cls = jsonschema.validators.validator_for(cls.META_SCHEMA, default=cls)
    # No format checker: a "regex" format check would refuse ECMA-only patterns (handled below).
    errors = sorted(meta_cls(cls.META_SCHEMA).iter_errors(schema), key=lambda e: list(map(str, e.path)))
    if errors:
        problems = [_schema_problem(dialect, err) for err in errors[:_MAX_SCHEMA_PROBLEMS]]
        raise ToolDefinitionError("", list(dict.fromkeys(problems)))
    return cls(schema), tuple(p for p in _patterns(schema) if compile_pattern(p) is None)


def _schema_problem(dialect: str, err: ValidationError) -> str:
    where = "/".join(map(str, err.absolute_path)) or "(root)"
    return f"parameters are not a valid JSON Schema ({dialect}) at {where}: {err.message}"


def _patterns(node: Any) -> Iterator[str]:
    """Every ``pattern`` value and ``patternProperties`` key in ``node``, depth first."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, Mapping):
                yield from (k for k in value if isinstance(k, str))
            # The values under "properties" are schemas too; anything else nested is walked alike.
            yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)
