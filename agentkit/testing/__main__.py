"""``python -m agentkit.testing serve``: run a fake Kimi server in the foreground.

Prints the server's ``base_url`` on one line, then serves until SIGTERM or
SIGINT. ``--script-module pkg.mod:func`` names a responder ``(body) -> Reply``;
without it, the server echoes the last user message.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from agentkit.testing._fake_kimi import FakeKimiServer, Responder, echo

__all__ = ["load_responder", "main"]


def load_responder(spec: str) -> Responder:
    """Import ``"module:function"`` and return that callable.

    Raises:
        ValueError: ``spec`` is not ``module:function``.
        TypeError: it does not name a callable.

    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--script-module must look like 'package.module:function', got {spec!r}")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec!r} is not callable")
    responder: Responder = target
    return responder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agentkit.testing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a fake Kimi server until SIGTERM/SIGINT")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to bind (default: any free port)")
    serve.add_argument("--script-module", help="'package.module:function', a callable (body) -> Reply")
    serve.add_argument(
        "--keep-requests",
        type=int,
        default=100,
        help="how many of the latest requests to keep in memory (default 100; a server that "
        "answers for hours must not grow without bound)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        responder = load_responder(args.script_module) if args.script_module else echo
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with FakeKimiServer(
        responder, host=args.host, port=args.port, keep_requests=args.keep_requests
    ) as server:
        sys.stdout.write(server.base_url + "\n")
        sys.stdout.flush()
        while not stop.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
