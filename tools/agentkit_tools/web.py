r"""Web tool: fetch a page with httpx, within an allowlist and size and time limits, as text.

Only ``http``/``https`` URLs whose host is on the allowlist (exactly, or as a
subdomain of an entry) are fetched; redirects are followed by hand so every hop is
checked too. The body is read as a stream and cut at ``max_bytes``; HTML is reduced
to its readable text (scripts, styles and navigation dropped).

>>> extract_text("<html><head><title>T</title><script>x()</script></head>"
...              "<body><h1>Hello</h1><p>World &amp; all</p></body></html>")
'T\n\nHello\n\nWorld & all'
"""

from __future__ import annotations

from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from agentkit import Tool, tool
from agentkit.exceptions import ModelRetry

__all__ = ["WebFetcher", "extract_text", "web_tools"]

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "nav", "footer"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "title"}
    | {"pre", "blockquote", "table", "ul", "ol", "main", "header"}
)
_MAX_REDIRECTS = 5


class WebFetcher:
    """Fetches allowlisted URLs over an injectable ``httpx.AsyncClient``.

    Args:
        allow: host names that may be fetched (``"example.org"`` also allows ``docs.example.org``).
        max_bytes: most bytes of a body read; the rest is not downloaded.
        timeout_s: seconds for the whole fetch, redirects included.
        client: the HTTP client (its transport is the seam for tests); one is made if omitted.
    """

    def __init__(
        self,
        allow: Iterable[str],
        *,
        max_bytes: int = 1_000_000,
        timeout_s: float = 15.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.allow = tuple(h.lower().strip(".") for h in allow)
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self._client = client

    def allowed(self, url: str) -> bool:
        """Whether ``url`` is http(s) and its host is on the allowlist."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return parts.scheme in ("http", "https") and any(
            host == entry or host.endswith("." + entry) for entry in self.allow
        )

    async def fetch(self, url: str) -> dict[str, Any]:
        """Fetch ``url`` (following allowed redirects) and return its status, type and text.

        Raises:
            ModelRetry: the URL (or a redirect) is not allowed, the fetch failed or timed out.
        """
        client = self._client or httpx.AsyncClient()
        try:
            with anyio.fail_after(self.timeout_s):
                return await self._fetch(client, url)
        except (TimeoutError, httpx.TimeoutException):
            raise ModelRetry(f"fetching {url} took longer than {self.timeout_s:g} s") from None
        except httpx.HTTPError as err:
            raise ModelRetry(f"fetching {url} failed: {type(err).__name__}: {err}") from None
        finally:
            if self._client is None:
                await client.aclose()

    async def _fetch(self, client: httpx.AsyncClient, url: str) -> dict[str, Any]:
        timeout = httpx.Timeout(self.timeout_s)
        for _ in range(_MAX_REDIRECTS + 1):
            if not self.allowed(url):
                raise ModelRetry(f"{url} is not allowed; allowed hosts: {', '.join(self.allow) or 'none'}")
            request = client.build_request("GET", url, timeout=timeout)
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                body, cut = await self._read(response)
            finally:
                await response.aclose()
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            text = body.decode(response.encoding or "utf-8", errors="replace")
            if kind in ("text/html", "application/xhtml+xml"):
                text = extract_text(text)
            return {
                "url": url,
                "status": response.status_code,
                "content_type": kind,
                "text": text,
                "cut": cut,
            }
        raise ModelRetry(f"more than {_MAX_REDIRECTS} redirects from {url}")

    async def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], True
        return b"".join(chunks), False


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping.append(tag)
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def extract_text(html: str) -> str:
    """The readable text of an HTML page: paragraphs kept, scripts, styles and navigation dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    paragraphs = (" ".join(block.split()) for block in "".join(parser.parts).split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def web_tools(fetcher: WebFetcher) -> list[Tool]:
    """Build the ``fetch_url`` tool over ``fetcher`` (its allowlist and limits apply)."""

    @tool
    async def fetch_url(url: str) -> dict[str, Any]:
        """Fetch a web page (allowlisted hosts only) and return its readable text.

        Args:
            url: The http(s) URL to fetch.
        """
        return await fetcher.fetch(url)

    return [fetch_url]
