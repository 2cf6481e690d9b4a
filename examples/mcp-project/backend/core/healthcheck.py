"""Container healthcheck: a real MCP handshake against the server in this container.

`python -m backend.core.healthcheck` posts `initialize` to http://127.0.0.1:$MCP_PORT/mcp
and exits 0 only when the reply is a JSON-RPC result naming the server. An HTTP 200 on
some other path would prove nothing. Standard library only.
"""

import json
import os
import sys
import urllib.request

PORT = int(os.environ.get("MCP_PORT", "8000"))
TIMEOUT = float(os.environ.get("MCP_HEALTH_TIMEOUT", "3"))


def check() -> str:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "healthcheck", "version": "1"},
        },
    }
    request = urllib.request.Request(  # a fixed http URL on loopback
        f"http://127.0.0.1:{PORT}/mcp",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:  # noqa: S310  # loopback only
        text = reply.read().decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        message = json.loads(text)
    else:  # SSE: the first data line
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        message = json.loads(data[0]) if data else {}
    return message["result"]["serverInfo"]["name"]


if __name__ == "__main__":
    try:
        print(f"healthy: {check()}")
    except Exception as error:  # any failure is "unhealthy"
        print(f"unhealthy: {error}")
        sys.exit(1)
