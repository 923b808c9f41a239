"""Workspace: the one folder a set of tools may read and write.

Every path a model hands to a tool goes through :meth:`Workspace.resolve`, which
refuses absolute paths, ``..`` escapes and symlinks that lead outside the root.

>>> import tempfile
>>> ws = Workspace(tempfile.mkdtemp())
>>> ws.resolve("reports/q1.md").relative_to(ws.root).as_posix()
'reports/q1.md'
>>> ws.resolve("../etc/passwd")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
agentkit_tools.workspace.WorkspaceError: '../etc/passwd' is outside the workspace
"""

from __future__ import annotations

import os
from pathlib import Path

from agentkit.exceptions import ModelRetry

__all__ = ["Workspace", "WorkspaceError"]


class WorkspaceError(ModelRetry):
    """A path outside the workspace (or otherwise unusable); the model is told and may try again."""


class Workspace:
    """A root folder that tools are confined to.

    Args:
        root: the folder (created if missing). Symlinks in the root's own path are resolved once.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root)
        path.mkdir(parents=True, exist_ok=True)
        self.root = path.resolve(strict=True)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    def resolve(self, relative: str) -> Path:
        """Return the absolute path of ``relative`` inside the workspace.

        The path may not exist yet; every existing part of it is resolved (symlinks
        followed), and the result must still be inside the root.

        Raises:
            WorkspaceError: an absolute path, or one that leads outside the root.
        """
        if not relative or "\x00" in relative:
            raise WorkspaceError(f"{relative!r} is not a usable path")
        candidate = Path(relative)
        if candidate.is_absolute() or candidate.drive:
            raise WorkspaceError(f"{relative!r} is absolute; give a path relative to the workspace")
        resolved = (self.root / candidate).resolve(strict=False)
        if not resolved.is_relative_to(self.root):
            raise WorkspaceError(f"{relative!r} is outside the workspace")
        return resolved

    def relative(self, path: Path) -> str:
        """The workspace-relative form of ``path`` (what tools report back to the model)."""
        return path.relative_to(self.root).as_posix()
