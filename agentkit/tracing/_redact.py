"""Keep secrets out of trace files: applied to each encoded record before it is written.

Three rules, on the JSON bytes: values of keys that name credentials (``authorization``,
``api_key``, ``x-api-key``, ``password``, ``secret``, ``token``...) become ``"[redacted]"``;
``Bearer ...`` tokens are cut; and every configured secret string (by default the values of
``MOONSHOT_API_KEY``, ``OPENAI_API_KEY`` and ``ANTHROPIC_API_KEY`` when set) is replaced
wherever it appears, inside any string.

>>> r = Redactor(["sk-live-123456"])
>>> r.redact(b'{"content":"key sk-live-123456","api_key":"abc"}')
b'{"content":"key [redacted]","api_key":"[redacted]"}'
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from typing import Final

import orjson

__all__ = ["DEFAULT_SECRET_ENV_VARS", "REDACTED", "Redactor"]

REDACTED: Final = "[redacted]"
#: Environment variables whose values are always treated as secrets.
DEFAULT_SECRET_ENV_VARS: Final = ("MOONSHOT_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")
#: Secrets shorter than this are ignored (replacing "a" everywhere would wreck the trace).
_MIN_SECRET_LEN: Final = 6

_KEYS = (
    rb"(?:[A-Za-z_-]*[_-])?(?:authorization|api[_-]?key|password|passwd|secret|access[_-]?token"
    rb"|auth[_-]?token|refresh[_-]?token|client[_-]?secret)"
)
# A credential-named key with a string value, in the record itself or in JSON text inside a
# string (a tool result): there the quotes are escaped (values with escapes inside are rare).
_KEY_VALUE = re.compile(rb'"(' + _KEYS + rb')"(\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)
_NESTED_KEY_VALUE = re.compile(rb'\\"(' + _KEYS + rb')\\"(\s*:\s*)\\"[^"\\]*\\"', re.IGNORECASE)
_BEARER = re.compile(rb"(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
#: Substrings of the lower-cased line that every credential key or token contains; the
#: rewriting regexes run only when one is present (most records contain none).
_TRIGGERS: Final = (
    b"authorization",
    b"api_key",
    b"api-key",
    b"apikey",
    b"passw",
    b"secret",
    b'token"',
    b'token\\"',
    b"bearer",
)


class Redactor:
    """Replaces secrets in encoded JSON records.

    Args:
        secrets: extra secret strings to remove (API keys, passwords, tokens).
        env_vars: environment variables whose values are secrets too.
    """

    def __init__(
        self, secrets: Iterable[str] = (), *, env_vars: Iterable[str] = DEFAULT_SECRET_ENV_VARS
    ) -> None:
        found = [s for s in secrets if s]
        found += [v for v in (os.environ.get(name) for name in env_vars) if v]
        self._secrets = _literals(tuple(found))

    def redact(self, data: bytes) -> bytes:
        """Return ``data`` (one JSON document) with every secret replaced by ``[redacted]``."""
        out = data
        lowered = data.lower()
        if any(trigger in lowered for trigger in _TRIGGERS):
            out = _KEY_VALUE.sub(rb'"\1"\2"' + _REDACTED_BYTES + rb'"', out)
            out = _NESTED_KEY_VALUE.sub(rb'\\"\1\\"\2\\"' + _REDACTED_BYTES + rb'\\"', out)
            out = _BEARER.sub(rb"\1" + _REDACTED_BYTES, out)
        for secret in self._secrets:
            if secret in out:
                out = out.replace(secret, _REDACTED_BYTES)
        return out


_REDACTED_BYTES: Final = REDACTED.encode()


@functools.lru_cache(maxsize=64)
def _literals(secrets: tuple[str, ...]) -> tuple[bytes, ...]:
    """The secrets as they appear inside JSON strings, longest first (a secret containing another wins)."""
    literals = {orjson.dumps(s)[1:-1] for s in secrets if len(s) >= _MIN_SECRET_LEN}
    return tuple(sorted(literals, key=len, reverse=True))
