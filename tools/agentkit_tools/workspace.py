"""Workspace: the one folder a set of tools may read and write.

Every path a model hands to a tool is checked the same way: absolute paths and
``..`` escapes are refused. Tools then open files with `Workspace.open`, which
walks the path one folder at a time from a descriptor of the root and never follows
a symlink (``O_NOFOLLOW`` on every component): a symlink planted or swapped in by
another process, even between a check and the open, cannot lead a read or a write
outside the root. Only regular files are opened (no FIFOs or devices), and a file
with other hard links is not written.

>>> import tempfile
>>> ws = Workspace(tempfile.mkdtemp())
>>> with ws.open("reports/q1.md", "w", make_parents=True) as out:
...     _ = out.write("# Q1")
>>> ws.open("reports/q1.md").read()
'# Q1'
>>> ws.open("../etc/passwd")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
agentkit_tools.workspace.WorkspaceError: '../etc/passwd' is outside the workspace
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any

from agentkit.exceptions import ModelRetry

__all__ = ["MissingPathError", "Workspace", "WorkspaceError"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = {
    "r": os.O_RDONLY,
    "w": os.O_WRONLY | os.O_CREAT,  # truncated only after the checks, see Workspace.open
    "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
}
#: Most entries `Workspace.files` looks at before it gives up (time and memory stay bounded).
MAX_WALK_ENTRIES = 100_000
#: errno values an O_NOFOLLOW open gives for a symlink (ELOOP) or a symlink/file where a folder is expected.
_NOT_FOLLOWED = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


class WorkspaceError(ModelRetry):
    """A path outside the workspace (or otherwise unusable); the model is told and may try again."""


class MissingPathError(WorkspaceError):
    """The file or folder named is not in the workspace."""


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

    def parts(self, relative: str) -> list[str]:
        """The folder and file names of ``relative``, normalised (``a/./b/../c`` is ``["a", "c"]``).

        Raises:
            WorkspaceError: an empty, absolute or escaping (``..``) path, or one with a NUL.
        """
        if not relative or "\x00" in relative:
            raise WorkspaceError(f"{relative!r} is not a usable path")
        if PurePosixPath(relative).is_absolute() or Path(relative).is_absolute():
            raise WorkspaceError(f"{relative!r} is absolute; give a path relative to the workspace")
        normal = posixpath.normpath(relative)
        if normal == ".." or normal.startswith("../"):
            raise WorkspaceError(f"{relative!r} is outside the workspace")
        return [] if normal == "." else normal.split("/")

    def resolve(self, relative: str) -> Path:
        """Return the absolute path of ``relative`` inside the workspace (a check, not an open).

        The path may not exist yet; every existing part of it is resolved (symlinks
        followed), and the result must still be inside the root. Only for handing a
        path to another program (DuckDB opens its files itself); the tools open files
        with `open`, which no symlink swapped in later can redirect.

        Raises:
            WorkspaceError: an absolute path, or one that leads outside the root.
        """
        parts = self.parts(relative)
        resolved = self.root.joinpath(*parts).resolve(strict=False)
        if not resolved.is_relative_to(self.root):
            raise WorkspaceError(f"{relative!r} is outside the workspace")
        return resolved

    def relative(self, path: Path) -> str:
        """The workspace-relative form of ``path`` (what tools report back to the model)."""
        return path.relative_to(self.root).as_posix()

    @contextmanager
    def folder(self, relative: str, *, create: bool = False) -> Iterator[int]:
        """A descriptor of the folder ``relative`` (``"."`` is the root), reached without following symlinks.

        Args:
            relative: the folder, relative to the root.
            create: make missing folders on the way.

        Raises:
            WorkspaceError: the path escapes, a part of it is a symlink or a file, or it is missing.
        """
        with self._walk(relative, self.parts(relative), create=create) as fd:
            yield fd

    @contextmanager
    def _walk(self, relative: str, names: list[str], *, create: bool) -> Iterator[int]:
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for name in names:
                step = _step(relative, name, fd, create=create)
                os.close(fd)
                fd = step
            yield fd
        finally:
            os.close(fd)

    def open(
        self,
        relative: str,
        mode: str = "r",
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
        make_parents: bool = False,
    ) -> IO[Any]:
        """Open a regular file in the workspace like `open`, never through a symlink.

        ``mode`` is ``r``, ``w``, ``a`` or ``x``, with ``b`` for bytes. Text modes use
        UTF-8 unless ``encoding`` says otherwise.

        Raises:
            WorkspaceError: the path escapes, a part of it is a symlink, it is not a regular
                file, it is a file with other hard links (when writing), or it cannot be opened.
            FileExistsError: mode ``x`` and the file exists.
        """
        kind = mode.replace("b", "").replace("t", "")
        if kind not in _FILE_FLAGS:
            raise ValueError(f"mode {mode!r}: use r, w, a or x, optionally with b")
        names = self.parts(relative)
        if not names:
            raise WorkspaceError(f"{relative!r} is the workspace folder, not a file")
        flags = _FILE_FLAGS[kind] | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO does not block
        with self._walk(relative, names[:-1], create=make_parents and kind != "r") as parent:
            try:
                fd = os.open(names[-1], flags, 0o666, dir_fd=parent)
            except FileNotFoundError:
                raise MissingPathError(f"{relative!r} is not a file in the workspace") from None
            except FileExistsError:
                raise  # mode "x": the caller picks another name
            except OSError as err:
                raise _refused(relative, names[-1], err) from None
        try:
            _check_file(relative, fd, writing=kind != "r")
            os.set_blocking(fd, True)
            if kind == "w":
                os.ftruncate(fd, 0)
            text = "b" not in mode
            return os.fdopen(
                fd,
                mode.replace("x", "w"),
                encoding=(encoding or "utf-8") if text else None,
                errors=errors if text else None,
                newline=newline if text else None,
            )
        except BaseException:
            os.close(fd)
            raise

    def files(self, folder: str = ".", pattern: str = "*", *, limit: int = 1000) -> list[str]:
        """Regular files under ``folder`` (recursively) whose path matches ``pattern``, sorted.

        Symlinks are neither listed nor followed. At most ``limit`` paths are returned.
        """
        base = self.parts(folder)
        found: list[str] = []
        seen = 0
        with self.folder(folder) as fd:
            for top, _dirs, names, top_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
                seen += len(names)
                if seen > MAX_WALK_ENTRIES:
                    raise WorkspaceError(f"{folder!r} holds over {MAX_WALK_ENTRIES} files; name a subfolder")
                for name in names:
                    try:
                        info = os.stat(name, dir_fd=top_fd, follow_symlinks=False)
                    except OSError:
                        continue  # removed meanwhile
                    path = posixpath.normpath(posixpath.join(*base, top, name))
                    if stat.S_ISREG(info.st_mode) and _matches(path, pattern):
                        found.append(path)
        return sorted(found)[:limit]


def _matches(path: str, pattern: str) -> bool:
    return PurePosixPath(path).match(pattern) or fnmatch.fnmatchcase(posixpath.basename(path), pattern)


def _step(relative: str, name: str, parent: int, *, create: bool) -> int:
    """Open the folder ``name`` in ``parent`` without following a symlink (making it if asked)."""
    try:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise MissingPathError(f"{relative!r}: folder {name!r} does not exist") from None
            with contextlib.suppress(FileExistsError):  # made meanwhile: opened below, still not followed
                os.mkdir(name, dir_fd=parent)
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as err:
        raise _refused(relative, name, err) from None


def _refused(relative: str, name: str, err: OSError) -> WorkspaceError:
    if err.errno in _NOT_FOLLOWED:
        return WorkspaceError(f"{relative!r}: {name!r} is a symlink or not a folder; not followed")
    return WorkspaceError(f"{relative!r} cannot be opened: {err.strerror}")


def _check_file(relative: str, fd: int, *, writing: bool) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise WorkspaceError(f"{relative!r} is not a regular file")
    if writing and info.st_nlink > 1:
        raise WorkspaceError(f"{relative!r} has other hard links; not written")
