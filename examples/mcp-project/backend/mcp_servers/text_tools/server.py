"""text_tools: small text utilities, on the earlier protocol era (mcp 1.x, initialize
handshake), stateless so any replica answers any request."""

import hashlib
import re
import unicodedata

from backend.core.serving import security, serve
from mcp.server.fastmcp import FastMCP

server = FastMCP(name="text_tools", stateless_http=True, json_response=True, transport_security=security())


@server.tool()
def word_count(text: str) -> int:
    """Number of words in the text."""
    return len(text.split())


@server.tool()
def sha256(text: str) -> str:
    """SHA-256 of the text (UTF-8), as hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@server.tool()
def slugify(text: str) -> str:
    """A lower-case ASCII slug of the text."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


app = server.streamable_http_app()

if __name__ == "__main__":
    serve(app)
