"""signer: sign and verify messages with a key from a Docker secret (mcp 2.x).

The key is a file the secrets role delivers (/run/secrets/signer_key); it is read at each
call, never from an environment variable, and never returned.
"""

import hashlib
import hmac
import os

from backend.core.serving import security, serve
from mcp.server import MCPServer

KEY_FILE = os.environ.get("SIGNER_KEY_FILE", "/run/secrets/signer_key")

server = MCPServer(name="signer", version="1.0.0")


def _key() -> bytes:
    with open(KEY_FILE, "rb") as handle:
        return handle.read()


@server.tool()
def sign(message: str) -> str:
    """HMAC-SHA256 of the message (UTF-8) under the service's key, as hex."""
    return hmac.new(_key(), message.encode("utf-8"), hashlib.sha256).hexdigest()


@server.tool()
def verify(message: str, signature: str) -> bool:
    """Whether the signature is the HMAC-SHA256 of the message under the current key."""
    expected = hmac.new(_key(), message.encode("utf-8"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


app = server.streamable_http_app(stateless_http=True, json_response=True, transport_security=security())

if __name__ == "__main__":
    serve(app)
