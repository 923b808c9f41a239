"""File tools: read, write and list files inside a [`Workspace`][agentkit_tools.workspace.Workspace].

>>> import anyio, tempfile
>>> read_file, write_file, list_files = file_tools(Workspace(tempfile.mkdtemp()))
>>> anyio.run(write_file.call, '{"path": "notes/a.md", "content": "# Hi"}')
'wrote notes/a.md (4 characters)'
>>> anyio.run(read_file.call, '{"path": "notes/a.md"}')
'# Hi'
>>> anyio.run(list_files.call, '{"folder": "notes"}')
'["notes/a.md"]'
"""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import Field

from agentkit import Tool, tool
from agentkit_tools.workspace import Workspace

__all__ = ["Workspace", "file_tools"]

#: Largest file ``read_file`` returns whole; longer files are cut (the model is told).
DEFAULT_MAX_READ_CHARS = 100_000


def file_tools(workspace: Workspace, *, max_read_chars: int = DEFAULT_MAX_READ_CHARS) -> list[Tool]:
    """Build ``read_file``, ``write_file`` and ``list_files`` confined to ``workspace``.

    Args:
        workspace: the folder the tools may touch; anything outside it is refused.
        max_read_chars: longest text ``read_file`` returns before cutting it.
    """

    @tool
    def read_file(path: str) -> str:
        """Read a UTF-8 text file from the workspace.

        Args:
            path: File path relative to the workspace root.
        """
        with workspace.open(path, errors="replace", newline="") as source:
            text: str = source.read(max_read_chars + 1)  # never more than the cap (and one to know it is cut)
            size = os.fstat(source.fileno()).st_size
        if len(text) > max_read_chars:
            cut = f"\n[... cut at {max_read_chars} characters; the file has {size} bytes]"
            return text[:max_read_chars] + cut
        return text

    @tool
    def write_file(path: str, content: str, append: bool = False) -> str:
        """Write (or append to) a UTF-8 text file in the workspace; folders are created.

        Args:
            path: File path relative to the workspace root.
            content: The text to write.
            append: Add to the end of the file instead of replacing it.
        """
        with workspace.open(path, "a" if append else "w", newline="", make_parents=True) as out:
            out.write(content)
        relative = "/".join(workspace.parts(path))
        return f"{'appended to' if append else 'wrote'} {relative} ({len(content)} characters)"

    @tool
    def list_files(
        folder: str = ".", pattern: str = "*", limit: Annotated[int, Field(ge=1, le=1000)] = 200
    ) -> list[str]:
        """List files under a workspace folder (recursively), sorted by path.

        Args:
            folder: Folder relative to the workspace root.
            pattern: Glob pattern the file names must match, e.g. "*.csv".
            limit: Most paths to return.
        """
        # Symlinks are neither followed nor listed: a link cannot show what lies outside the workspace.
        return workspace.files(folder, pattern, limit=limit)

    return [read_file, write_file, list_files]
