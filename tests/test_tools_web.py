"""Web tool: allowlist, redirects, size and time limits, text extraction, against a loopback server."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from agentkit_tools import WebFetcher, web_tools
from agentkit_tools.web import extract_text

from agentkit.exceptions import ModelRetry

pytestmark = pytest.mark.anyio

_PAGE = (
    b"<html><head><title>Osaka guide</title><style>p{}</style></head><body><nav>Home | About</nav>"
    b"<h1>Osaka</h1><p>Street food &amp; castles.</p><script>track()</script></body></html>"
)


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
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, "text/plain", b"late")
        else:
            self._send(404, "text/plain", b"missing")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
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
    (fetch_url,) = web_tools(WebFetcher(["127.0.0.1"]))
    out = await fetch_url.call(f'{{"url": "{site}/page"}}')
    assert '"text":"Osaka guide\\n\\nOsaka\\n\\nStreet food & castles."' in out
    assert '"status":200' in out


async def test_refuses_hosts_off_the_allowlist(site: str) -> None:
    """A host that is not on the allowlist is refused before any request is made."""
    with pytest.raises(ModelRetry, match="not allowed"):
        await WebFetcher(["example.org"]).fetch(f"{site}/page")
    with pytest.raises(ModelRetry, match="not allowed"):
        await WebFetcher(["127.0.0.1"]).fetch("file:///etc/passwd")


async def test_follows_redirects_only_to_allowed_hosts(site: str) -> None:
    """Redirects are followed hop by hop, and a hop to another host is refused."""
    fetcher = WebFetcher(["127.0.0.1"])
    assert (await fetcher.fetch(f"{site}/hop"))["url"] == f"{site}/page"
    with pytest.raises(ModelRetry, match=r"elsewhere\.test/x is not allowed"):
        await fetcher.fetch(f"{site}/away")


async def test_body_is_cut_at_max_bytes(site: str) -> None:
    """A body longer than max_bytes is cut there and marked as cut."""
    out = await WebFetcher(["127.0.0.1"], max_bytes=1000).fetch(f"{site}/big")
    assert (len(out["text"]), out["cut"]) == (1000, True)


async def test_slow_fetch_times_out(site: str) -> None:
    """A fetch taking longer than timeout_s ends with a retryable error naming the limit."""
    with pytest.raises(ModelRetry, match=r"longer than 0\.2 s"):
        await WebFetcher(["127.0.0.1"], timeout_s=0.2).fetch(f"{site}/slow")


async def test_injected_client_transport_is_used() -> None:
    """The fetcher uses the given httpx client, so its transport is the seam for tests."""
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, text=f"hello from {request.url.host}")
    )
    async with httpx.AsyncClient(transport=transport) as client:
        out = await WebFetcher(["docs.example.org"], client=client).fetch("https://api.docs.example.org/x")
    assert out["text"] == "hello from api.docs.example.org"


def test_extract_text_keeps_paragraphs() -> None:
    """Block elements become paragraph breaks and whitespace inside them collapses."""
    assert extract_text("<div>a\n  b</div><ul><li>one</li><li>two</li></ul>") == "a b\n\none\n\ntwo"
