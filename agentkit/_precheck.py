"""A fast path in front of jsonschema for the arguments models usually send.

`compile_precheck` turns the common subset of JSON Schema (types, enums,
required, properties, bounds) into nested closures that answer "certainly
valid" in a fraction of jsonschema's time, and decline ("ask jsonschema")
otherwise. jsonschema stays the judge and the writer of error messages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

__all__ = ["Precheck", "compile_pattern", "compile_precheck"]

#: A compiled check: ``True`` means "certainly valid"; ``False`` means "ask jsonschema".
Precheck: TypeAlias = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "format", "deprecated"})
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    # Conservative: 5.0 is a JSON-schema integer, but we let jsonschema decide that case.
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_SCALARS = (str, int, float, bool, type(None))


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` compiled by Python's ``re``, or ``None`` when ``re`` cannot read it (ECMA-only syntax)."""
    try:
        return re.compile(pattern)
    except (re.error, OverflowError, RecursionError):
        return None


def compile_precheck(schema: Any) -> Precheck | None:
    """Compile ``schema`` into a fast check that only ever answers "valid" when jsonschema would.

    jsonschema stays the judge: when the check returns ``False``,
    or the schema uses a keyword outside the common subset handled here (``None``
    is returned), the caller runs jsonschema, which also writes the error messages.
    The check exists because jsonschema costs tens of microseconds per call.
    Its keywords mean what they mean in 2020-12; a schema that names another
    dialect has a ``$schema`` key, which no compiler handles, so it gets no check.
    """
    if schema is True:
        return lambda _v: True
    if not isinstance(schema, Mapping):
        return None
    checks: list[Precheck] = []
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        check = _compile_keyword(key, value, schema)
        if check is None:
            return None
        checks.append(check)
    return _every(checks)


def _every(checks: list[Precheck]) -> Precheck:
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for c in checks:  # noqa: SIM110 -- a plain loop is ~2x faster than all(genexpr) on this hot path
            if not c(value):
                return False
        return True

    return check


def _compile_keyword(key: str, value: Any, schema: Mapping[str, Any]) -> Precheck | None:
    if key == "additionalProperties":
        return _compile_additional(value, schema)
    compiler = _KEYWORDS.get(key)
    if compiler is not None:
        return compiler(value)
    if key in ("items", "prefixItems"):
        return _compile_array_keyword(key, value)
    return _compile_bound(key, value)


def _compile_type(value: Any) -> Precheck | None:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or any(n not in _JSON_TYPES for n in names):
        return None
    tests = [_JSON_TYPES[n] for n in names]
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(t(v) for t in tests)


def _compile_any_of(value: Any) -> Precheck | None:
    if not isinstance(value, list):
        return None
    branches = [compile_precheck(s) for s in value]
    ready = [b for b in branches if b is not None]
    if len(ready) != len(branches):
        return None
    return lambda v: any(b(v) for b in ready)


def _compile_enum(value: Any) -> Precheck | None:
    if not isinstance(value, list) or not all(isinstance(o, _SCALARS) for o in value):
        return None
    # Exact type match: jsonschema treats 1 == 1.0 but 1 != True; mismatches go to jsonschema.
    allowed = [(type(o), o) for o in value]
    return lambda v: any(type(v) is t and v == o for t, o in allowed)


def _compile_required(value: Any) -> Precheck | None:
    if not isinstance(value, list):
        return None
    names = frozenset(value)
    return lambda v: not isinstance(v, dict) or v.keys() >= names


def _compile_properties(value: Any) -> Precheck | None:
    if not isinstance(value, Mapping):
        return None
    compiled = {name: compile_precheck(sub) for name, sub in value.items()}
    props = {name: c for name, c in compiled.items() if c is not None}
    if len(props) != len(compiled):
        return None

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for key, item in value.items():
            prop = props.get(key)
            if prop is not None and not prop(item):
                return False
        return True

    return check


def _compile_additional(value: Any, schema: Mapping[str, Any]) -> Precheck | None:
    if "patternProperties" in schema:
        return None
    known = frozenset(schema.get("properties", {}))
    if value is False:
        return lambda v: not isinstance(v, dict) or v.keys() <= known
    extra = compile_precheck(value)
    if extra is None:
        return None
    return lambda v: not isinstance(v, dict) or all(extra(x) for k, x in v.items() if k not in known)


_KEYWORDS: dict[str, Callable[[Any], Precheck | None]] = {
    "type": _compile_type,
    "anyOf": _compile_any_of,
    "enum": _compile_enum,
    "const": lambda value: _compile_enum([value]),
    "required": _compile_required,
    "properties": _compile_properties,
}


def _compile_array_keyword(key: str, value: Any) -> Precheck | None:
    if key == "items":
        item = compile_precheck(value)
        if item is None:
            return None
        # Checked on every element: stricter than 2020-12 when prefixItems is present, so still safe.
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)
    if not isinstance(value, list):
        return None
    compiled = [compile_precheck(s) for s in value]
    if any(c is None for c in compiled):
        return None
    prefix = [c for c in compiled if c is not None]
    return lambda v: not isinstance(v, list) or all(c(x) for c, x in zip(prefix, v, strict=False))


_BOUNDS: dict[str, tuple[type | tuple[type, ...], Callable[[Any], Any], Callable[[Any, Any], bool]]] = {
    "minimum": ((int, float), lambda v: v, lambda x, b: x >= b),
    "maximum": ((int, float), lambda v: v, lambda x, b: x <= b),
    "exclusiveMinimum": ((int, float), lambda v: v, lambda x, b: x > b),
    "exclusiveMaximum": ((int, float), lambda v: v, lambda x, b: x < b),
    "minLength": (str, len, lambda x, b: x >= b),
    "maxLength": (str, len, lambda x, b: x <= b),
    "minItems": (list, len, lambda x, b: x >= b),
    "maxItems": (list, len, lambda x, b: x <= b),
}


def _compile_bound(key: str, value: Any) -> Precheck | None:
    if key == "pattern" and isinstance(value, str):
        regex = compile_pattern(value)
        if regex is None:
            return None  # an ECMA-only pattern: the validator decides (and skips it)
        return lambda v: not isinstance(v, str) or regex.search(v) is not None
    if key not in _BOUNDS or type(value) not in (int, float):
        return None
    applies, measure, ok = _BOUNDS[key]
    return lambda v: isinstance(v, bool) or not isinstance(v, applies) or ok(measure(v), value)
