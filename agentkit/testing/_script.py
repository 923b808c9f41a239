"""What the fake servers answer from: queued replies, then a responder, with bookkeeping.

Both loopback fakes (Kimi's Chat Completions and the Anthropic Messages one) use one
`ReplyScript`, so a test scripts either wire format the same way and a mistake
in the script (nothing left, a responder that raises) is reported the same way.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agentkit.testing._kimi_wire import Reply

if TYPE_CHECKING:
    from agentkit.testing._fake_kimi import RecordedRequest

__all__ = ["ReplyScript"]


class ReplyScript:
    """Replies queued in order (used first), then ``responder(body)``; requests and problems recorded.

    ``requests`` and ``problems`` are the lists the servers expose; ``lock`` guards them.
    With ``keep`` set, ``requests`` holds only the last ``keep`` requests (a long-running
    server must not grow without bound); request numbers still count every request.
    A script error becomes a 500 reply of ``error_type`` naming ``server``.
    """

    def __init__(
        self,
        script: Sequence[Reply] | Callable[[dict[str, Any]], Reply],
        *,
        server: str,
        error_type: str,
        keep: int | None = None,
    ) -> None:
        if keep is not None and keep < 0:
            raise ValueError(f"keep must be 0 or more, not {keep}")
        self._responder = script if callable(script) else None
        self._queue: deque[Reply] = deque(() if callable(script) else script)
        self._server = server
        self._error_type = error_type
        self.lock = threading.Lock()
        self._keep = keep
        self.received = 0
        self.requests: list[RecordedRequest] = []
        self.problems: list[str] = []

    def add(self, *replies: Reply) -> None:
        """Queue more replies (they are used before a responder, in order)."""
        with self.lock:
            self._queue.extend(replies)

    def record(self, request: RecordedRequest) -> int:
        """Keep ``request``; return its number, counting from 1."""
        with self.lock:
            self.received += 1
            self.requests.append(request)
            if self._keep is not None and len(self.requests) > self._keep:
                del self.requests[: len(self.requests) - self._keep]
            return self.received

    def next_reply(self, body: dict[str, Any]) -> Reply:
        """The reply for ``body`` (a 500 reply, noted in ``problems``, when the script fails)."""
        with self.lock:
            if self._queue:
                return self._queue.popleft()
            if self._responder is None:
                return self._problem(f"script exhausted: no reply left for request #{self.received}")
            try:
                reply = self._responder(body)
            except Exception as exc:  # the responder is test code: report, never crash the server
                return self._problem(f"responder raised {type(exc).__name__}: {exc}")
            if not isinstance(reply, Reply):
                return self._problem(f"responder returned {type(reply).__name__}, not Reply")
            return reply

    def _problem(self, problem: str) -> Reply:
        self.problems.append(problem)
        return Reply.error(500, self._error_type, f"{self._server} {problem}")
