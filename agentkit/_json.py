"""JSON for tool arguments: orjson's speed, with integers kept exact at any size.

orjson reads an integer beyond 64 bits as a float (``123456789012345678901``
becomes ``1.2345678901234568e+20``, silently losing digits) and refuses to
write one. Tool arguments are hostile input that may carry such numbers (ids,
big amounts), and a tool must receive what the model sent. So text that holds
a run of 19 or more digits is read by pydantic-core instead, which keeps
integers exact, and a value orjson cannot write is written by pydantic-core.

>>> loads('{"id": 123456789012345678901234567890}')
{'id': 123456789012345678901234567890}
>>> dumps({"id": 2**70})
'{"id":1180591620717411303424}'
"""

from __future__ import annotations

import re
from typing import Any

import orjson

__all__ = ["dumps", "loads"]

# The shortest integers orjson cannot hold: 2**64 has 20 digits, -(2**63) - 1 has 19.
_LONG_DIGITS = re.compile(r"\d{19}")


def loads(text: str) -> Any:
    """Parse JSON ``text``; integers of any size stay exact ``int``.

    Raises:
        ValueError: ``text`` is not JSON (``NaN`` and ``Infinity`` are not JSON either).
    """
    if _LONG_DIGITS.search(text) is None:
        return orjson.loads(text)
    import pydantic_core  # noqa: PLC0415 - rare: ``import agentkit`` does not load it

    return pydantic_core.from_json(text, allow_inf_nan=False)


def dumps(value: Any) -> str:
    """Encode a JSON value compactly; integers beyond 64 bits are written exactly."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        import pydantic_core  # noqa: PLC0415 - rare: see loads

        return pydantic_core.to_json(value).decode()
