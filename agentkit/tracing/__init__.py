"""Tracing: spans, trace files and replay (being built; see issue 3)."""

from __future__ import annotations

import os

from agentkit.exceptions import UserError
from agentkit.hooks import RunHooks

__all__ = ["trace_hook"]


def trace_hook(path: str | os.PathLike[str]) -> RunHooks:
    """Return the hook that records a run to ``path`` as a JSONL trace."""
    raise UserError(f"recording traces to files is not implemented yet (asked for {os.fspath(path)!r})")
