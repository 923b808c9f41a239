"""Web tool: allowlist, redirects, size and time limits, text extraction, against a loopback server."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from agentkit_tools import WebFetcher, web_tools
from agentkit_tools.web import extract_text, is_public_address

from agentkit.exceptions import ModelRetry

pytestmark = pytest.mark.anyio

_PAGE = (
    b"<html><head><title>Osaka guide</title><style>p{}</style></head><body><nav>Home | About</nav>"
    b"<h1>Osaka</h1><p>Street food &amp; castles.</p><script>track()</script></body></html>"
)


_BOMB = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # about 50 KB on the wire
_RAW_DEFLATE = zlib.compressobj(wbits=-zlib.MAX_WBITS)
_DEFLATED = _RAW_DEFLATE.compress(b"plain words, deflated raw") + _RAW_DEFLATE.flush()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        if self.path == "/page":
            self._send(200, "text/html; charset=utf-8", _PAGE)
        elif self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/page")
            self.end_headers()
        elif self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.test/x")
            self.end_headers()
        elif self.path == "/big":
            self._send(200, "text/plain", b"a" * 100_000)
        elif self.path == "/host":
            self._send(200, "text/plain", f"Host: {self.headers['Host']}".encode())
        elif self.path == "/bomb":
            self._send(200, "text/plain", _BOMB, encoding="gzip")
        elif self.path == "/deflated":
            self._send(200, "text/plain", _DEFLATED, encoding="deflate")
        elif self.path == "/brotli":
            self._send(200, "text/plain", b"?", encoding="br")
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, "text/plain", b"late")
        else:
            self._send(404, "text/plain", b"missing")

    def _send(self, status: int, kind: str, body: bytes, encoding: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client gave up first (the timeout test)
            self.wfile.write(body)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_fetches_allowed_page_as_text(site: str) -> None:
    """An allowlisted HTML page comes back as its readable text, scripts, styles and navigation dropped."""
    (fetch_url,) = web_tools(WebFetcher(["127.0.0.1"], block_private=False))
    out = await fetch_url.call(f'{{"url": "{site}/page"}}')
    assert '"text":"Osaka guide\\n\\nOsaka\\n\\nStreet food & castles."' in out
    assert '"status":200' in out


async def test_refuses_hosts_off_the_allowlist(site: str) -> None:
    """A host that is not on the allowlist is refused before any request is made."""
    with pytest.raises(ModelRetry, match="not allowed"):
        await WebFetcher(["example.org"]).fetch(f"{site}/page")
    with pytest.raises(ModelRetry, match="not allowed"):
        await WebFetcher(["127.0.0.1"], block_private=False).fetch("file:///etc/passwd")


async def test_follows_redirects_only_to_allowed_hosts(site: str) -> None:
    """Redirects are followed hop by hop, and a hop to another host is refused."""
    fetcher = WebFetcher(["127.0.0.1"], block_private=False)
    assert (await fetcher.fetch(f"{site}/hop"))["url"] == f"{site}/page"
    with pytest.raises(ModelRetry, match=r"elsewhere\.test/x is not allowed"):
        await fetcher.fetch(f"{site}/away")


async def test_body_is_cut_at_max_bytes(site: str) -> None:
    """A body longer than max_bytes is cut there and marked as cut."""
    out = await WebFetcher(["127.0.0.1"], block_private=False, max_bytes=1000).fetch(f"{site}/big")
    assert (len(out["text"]), out["cut"]) == (1000, True)


async def test_slow_fetch_times_out(site: str) -> None:
    """A fetch taking longer than timeout_s ends with a retryable error naming the limit."""
    with pytest.raises(ModelRetry, match=r"longer than 0\.2 s"):
        await WebFetcher(["127.0.0.1"], block_private=False, timeout_s=0.2).fetch(f"{site}/slow")


async def _public(host: str, port: int) -> list[str]:
    """A resolver placing every name at one public address (the mock transport never connects)."""
    return {"pub.test": ["93.184.215.14"], "inner.test": ["10.1.2.3"]}.get(host, ["93.184.215.14"])


async def test_injected_client_transport_is_used() -> None:
    """The fetcher uses the given httpx client; the request goes to the checked IP with the name as Host."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = f"hello from {request.headers['host']}".encode()
        return httpx.Response(200, stream=httpx.ByteStream(body))  # a stream, as a real transport gives

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        fetcher = WebFetcher(["docs.example.org"], client=client, resolver=_public)
        out = await fetcher.fetch("https://api.docs.example.org/x")
    assert out["text"] == "hello from api.docs.example.org"
    assert (seen[0].url.host, seen[0].extensions["sni_hostname"]) == ("93.184.215.14", "api.docs.example.org")


