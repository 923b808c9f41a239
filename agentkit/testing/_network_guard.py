"""Refuse network connections to anything but this machine (used by the pytest plugin).

`NetworkGuard` wraps ``socket.socket.connect`` / ``connect_ex``,
``socket.create_connection`` and ``socket.getaddrinfo`` so that, while it is
installed, reaching a non-loopback address fails at once with
`NetworkBlockedError`. The checks never resolve names themselves: an IP
literal is allowed when it is loopback, a host name only when it is
``localhost`` (or ends in ``.localhost``) or this machine's own name, and any
non-IP socket family (``AF_UNIX``, ``socketpair``) is always allowed. This is
the one place agentkit patches the standard library.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["NetworkBlockedError", "NetworkGuard", "is_loopback_host"]

_HINT = "use the fake_kimi fixture, or mark the test @pytest.mark.allow_network"
_MISSING = object()


class NetworkBlockedError(RuntimeError):
    """A test tried to reach a non-loopback address while the network is blocked.

    It is deliberately not an ``OSError``: retry logic written for connection
    failures must not swallow it, so the test fails at once with this message.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        super().__init__(f"agentkit tests block network access to {target}; {_HINT}")


def is_loopback_host(host: object) -> bool:
    """Return whether ``host`` (an IP literal or a name) is this machine, without resolving it.

    >>> is_loopback_host("127.0.0.5"), is_loopback_host("::1"), is_loopback_host("10.0.0.1")
    (True, True, False)
    """
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host == "":
        return True
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name == "localhost" or name.endswith(".localhost") or name == _own_hostname()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # The unspecified address (0.0.0.0, ::) means "this host" when connecting and binding.
    return address.is_loopback or address.is_unspecified


def _own_hostname() -> str:
    try:
        return socket.gethostname().lower()
    except OSError:  # pragma: no cover - gethostname practically never fails
        return "localhost"


def _check_socket_address(family: int, address: Any) -> None:
    if family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0] if isinstance(address, tuple) and address else address
    if not is_loopback_host(host):
        port = address[1] if isinstance(address, tuple) and len(address) > 1 else "?"
        raise NetworkBlockedError(f"{host}:{port}")


class NetworkGuard:
    """Install / uninstall the loopback-only socket wrappers (re-entrant, thread-safe).

    ``install()`` may be called several times; the wrappers are removed when
    ``uninstall()`` has been called as many times.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: dict[str, Any] = {}

    @property
    def active(self) -> bool:
        """Whether the wrappers are currently installed."""
        return self._depth > 0

    def install(self) -> None:
        """Start refusing non-loopback connections."""
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._patch()

    def uninstall(self) -> None:
        """Undo one `install`; the real functions return after the last one."""
        with self._lock:
            if self._depth == 0:
                return
            self._depth -= 1
            if self._depth == 0:
                self._unpatch()

    def _patch(self) -> None:
        cls = socket.socket
        self._saved = {
            "connect": cls.__dict__.get("connect", _MISSING),
            "connect_ex": cls.__dict__.get("connect_ex", _MISSING),
            "create_connection": socket.create_connection,
            "getaddrinfo": socket.getaddrinfo,
        }
        real_connect: Callable[..., Any] = cls.connect
        real_connect_ex: Callable[..., Any] = cls.connect_ex
        real_create_connection = socket.create_connection
        real_getaddrinfo = socket.getaddrinfo

        def connect(self: socket.socket, address: Any) -> None:
            _check_socket_address(self.family, address)
            real_connect(self, address)

        def connect_ex(self: socket.socket, address: Any) -> int:
            _check_socket_address(self.family, address)
            result: int = real_connect_ex(self, address)
            return result

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            if not is_loopback_host(address[0]):
                raise NetworkBlockedError(f"{address[0]}:{address[1]}")
            return real_create_connection(address, *args, **kwargs)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_loopback_host(host):
                raise NetworkBlockedError(str(host))
            return real_getaddrinfo(host, *args, **kwargs)

        # Replacing stdlib attributes on purpose: this guard is the one sanctioned patch.
        for target, name, wrapper in (
            (cls, "connect", connect),
            (cls, "connect_ex", connect_ex),
            (socket, "create_connection", create_connection),
            (socket, "getaddrinfo", getaddrinfo),
        ):
            setattr(target, name, wrapper)

    def _unpatch(self) -> None:
        cls = socket.socket
        for name in ("connect", "connect_ex"):
            saved = self._saved[name]
            if saved is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, saved)
        for name in ("create_connection", "getaddrinfo"):
            setattr(socket, name, self._saved[name])
        self._saved = {}
