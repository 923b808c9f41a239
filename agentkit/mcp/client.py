"""An MCP server's tools as agentkit tools (stdio and streamable HTTP).

`MCPTools` connects to one server, lists its tools and turns each into
a [`Tool`][agentkit.tool.Tool] built with `Tool.from_schema`, so the
model sees them like native tools and the loop treats them the same way:
arguments checked against the server's own schema, errors fed back to the
model, per-call timeouts, events and spans, concurrency in one turn.

The list is cached. A change notification from the server (a
``notifications/tools/list_changed`` on 2025-era connections, a
``subscriptions/listen`` event on 2026-07-28 ones) marks it stale, and the
next `MCPTools.list_tools` fetches it again. An agent asks at the start
of every run, so a changed list reaches the model on the next run::

    async with MCPTools.stdio("uvx", ["mcp-server-git"], name_prefix="git_") as git:
        agent = Agent(model, tools=[search_flights, git])
        await agent.run("What changed in the last commit?")
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Self, TextIO

import anyio
import anyio.abc
import mcp_types
import pydantic_core
from mcp import Client, MCPError, StdioServerParameters
from mcp.client import Transport
from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from agentkit._log import get_logger
from agentkit.exceptions import ModelRetry, ToolDefinitionError, UserError
from agentkit.images import ImagePart
from agentkit.mcp._connect import (
    HeaderTransport,
    StderrCapture,
    connection_error,
    describe_server,
    stdio_transport,
)
from agentkit.tool import Tool, ToolOutput

__all__ = ["MCPTools", "ToolOptions", "result_text"]

_log = get_logger("agentkit.mcp")

#: What OpenAI-compatible servers (Kimi included) accept as a function name.
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_NAME_BAD_CHARS = re.compile(r"[^A-Za-z0-9_-]")
#: MIME types outside text/* whose content is text.
_TEXT_MIMES = frozenset(
    {"application/json", "application/xml", "application/javascript", "application/yaml", "application/toml"}
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolOptions:
    """Per-tool settings applied to every tool of a server (see ``MCPTools(tool_options=...)``).

    Attributes:
        timeout: seconds one call may take; ``None`` for no limit.
        retries: failed calls allowed per run; ``None`` uses the agent's default.
        sequential: run the server's tools alone rather than concurrently.
        requires_approval: every call waits for an approval decision, as with
            ``@tool(requires_approval=True)`` (``customize=`` can set it per tool).
    """

    timeout: float | None = 60.0
    retries: int | None = None
    sequential: bool = False
    requires_approval: bool = False


class MCPTools:
    """The tools of one MCP server, usable in ``Agent(tools=[...])`` next to native tools.

    Use as an async context manager: entering connects (starting the server
    process for stdio) and lists the tools; leaving disconnects. An agent that
    holds an ``MCPTools`` must run while it is connected.

    Args:
        server: ``StdioServerParameters`` (a command to start), a streamable-HTTP
            URL, or any ``mcp.client.Transport``. `stdio` and `http`
            build the first two.
        name: a label for logs and error messages; defaults to the server's own name.
        name_prefix: prepended to every tool name the model sees (e.g. ``"git_"``), to keep
            servers apart. Characters model APIs refuse in names become ``_``.
        include: only these tools (server names); ``None`` for all.
        exclude: never these tools (server names).
        options: timeout, retries and sequential for this server's tools.
        customize: called with each built tool, returns the tool to use (e.g. with
            ``dataclasses.replace`` to set a per-tool field); runs again on every refresh.
        read_timeout_s: how long to wait for any one answer from the server.
        mode: how to agree on a protocol version: ``"auto"`` (2026-07-28 when the server
            speaks it, else the 2025 ``initialize`` handshake) or ``"legacy"`` (always the handshake).
        errlog: stdio only: where the server's stderr goes. ``None`` keeps it in a temporary
            file whose last lines [`MCPConnectionError`][agentkit.exceptions.MCPConnectionError] shows when
            connecting fails; pass ``sys.stderr`` to see it as it comes.
    """

    def __init__(
        self,
        server: StdioServerParameters | str | Transport,
        *,
        name: str | None = None,
        name_prefix: str = "",
        include: Collection[str] | None = None,
        exclude: Collection[str] = (),
        options: ToolOptions | None = None,
        customize: Callable[[Tool], Tool] | None = None,
        read_timeout_s: float | None = None,
        mode: str = "auto",
        errlog: TextIO | None = None,
    ) -> None:
        self._server = server
        self._label = name
        self._prefix = name_prefix
        self._include = None if include is None else frozenset(include)
        self._exclude = frozenset(exclude)
        self._options = options or ToolOptions()
        self._customize = customize
        self._read_timeout_s = read_timeout_s
        self._mode = mode
        self._errlog = errlog
        self._client: Client | None = None
        self._exit_stack: AsyncExitStack | None = None
        self._tools: tuple[Tool, ...] = ()
        self._skipped: dict[str, str] = {}
        self._stale = True
        self._unwatched = False
        self._changes = 0
        self._fetches = 0
        self._lock = anyio.Lock()

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        **kwargs: Any,
    ) -> MCPTools:
        """Start ``command args`` and talk MCP over its stdin/stdout.

        ``env`` is added to the default environment of the MCP SDK (which passes on
        only a few safe variables such as ``PATH`` and ``HOME``). Other keyword
        arguments are those of `MCPTools`.
        """
        params = StdioServerParameters(command=command, args=list(args), env=dict(env or {}), cwd=cwd)
        return cls(params, **kwargs)

    @classmethod
    def http(cls, url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> MCPTools:
        """Connect to a streamable-HTTP MCP endpoint (e.g. ``http://127.0.0.1:8000/mcp``).

        ``headers`` (e.g. ``Authorization``) go with every request and are never logged.
        Other keyword arguments are those of `MCPTools`.
        """
        if headers is None:
            return cls(url, **kwargs)
        return cls(HeaderTransport(url, dict(headers)), **kwargs)

    @property
    def name(self) -> str:
        """The server's label: ``name=``, else the name the server gave, else ``"mcp"``."""
        if self._label is not None:
            return self._label
        info = self._client.server_info if self._client is not None else None
        return info.name if info is not None and info.name else "mcp"

    @property
    def tools(self) -> tuple[Tool, ...]:
        """The tools as last fetched (use `list_tools` to refresh a stale list)."""
        return self._tools

    @property
    def skipped(self) -> Mapping[str, str]:
        """Tools of the last fetch that are not offered to the model: server name -> why.

        A tool is skipped when its schema is not valid JSON Schema (one bad tool never
        keeps the others from loading) or when the server runs it only as a task
        (``execution.taskSupport: "required"``), which agentkit does not drive.
        """
        return dict(self._skipped)

    @property
    def changes(self) -> int:
        """How many tool-list change notifications the server has sent so far."""
        return self._changes

    @property
    def fetches(self) -> int:
        """How many times the tool list has been fetched from the server."""
        return self._fetches

    async def list_tools(self) -> Sequence[Tool]:
        """Return the server's tools, fetching them again if they changed since the last fetch.

        Raises:
            UserError: not connected (use ``async with``).
        """
        async with self._lock:
            if self._stale or self._unwatched:
                self._stale = False
                try:
                    self._tools = await self._fetch()
                except BaseException:
                    self._stale = True
                    raise
        return self._tools

    async def __aenter__(self) -> Self:
        if self._exit_stack is not None:
            raise UserError("this MCPTools is already connected")
        async with AsyncExitStack() as stack:
            capture = None
            server = self._server
            if isinstance(server, StdioServerParameters):
                errlog: IO[str] | None = self._errlog
                if errlog is None:
                    capture = StderrCapture()
                    stack.callback(capture.close)
                    errlog = capture.file
                server = stdio_transport(server, errlog)
            client = Client(
                server,
                message_handler=self._on_message,
                read_timeout_seconds=self._read_timeout_s,
                mode=self._mode,
                cache=None,  # the tool list is cached here, refreshed on change notifications
            )
            try:
                self._client = await stack.enter_async_context(client)
            except Exception as err:
                stderr = capture.tail(self._secrets()) if capture is not None else ""
                raise connection_error(self._label or describe_server(self._server), err, stderr) from err
            stack.callback(self._forget_client)
            if client.protocol_version in MODERN_PROTOCOL_VERSIONS and _announces_changes(client):
                task_group = await stack.enter_async_context(anyio.create_task_group())
                stack.callback(task_group.cancel_scope.cancel)
                await task_group.start(self._listen, client)
            self._stale = True
            await self.list_tools()
            self._exit_stack = stack.pop_all()
        _log.debug("mcp_connected", server=self.name, tools=len(self._tools))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._exit_stack = self._exit_stack, None
        if stack is None:
            return
        try:
            await stack.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # The SDK's task groups wrap an error raised in the `async with` body (in nested groups).
            # When that error is all the group holds, let it leave as itself: `except X` must match.
            if exc is None or not _holds_only(group, exc):
                raise

    def _secrets(self) -> list[str]:
        """Values given to a stdio server in ``env``: kept out of error messages."""
        server = self._server
        return list((server.env or {}).values()) if isinstance(server, StdioServerParameters) else []

    def _forget_client(self) -> None:
        self._client = None
        self._stale = True

    async def _listen(self, client: Client, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Hold a ``subscriptions/listen`` stream open (2026-07-28 servers send changes only there)."""
        started = False
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                task_status.started()
                started = True
                async for _event in subscription:
                    self._mark_changed()
        except (ListenNotSupportedError, SubscriptionLost, MCPError) as err:
            _log.warning("mcp_listen_failed", server=self.name, error=f"{type(err).__name__}: {err}")
            # Without the stream changes go unseen: fetch on every ask instead of trusting the cache.
            self._unwatched = True
            if not started:
                task_status.started()

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ServerNotification) and isinstance(
            message, mcp_types.ToolListChangedNotification
        ):
            self._mark_changed()
        await anyio.lowlevel.checkpoint()

    def _mark_changed(self) -> None:
        self._changes += 1
        self._stale = True
        _log.debug("mcp_tools_changed", server=self.name)

    async def _fetch(self) -> tuple[Tool, ...]:
        client = self._connected()
        listed: list[mcp_types.Tool] = []
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        self._fetches += 1
        return self._build(listed)

    def _build(self, listed: Sequence[mcp_types.Tool]) -> tuple[Tool, ...]:
        built: dict[str, Tool] = {}
        skipped: dict[str, str] = {}
        for spec in listed:
            if (self._include is not None and spec.name not in self._include) or spec.name in self._exclude:
                continue
            exposed = _model_name(self._prefix + spec.name)
            if exposed in built:
                raise UserError(
                    f"MCP server {self.name!r}: two tools are exposed as {exposed!r}; "
                    "use include=/exclude= or name_prefix= to tell them apart"
                )
            if spec.execution is not None and spec.execution.task_support == "required":
                skipped[spec.name] = "the server runs it only as a task (taskSupport: required)"
                continue
            try:
                made = self._tool(spec, exposed)
            except ToolDefinitionError as err:
                skipped[spec.name] = "; ".join(err.problems)
                continue
            built[exposed] = made if self._customize is None else self._customize(made)
        for tool_name, reason in skipped.items():
            _log.warning("mcp_tool_skipped", server=self.name, tool=tool_name, reason=reason)
        self._skipped = skipped
        return tuple(built.values())

    def _tool(self, spec: mcp_types.Tool, exposed: str) -> Tool:
        return Tool.from_schema(
            name=exposed,
            description=spec.description or spec.title or "",
            parameters=spec.input_schema,
            function=_Caller(self, spec.name),
            timeout=self._options.timeout,
            retries=self._options.retries,
            sequential=self._options.sequential,
            requires_approval=self._options.requires_approval,
        )

    def _connected(self) -> Client:
        if self._client is None:
            raise UserError(
                f"MCP server {self._label or 'mcp'!r} is not connected: use `async with MCPTools(...)`"
            )
        return self._client

    async def call(self, tool_name: str, arguments: Mapping[str, Any]) -> str | ToolOutput:
        """Call the server's tool ``tool_name`` (its own name, not the prefixed one) and return text.

        Image content comes back as a [`ToolOutput`][agentkit.tool.ToolOutput] carrying the images
        (the text names them), so a vision model sees them.

        Raises:
            ModelRetry: the server reported the call as failed (``isError``); the model sees why.
            UserError: not connected.
            mcp.MCPError: the server refused the request (a protocol-level error).
        """
        result = await self._connected().call_tool(tool_name, dict(arguments))
        text = result_text(result)
        if result.is_error:
            raise ModelRetry(text or f"MCP tool {tool_name!r} failed without a message")
        images = result_images(result)
        return ToolOutput(text=text, images=images) if images else text

    def __repr__(self) -> str:
        state = "connected" if self._client is not None else "not connected"
        return f"MCPTools({self.name!r}, {state}, tools={[t.name for t in self._tools]!r})"


@dataclass(frozen=True, slots=True)
class _Caller:
    """The function of one MCP tool: forwards the checked arguments to the server."""

    owner: MCPTools
    tool_name: str

    async def __call__(self, arguments: dict[str, Any]) -> str | ToolOutput:
        return await self.owner.call(self.tool_name, arguments)


def result_text(result: mcp_types.CallToolResult) -> str:
    """Render an MCP tool result as the text the model receives.

    Text blocks are joined by newlines; embedded text resources give their text
    (also when sent as a base64 blob with a text MIME type); images, audio, binary
    resources and links are named, not inlined; a result with only structured
    content is sent as its JSON.
    """
    parts = [_block_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        return pydantic_core.to_json(result.structured_content).decode()
    return "\n".join(parts)


def result_images(result: mcp_types.CallToolResult) -> tuple[ImagePart, ...]:
    """The images of an MCP tool result (base64 ``image`` blocks of a type vision models take)."""
    out = []
    for block in result.content:
        if isinstance(block, mcp_types.ImageContent):
            try:
                out.append(ImagePart.from_url(f"data:{block.mime_type};base64,{block.data}"))
            except UserError:
                _log.warning("mcp.image_skipped", mime_type=block.mime_type)
    return tuple(out)


def _block_text(block: Any) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, mcp_types.TextResourceContents):
            return resource.text
        text = _blob_text(resource)
        if text is not None:
            return text
        return f"[resource {resource.uri} ({resource.mime_type or 'binary'})]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link {block.uri}]"
    mime = getattr(block, "mime_type", None)
    return f"[{getattr(block, 'type', 'content')} {mime or ''}]".replace(" ]", "]")


def _holds_only(group: BaseExceptionGroup[BaseException], exc: BaseException) -> bool:
    """Whether ``group`` holds nothing but ``exc`` (at any depth) and the cancellations it caused."""
    cancelled = anyio.get_cancelled_exc_class()

    def other(err: BaseException) -> bool:
        # Groups answer False so that subgroup() looks inside them; leaves are judged.
        return not isinstance(err, BaseExceptionGroup) and err is not exc and not isinstance(err, cancelled)

    return group.subgroup(other) is None


def _blob_text(resource: mcp_types.BlobResourceContents) -> str | None:
    """A blob's text when its MIME type says it is text (servers send text files as blobs too)."""
    mime = (resource.mime_type or "").split(";")[0].strip().lower()
    textual = mime.startswith("text/") or mime in _TEXT_MIMES or mime.endswith(("+json", "+xml"))
    if not textual:
        return None
    try:
        return base64.b64decode(resource.blob, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _model_name(name: str) -> str:
    """``name`` as model APIs accept it: letters, digits, ``_`` and ``-``, at most 64 characters."""
    if _NAME_OK.match(name):
        return name
    cleaned = _NAME_BAD_CHARS.sub("_", name)
    if not cleaned or cleaned[0].isdigit() or cleaned[0] == "-":
        cleaned = "_" + cleaned
    return cleaned[:64]


def _announces_changes(client: Client) -> bool:
    tools = client.server_capabilities.tools
    return tools is not None and bool(tools.list_changed)
