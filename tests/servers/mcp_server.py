"""A real MCP server for the tests and benchmarks, built on the `mcp` SDK.

Runs under each SDK generation, each from its own virtual environment:
  - mcp 2.x (`MCPServer`): answers the current era (2026-07-28) and the earlier ones;
  - mcp 1.x (`FastMCP`): earlier eras only (initialize handshake);
  - mcp 1.9.x (`FastMCP` of mid 2025): earlier eras, Streamable HTTP mounted at /mcp/ (a POST
    to /mcp is redirected there with 307) and no transport-security settings yet.

    python mcp_server.py --port 8001 [--stateless] [--json] [--name notes]
        [--allowed-host mcp.internal:*] [--delay 1.0] [--count 50 --slow-index 7]
        [--transport sse]

--transport sse serves the legacy HTTP+SSE transport instead (GET /sse announces the
message endpoint, /messages/?session_id=...), as deployed servers still do.

--allowed-host turns on the SDK's DNS-rebinding protection with only that Host allowed.
--delay holds every HTTP request that long (a slow server). --count N serves N servers on
ports PORT..PORT+N-1 in one process (for the benchmark); --slow-index picks the slow one.
"""

import argparse
import asyncio
import time

import uvicorn

try:  # mcp 2.x
    from mcp.server import MCPServer as _Server

    SDK = 2
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as _Server

    SDK = 1

try:  # mcp >= 1.10
    from mcp.server.transport_security import TransportSecuritySettings
except ImportError:  # mcp 1.9.x: no DNS-rebinding protection to configure
    TransportSecuritySettings = None


def build(name: str, stateless: bool, json_response: bool, allowed_host: str | None, transport: str = "http"):
    security = None
    if TransportSecuritySettings is None:
        if allowed_host:
            raise SystemExit("--allowed-host needs mcp >= 1.10")
    elif allowed_host:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=[allowed_host]
        )
    else:
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    notes: dict[str, str] = {}

    if SDK == 2:
        server = _Server(name=name, version="1.2.3")
    elif security is None:
        server = _Server(name=name, stateless_http=stateless, json_response=json_response)
    else:
        server = _Server(
            name=name, stateless_http=stateless, json_response=json_response, transport_security=security
        )

    @server.tool()
    def remember(key: str, text: str) -> str:
        """Store a note under a key."""
        notes[key] = text
        return "ok"

    @server.tool()
    def recall(key: str) -> str:
        """Return the note stored under a key."""
        return notes.get(key, "")

    if transport == "sse":
        if SDK == 2:
            return server.sse_app(transport_security=security)
        return server.sse_app()
    if SDK == 2:
        return server.streamable_http_app(
            stateless_http=stateless, json_response=json_response, transport_security=security
        )
    return server.streamable_http_app()


def delayed(app, seconds: float):
    async def wrapper(scope, receive, send):
        if scope["type"] == "http" and seconds:
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return wrapper


async def serve(opts) -> None:
    servers = []
    for index in range(opts.count):
        name = opts.name if opts.count == 1 else f"{opts.name}-{index}"
        app = build(name, opts.stateless, opts.json, opts.allowed_host, opts.transport)
        delay = opts.delay if (opts.count == 1 or index == opts.slow_index) else 0.0
        config = uvicorn.Config(
            delayed(app, delay), host="127.0.0.1", port=opts.port + index, log_level="warning", lifespan="on"
        )
        servers.append(uvicorn.Server(config))
    await asyncio.gather(*(s.serve() for s in servers))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="test-server")
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--allowed-host")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--slow-index", type=int, default=-1)
    parser.add_argument("--transport", choices=["http", "sse"], default="http")
    opts = parser.parse_args()
    started = time.monotonic()
    try:
        asyncio.run(serve(opts))
    finally:
        print(f"served {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
