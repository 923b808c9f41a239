"""Images in traces, stored once: ``blob`` records and the references that replace them.

A run with an inline image would repeat it in every later model call's ``wire_request`` and
neutral request. The writer stores each inline image of at least `BLOB_MIN_CHARS`
characters once, as ``{"type": "blob", "sha256": HASH, "data": "data:image/...;base64,..."}``
written just before the first record that uses it, and writes ``"blob:sha256:HASH"`` in its
place; the reader puts the images back, so a trace reads the same as if they were inline.

>>> seen: set[str] = set()
>>> blobs: list[dict[str, object]] = []
>>> image = "data:image/png;base64," + "A" * 4096
>>> record = extract_blobs({"type": "x", "url": image}, seen, blobs.append)
>>> record["url"].startswith("blob:sha256:"), len(blobs)
(True, 1)
>>> resolve_blobs(record, {b["sha256"]: b["data"] for b in blobs}) == {"type": "x", "url": image}
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from agentkit.exceptions import TraceFormatError

__all__ = ["BLOB_MIN_CHARS", "BLOB_REF", "DATA_IMAGE", "extract_blobs", "resolve_blobs"]

#: Inline images at least this long (characters of the data URL) become blobs.
BLOB_MIN_CHARS: Final = 1024
#: The prefix of a reference to a blob.
BLOB_REF: Final = "blob:sha256:"
#: What an encoded record contains when it may hold an inline image.
DATA_IMAGE: Final = b'"data:image/'


def extract_blobs(value: Any, seen: set[str], write: Callable[[dict[str, Any]], None]) -> Any:
    """Return ``value`` with each large inline image replaced by a reference.

    ``write`` gets a blob record for each image whose hash is not in ``seen`` (which is updated).
    """
    if isinstance(value, str):
        if len(value) < BLOB_MIN_CHARS or not value.startswith("data:image/"):
            return value
        digest = hashlib.sha256(value.encode()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            write({"type": "blob", "sha256": digest, "data": value})
        return BLOB_REF + digest
    if isinstance(value, Mapping):
        return {k: extract_blobs(v, seen, write) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [extract_blobs(v, seen, write) for v in value]
    return value


def resolve_blobs(value: Any, blobs: Mapping[str, str]) -> Any:
    """Return ``value`` with every blob reference replaced by its image.

    Raises:
        TraceFormatError: a reference names a blob the trace does not hold.

    """
    if isinstance(value, str):
        if not value.startswith(BLOB_REF):
            return value
        digest = value[len(BLOB_REF) :]
        if digest not in blobs:
            raise TraceFormatError(f"the trace refers to blob {digest[:12]}... but holds no such blob")
        return blobs[digest]
    if isinstance(value, dict):
        return {k: resolve_blobs(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_blobs(v, blobs) for v in value]
    return value
