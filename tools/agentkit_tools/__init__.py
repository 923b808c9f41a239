"""agentkit-tools: ready-made, typed tools for agentkit agents.

Each module builds tools bound to their configuration (a workspace folder, an
allowlist, SMTP settings), so one process can give different agents different limits:

- [`agentkit_tools.files`][]: read, write and list files inside a `Workspace`.
- [`agentkit_tools.data`][]: load CSV/Parquet into DuckDB, describe tables, read-only SQL, charts.
- [`agentkit_tools.web`][]: fetch allowlisted URLs with size and time limits, as text.
- [`agentkit_tools.email`][]: send mail through SMTP, or (the default) into a local outbox.
- [`agentkit_tools.calendar`][]: write ``.ics`` files; date and time helpers.
"""

from typing import TYPE_CHECKING, Any

from agentkit_tools.calendar import CalendarEvent, calendar_tools, write_ics
from agentkit_tools.email import EmailSettings, Mailer, email_tools
from agentkit_tools.files import file_tools
from agentkit_tools.web import WebFetcher, web_tools
from agentkit_tools.workspace import Workspace, WorkspaceError

if TYPE_CHECKING:
    from agentkit_tools.data import DataWorkspace, data_tools

__all__ = [
    "CalendarEvent",
    "DataWorkspace",
    "EmailSettings",
    "Mailer",
    "WebFetcher",
    "Workspace",
    "WorkspaceError",
    "calendar_tools",
    "data_tools",
    "email_tools",
    "file_tools",
    "web_tools",
    "write_ics",
]

__version__ = "0.1.0"

_LAZY = {"DataWorkspace", "data_tools"}  # DuckDB and matplotlib load only when the data tools are used


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from agentkit_tools import data  # noqa: PLC0415 - deferred: heavy imports

        return getattr(data, name)
    raise AttributeError(f"module 'agentkit_tools' has no attribute {name!r}")
