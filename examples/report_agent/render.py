"""The report writer: Markdown in, a Markdown file and a self-contained HTML page out.

The HTML page embeds its charts as ``data:`` URIs and its style sheet inline, so it
is one file that can be attached to an email or opened offline.
"""

from __future__ import annotations

import base64
import html
import re
from typing import Annotated, Any

from agentkit_tools import Workspace, WorkspaceError
from markdown_it import MarkdownIt
from pydantic import Field

from agentkit import Tool, tool

__all__ = ["render_html", "report_tools"]

_MAX_IMAGE_BYTES = 10_000_000

_IMAGE = re.compile(r'<img src="([^"]+)" alt="([^"]*)"')

_CSS = """
body { font: 16px/1.55 Georgia, 'Times New Roman', serif; color: #1d1d1f; background: #f4f1ea; margin: 0; }
main { max-width: 860px; margin: 2.5rem auto; background: #fff; padding: 3rem 3.5rem;
       box-shadow: 0 1px 4px rgba(0,0,0,.08); }
h1 { font: 700 2.1rem/1.2 'Helvetica Neue', Arial, sans-serif; margin: 0 0 .3rem; }
h2 { font: 700 1.3rem/1.3 'Helvetica Neue', Arial, sans-serif; margin: 2.2rem 0 .6rem;
     border-bottom: 2px solid #2f6db5; padding-bottom: .25rem; }
h3 { font: 700 1.05rem 'Helvetica Neue', Arial, sans-serif; margin: 1.6rem 0 .4rem; }
p.meta, blockquote { color: #555; font-size: .92rem; }
blockquote { border-left: 3px solid #c9c2b3; margin: 1rem 0; padding: .2rem 1rem; background: #faf8f3; }
table { border-collapse: collapse; margin: 1rem 0; font: .9rem 'Helvetica Neue', Arial, sans-serif; }
th, td { padding: .35rem .8rem; border-bottom: 1px solid #e3ded3; text-align: left; }
th { background: #f0ece3; }
td:not(:first-child), th:not(:first-child) { text-align: right; }
img { max-width: 100%; display: block; margin: 1.2rem auto .3rem; }
figcaption { text-align: center; color: #666; font-size: .85rem; margin-bottom: 1rem; }
code { font-size: .88em; background: #f3f0e8; padding: .05rem .25rem; }
"""


def render_html(workspace: Workspace, title: str, markdown: str) -> str:
    """The Markdown as one self-contained HTML page (images from the workspace embedded)."""
    body = MarkdownIt("commonmark").enable("table").render(markdown)

    def embed(match: re.Match[str]) -> str:
        source, alt = html.unescape(match.group(1)), match.group(2)
        if not source.lower().endswith(".png"):
            raise WorkspaceError(f"image {source!r} is not a PNG file in the workspace")
        with workspace.open(source, "rb") as image:  # never through a symlink
            png = image.read(_MAX_IMAGE_BYTES + 1)
        if len(png) > _MAX_IMAGE_BYTES:
            raise WorkspaceError(f"image {source!r} is larger than {_MAX_IMAGE_BYTES} bytes")
        data = base64.b64encode(png).decode()
        return f'<img src="data:image/png;base64,{data}" alt="{alt}"'

    body = _IMAGE.sub(embed, body)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head>\n<body><main>\n{body}</main></body></html>\n"
    )


def report_tools(workspace: Workspace) -> list[Tool]:
    """The ``write_report`` tool: ``<name>.md`` and a self-contained ``<name>.html`` in ``workspace``."""

    @tool
    def write_report(
        name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,60}$")], title: str, markdown: str
    ) -> dict[str, Any]:
        """Write the report as Markdown and as a self-contained HTML page with its charts embedded.

        Args:
            name: File name without extension (letters, digits, - and _).
            title: The page title.
            markdown: The report in Markdown; charts as images with workspace paths, e.g.
                ![Delays by month](charts/by_month.png).
        """
        page = render_html(workspace, title, markdown)
        for path, text in ((f"{name}.md", markdown), (f"{name}.html", page)):
            with workspace.open(path, "w") as out:
                out.write(text)
        charts = len(re.findall(r"data:image/png", page))
        return {"markdown": f"{name}.md", "html": f"{name}.html", "charts": charts}

    return [write_report]