async def test_a_redirect_to_a_private_address_is_refused() -> None:
    """Each redirect hop is resolved and checked again: an allowed name resolving to 10.x is not fetched."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://inner.test/admin"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        fetcher = WebFetcher(["pub.test", "inner.test"], client=client, resolver=_public)
        with pytest.raises(ModelRetry, match=r"inner\.test resolves to a non-public address, 10\.1\.2\.3"):
            await fetcher.fetch("http://pub.test/start")
    assert seen == ["http://93.184.215.14/start"]


async def test_an_allowed_name_resolving_to_loopback_is_refused(site: str) -> None:
    """An allowlisted localhost resolves to 127.0.0.1, not fetched while private addresses are blocked."""
    port = site.rsplit(":", 1)[1]
    with pytest.raises(ModelRetry, match="non-public address"):
        await WebFetcher(["localhost"]).fetch(f"http://localhost:{port}/page")
    with pytest.raises(ModelRetry, match="non-public address"):
        await WebFetcher(["127.0.0.1"]).fetch(f"{site}/page")


async def test_the_connection_goes_to_the_checked_address(site: str) -> None:
    """A name only the resolver hook knows is fetched from the address it gave, with the name as Host."""
    port = site.rsplit(":", 1)[1]
    asked: list[tuple[str, int]] = []

    async def loopback(host: str, port: int) -> Sequence[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    fetcher = WebFetcher(["guide.test"], block_private=False, resolver=loopback)
    out = await fetcher.fetch(f"http://guide.test:{port}/host")
    assert out["text"] == f"Host: guide.test:{port}"
    assert asked == [("guide.test", int(port))]


async def test_a_gzip_bomb_stays_within_max_bytes(site: str) -> None:
    """A 50 MB gzip body is decompressed only up to max_bytes: memory stays near the cap, not the body."""
    fetcher = WebFetcher(["127.0.0.1"], block_private=False, max_bytes=100_000)
    tracemalloc.start()
    try:
        out = await fetcher.fetch(f"{site}/bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (len(out["text"]), out["cut"]) == (100_000, True)
    assert peak < 5_000_000  # httpx's own decoder inflated whole network chunks: over 50 MB


async def test_deflate_is_read_and_unknown_encodings_refused(site: str) -> None:
    """A raw-deflate body is decoded; an encoding the fetcher does not decode is a retryable error."""
    fetcher = WebFetcher(["127.0.0.1"], block_private=False)
    assert (await fetcher.fetch(f"{site}/deflated"))["text"] == "plain words, deflated raw"
    with pytest.raises(ModelRetry, match="unsupported Content-Encoding"):
        await fetcher.fetch(f"{site}/brotli")


def test_extract_text_keeps_paragraphs() -> None:
    """Block elements become paragraph breaks and whitespace inside them collapses."""
    assert extract_text("<div>a\n  b</div><ul><li>one</li><li>two</li></ul>") == "a b\n\none\n\ntwo"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address under test, not a bind
        ("::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:127.0.0.1", False),
        ("2002:7f00:1::", False),
        ("64:ff9b::a00:1", False),
        ("224.0.0.1", False),
    ],
)
def test_public_addresses(address: str, *, public: bool) -> None:
    """Loopback, private, link-local, CGNAT, multicast and IPv6 forms wrapping them are not public."""
    assert is_public_address(address) is public
