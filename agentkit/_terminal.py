r"""Text for terminals: model and tool text cannot drive the terminal it is printed on.

Model output and tool results are hostile input. Printed as they are, an escape
sequence in them can write the clipboard (OSC 52), retitle the window, move the
cursor to overwrite earlier lines, or hide text; a carriage return or a bidi
override can make a line read differently from what it holds. `terminal_safe`
shows every such character as a visible ``\uXXXX`` escape instead, so the text
cannot act on the terminal and nothing is silently lost. Every CLI output of
model, tool or trace text goes through it (``agentkit.cli._echo.echo``).
"""

from __future__ import annotations

import re

__all__ = ["terminal_safe"]

# C0 controls except tab and newline, DEL, C1 controls (0x9b is a one-byte CSI, 0x9d OSC),
# and the Unicode bidi embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    r"""Return ``text`` with every terminal control character shown as a ``\uXXXX`` escape.

    The escapes are those of JSON, so JSON text stays valid JSON with the same meaning.

    >>> print(terminal_safe("ok \x1b]52;c;aGk=\x07 \x9b2J\r\n"))
    ok \u001b]52;c;aGk=\u0007 \u009b2J\u000d
    <BLANKLINE>
    """
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
