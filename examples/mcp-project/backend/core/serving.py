"""Serve an MCP server over Streamable HTTP inside a container.

Both SDK generations are supported: `mcp` 2.x (`MCPServer`) and `mcp` 1.x (`FastMCP`).
The server listens on every address of the container (Swarm's DNS and the gateway reach it
by its task address), so the SDK's Host-header check is configured to accept them.
"""

import os
import signal
import sys

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings

PORT = int(os.environ.get("MCP_PORT", "8000"))


def security() -> TransportSecuritySettings:
    # Behind the gateway the Host header is the gateway's name; the overlay network is the
    # boundary here, not the Host header.
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


def serve(app) -> None:
    """Run an ASGI app until SIGTERM; in-flight requests finish first (graceful stop)."""
    config = uvicorn.Config(
        app,
        host="0.0.0.0",  # noqa: S104  # a container's own interfaces
        port=PORT,
        log_level=os.environ.get("MCP_LOG_LEVEL", "warning"),
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    server.run()
    sys.exit(0)
