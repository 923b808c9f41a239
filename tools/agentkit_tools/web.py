r"""Web tool: fetch a page with httpx, within an allowlist and size and time limits, as text.

Only ``http``/``https`` URLs whose host is on the allowlist (exactly, or as a
subdomain of an entry) and resolves to public addresses are fetched, from the
address that was checked; redirects are followed by hand so every hop is checked
too. The body is read as a stream, decompressed here and cut at ``max_bytes``; HTML
is reduced to its readable text (scripts, styles and navigation dropped).

>>> extract_text("<html><head><title>T</title><script>x()</script></head>"
...              "<body><h1>Hello</h1><p>World &amp; all</p></body></html>")
'T\n\nHello\n\nWorld & all'
"""

from __future__ import annotations

import codecs
import contextlib
import ipaddress
import socket
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from agentkit import Tool, tool
from agentkit.exceptions import ModelRetry

__all__ = ["Resolver", "WebFetcher", "extract_text", "is_public_address", "system_resolver", "web_tools"]

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "nav", "footer"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "title"}
    | {"pre", "blockquote", "table", "ul", "ol", "main", "header"}
)
_MAX_REDIRECTS = 5


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Turns a host name and port into IP addresses (``getaddrinfo`` by default; tests inject their own)."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (``getaddrinfo``), in its order."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a public (globally routable) unicast IP address.

    Loopback, private, link-local, shared (CGNAT), multicast, reserved and unspecified
    addresses are not, nor IPv6 forms that carry one of those IPv4 addresses
    (IPv4-mapped, 6to4, Teredo, NAT64).
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    embedded: list[ipaddress.IPv4Address] = []
    if isinstance(ip, ipaddress.IPv6Address):
        embedded += [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour) if v4 is not None]
        if ip.teredo is not None:
            embedded += list(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(a.is_global and not a.is_multicast for a in (ip, *embedded))


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class WebFetcher:
    """Fetches allowlisted URLs over an injectable ``httpx.AsyncClient``.

    Each hop's host name is resolved once, every address it resolves to is checked
    (with ``block_private``, only public addresses pass), and the connection goes to
    the checked address: the URL carries the IP, the ``Host`` header and TLS SNI
    (and certificate check) keep the name. Bodies are decompressed here, as they
    stream, so ``max_bytes`` bounds the decompressed size (a small gzip bomb stays small).

    Args:
        allow: host names that may be fetched (``"example.org"`` also allows ``docs.example.org``).
        max_bytes: most bytes of a (decompressed) body read; the rest is not downloaded.
        timeout_s: seconds for the whole fetch, redirects included.
        client: the HTTP client (its transport is the seam for tests); one is made if omitted.
        block_private: refuse hosts resolving to loopback, private, link-local and other
            non-public addresses (default). Turn off only to reach a service on purpose.
        resolver: host name to addresses; the system resolver if omitted.
    """

    def __init__(
        self,
        allow: Iterable[str],
        *,
        max_bytes: int = 1_000_000,
        timeout_s: float = 15.0,
        client: httpx.AsyncClient | None = None,
        block_private: bool = True,
        resolver: Resolver | None = None,
    ) -> None:
        self.allow = tuple(h.lower().strip(".") for h in allow)
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.block_private = block_private
        self._client = client
        self._resolve = resolver or system_resolver

    def allowed(self, url: str) -> bool:
        """Whether ``url`` is http(s) and its host is on the allowlist."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
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
        except (httpx.HTTPError, OSError, zlib.error) as err:
            raise ModelRetry(f"fetching {url} failed: {type(err).__name__}: {err}") from None
        finally:
            if self._client is None:
                await client.aclose()

    async def _fetch(self, client: httpx.AsyncClient, url: str) -> dict[str, Any]:
        for _ in range(_MAX_REDIRECTS + 1):
            if not self.allowed(url):
                raise ModelRetry(f"{url} is not allowed; allowed hosts: {', '.join(self.allow) or 'none'}")
            request = await self._pinned_request(client, url)
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                body, cut = await self._read(response)
            finally:
                await response.aclose()
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            text = body.decode(_codec(response.charset_encoding), errors="replace")
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

    async def _pinned_request(self, client: httpx.AsyncClient, url: str) -> httpx.Request:
        """A GET for ``url`` addressed to the IP its host resolved to (and was checked at)."""
        target = httpx.URL(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            addresses = await self._resolve(target.host, port)
        except OSError as err:
            raise ModelRetry(f"{target.host} could not be resolved: {err}") from None
        if not addresses:
            raise ModelRetry(f"{target.host} could not be resolved")
        if self.block_private:
            refused = [a for a in addresses if not is_public_address(a)]
            if refused:
                raise ModelRetry(f"{target.host} resolves to a non-public address, {refused[0]}; not fetched")
        headers = {"Host": target.netloc.decode("ascii"), "Accept-Encoding": ", ".join(_DECODERS)}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        pinned = target.copy_with(host=addresses[0])
        return client.build_request(
            "GET", pinned, headers=headers, timeout=httpx.Timeout(self.timeout_s), extensions=extensions
        )

    async def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        """The body, decompressed as it arrives, cut once it passes ``max_bytes``."""
        decoder = _decoder(response.headers.get("content-encoding", ""))
        chunks: list[bytes] = []
        size = 0
        async for raw in response.aiter_raw():
            for piece in decoder.feed(raw, self.max_bytes + 1 - size):
                chunks.append(piece)
                size += len(piece)
            if size > self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], True
        return b"".join(chunks), False


class _Decoder:
    """Decompresses a body in steps, never producing more than asked for."""

    def __init__(self, wbits: int | None) -> None:
        self._zlib = None if wbits is None else zlib.decompressobj(wbits)
        self._raw_fallback = wbits == _DEFLATE  # servers send "deflate" raw or zlib-wrapped

    def feed(self, data: bytes, budget: int) -> Iterator[bytes]:
        if self._zlib is None:
            yield data[:budget]
            return
        while data and budget > 0:
            try:
                piece = self._zlib.decompress(data, budget)
            except zlib.error:
                if not self._raw_fallback:
                    raise
                self._zlib, self._raw_fallback = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            self._raw_fallback = False
            budget -= len(piece)
            yield piece
            data = self._zlib.unconsumed_tail


_DEFLATE = zlib.MAX_WBITS
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": _DEFLATE}


def _decoder(content_encoding: str) -> _Decoder:
    parts = (part.strip().lower() for part in content_encoding.split(","))
    codings = [c for c in parts if c not in ("", "identity")]
    if not codings:
        return _Decoder(None)
    if len(codings) > 1 or codings[0] not in _DECODERS:
        raise ModelRetry(f"the server sent an unsupported Content-Encoding ({content_encoding}); not read")
    return _Decoder(_DECODERS[codings[0]])


def _codec(charset: str | None) -> str:
    if charset:
        with contextlib.suppress(LookupError):
            return codecs.lookup(charset).name
    return "utf-8"


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
