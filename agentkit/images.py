"""Images in messages: a user prompt's pictures and a tool's image results.

An `ImagePart` is one image, held as the URL a model API takes: a ``data:`` URL (base64)
for an image given as bytes or a file, or an ``https://`` / ``ms://`` URL passed through. Only
PNG, JPEG, WebP and GIF are accepted (what Moonshot's vision models read); the type is taken
from the bytes, not the file name.

>>> part = ImagePart.from_bytes(b"GIF89a" + bytes(20))
>>> part.media_type, part.inline, part.url[:22]
('image/gif', True, 'data:image/gif;base64,')
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias

from agentkit.exceptions import UserError

__all__ = ["MAX_IMAGE_FILE_BYTES", "ImagePart", "ImageSource", "load_image"]

#: The largest file `ImagePart.from_path` reads (a guard against loading huge files;
#: each model's profile sets the size it accepts).
MAX_IMAGE_FILE_BYTES: Final = 20 * 1024 * 1024

_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_URL_SCHEMES: Final = ("https://", "http://", "ms://")


def _sniff(data: bytes) -> str | None:
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True, slots=True)
class ImagePart:
    """One image, as the URL sent to the model (a base64 ``data:`` URL, or a remote URL).

    Build it with `from_bytes`, `from_path`, `from_url` or `load_image`.
    """

    url: str

    @classmethod
    def from_bytes(cls, data: bytes) -> ImagePart:
        """An inline image from its bytes (PNG, JPEG, WebP or GIF, recognised by content).

        Raises:
            UserError: the bytes are not one of those image formats.

        """
        media_type = _sniff(data)
        if media_type is None:
            raise UserError("the image is not PNG, JPEG, WebP or GIF (the formats vision models take)")
        return cls(f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}")

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, max_bytes: int = MAX_IMAGE_FILE_BYTES) -> ImagePart:
        """An inline image read from a file (its size checked before it is read).

        Raises:
            UserError: the file is missing, larger than ``max_bytes`` or not an image format
                vision models take.

        """
        file = Path(path)
        try:
            size = file.stat().st_size
        except OSError as err:
            raise UserError(f"cannot read image {file}: {err.strerror or err}") from None
        if size > max_bytes:
            raise UserError(f"image {file} is {size:,} bytes, more than the {max_bytes:,} allowed")
        try:
            return cls.from_bytes(file.read_bytes())
        except UserError as err:
            raise UserError(f"{file}: {err}") from None

    @classmethod
    def from_url(cls, url: str) -> ImagePart:
        """An image by URL: ``data:image/...;base64,...``, ``https://``/``http://`` or ``ms://<file_id>``.

        Raises:
            UserError: another scheme, or a ``data:`` URL that is not a base64 image.

        """
        if url.startswith("data:"):
            head, _, payload = url.partition(",")
            try:
                data = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                raise UserError("the data: URL of the image is not valid base64") from None
            part = cls.from_bytes(data)
            if not head.startswith(f"data:{part.media_type};base64"):
                raise UserError(f"the data: URL says {head[5:]!r} but holds {part.media_type}")
            return cls(url)
        if not url.startswith(_URL_SCHEMES):
            raise UserError(f"an image URL starts with data:, https://, http:// or ms://, got {url[:40]!r}")
        return cls(url)

    @property
    def inline(self) -> bool:
        """Whether the image travels in the request (a ``data:`` URL)."""
        return self.url.startswith("data:")

    @property
    def media_type(self) -> str | None:
        """``image/png`` etc. for an inline image; ``None`` for a remote one."""
        if not self.inline:
            return None
        return self.url[5:].partition(";")[0]

    @property
    def size(self) -> int:
        """The decoded size in bytes of an inline image (0 for a remote one)."""
        if not self.inline:
            return 0
        payload = self.url.partition(",")[2]
        return len(payload) * 3 // 4 - payload[-2:].count("=")

    @property
    def sha256(self) -> str:
        """The SHA-256 of the URL string (what traces store the image under)."""
        return hashlib.sha256(self.url.encode()).hexdigest()

    def __repr__(self) -> str:
        shown = f"{self.media_type}, {self.size:,} bytes" if self.inline else self.url[:60]
        return f"ImagePart({shown})"


#: What ``agent.run(prompt, images=[...])`` takes: a path, raw bytes, a URL or an `ImagePart`.
ImageSource: TypeAlias = "ImagePart | bytes | str | os.PathLike[str]"


def load_image(source: ImageSource) -> ImagePart:
    """Return the `ImagePart` for ``source``.

    ``bytes`` are the image itself; a ``str`` starting with ``data:``, ``https://``, ``http://``
    or ``ms://`` is a URL; any other ``str`` or path is a file.

    Raises:
        UserError: the source is not a readable image of a format vision models take.

    """
    if isinstance(source, ImagePart):
        return source
    if isinstance(source, bytes | bytearray):
        return ImagePart.from_bytes(bytes(source))
    if isinstance(source, str) and source.startswith(("data:", *_URL_SCHEMES)):
        return ImagePart.from_url(source)
    if isinstance(source, str | os.PathLike):
        return ImagePart.from_path(source)
    raise UserError(f"an image is a path, bytes, a URL or an ImagePart, not {type(source).__name__}")
