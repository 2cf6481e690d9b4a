"""Badly behaved HTTP servers on 127.0.0.1 for the mcp_health tests and benchmark.

Each behaviour is a handler ``(conn, request, stop)`` run on its own thread per connection.
Every loop is bounded twice: by ``stop`` (set when the server closes) and by MAX_SECONDS,
and a handler ends as soon as the client goes away. Standard library only.

    servers = HostileServers(); urls = servers.start(); ...; servers.close()
"""

import contextlib
import json
import socket
import threading
import time

MAX_SECONDS = 30.0  # no handler runs longer than this, whatever the client does
HEAD_LIMIT = 64 * 1024


class Request:
    def __init__(self, method: str, path: str, headers: dict, body: bytes):
        self.method, self.path, self.headers, self.body = method, path, headers, body

    def rpc(self) -> dict:
        try:
            decoded = json.loads(self.body.decode("utf-8") or "null")
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}


def read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < HEAD_LIMIT:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = [*lines[0].split(" "), "", "", ""][:3]
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(body) < min(length, HEAD_LIMIT):
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)


def _send_head(conn, status: str, headers: list[tuple[str, str]]) -> None:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def _send(conn, status: str, ctype: str | None, body: bytes, extra=()) -> None:
    headers = [("Content-Type", ctype)] if ctype else []
    headers += [("Content-Length", str(len(body))), ("Connection", "close"), *extra]
    _send_head(conn, status, headers)
    conn.sendall(body)


def _drip(conn, data: bytes, every: float, stop: threading.Event, step: int = 1) -> None:
    """Send ``data`` ``step`` bytes at a time, one piece every ``every`` seconds."""
    end = time.monotonic() + MAX_SECONDS
    for i in range(0, len(data), step):
        if stop.is_set() or time.monotonic() > end:
            return
        conn.sendall(data[i : i + step])
        stop.wait(every)


def _forever(conn, piece: bytes, every: float, stop: threading.Event, chunked: bool = False) -> None:
    """Send ``piece`` every ``every`` seconds until the client leaves (bounded)."""
    frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    end = time.monotonic() + MAX_SECONDS
    while not stop.is_set() and time.monotonic() < end:
        conn.sendall(frame)
        if every:
            stop.wait(every)


# --- a small MCP server that answers correctly (used behind redirects, odd framings) -----


def mcp_answer(request: Request) -> tuple[int, dict | None]:
    """(HTTP status, JSON-RPC response or None for a notification) of a well-behaved
    server of both eras."""
    message = request.rpc()
    method, rid = message.get("method"), message.get("id")
    if rid is None:
        return 202, None
    if method == "server/discover":
        meta = {"io.modelcontextprotocol/serverInfo": {"name": "fake", "version": "0.0.1"}}
        result = {"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}, "_meta": meta}
    elif method == "initialize":
        result = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "fake", "version": "0.0.1"}}  # fmt: skip
    elif method == "tools/list":
        result = {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}
    else:
        return 200, {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}}
    return 200, {"jsonrpc": "2.0", "id": rid, "result": result}


def fake_mcp(conn, request, stop, framing: str = "json") -> None:
    _status, response = mcp_answer(request)
    if response is None:
        _send(conn, "202 Accepted", None, b"")
        return
    payload = json.dumps(response).encode()
    if framing == "json":
        _send(conn, "200 OK", "application/json", payload)
    else:  # an event stream with neither Content-Length nor chunked: it ends when we close
        _send_head(conn, "200 OK", [("Content-Type", "text/event-stream"), ("Connection", "close")])
        conn.sendall(b": hello\n\nevent: message\ndata: " + payload + b"\n\n")


# --- the hostile behaviours ---------------------------------------------------------------


def slow_headers(conn, request, stop):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    _drip(conn, head, 0.5, stop)


def slow_body(conn, request, stop):
    _status, response = mcp_answer(request)
    payload = json.dumps(response or {}).encode() + b" " * 200
    _send_head(conn, "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    _drip(conn, payload, 0.5, stop)


def endless_sse_line_chunked(conn, request, stop):
    _send_head(conn, "200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")])
    conn.sendall(b"6\r\ndata: \r\n")
    _forever(conn, b"x" * 16, 0.05, stop, chunked=True)


def endless_sse_line_plain(conn, request, stop):
    _send_head(conn, "200 OK", [("Content-Type", "text/event-stream"), ("Connection", "close")])
    conn.sendall(b"data: ")
    _forever(conn, b"x" * 16, 0.05, stop)


def endless_sse_line_fast(conn, request, stop):
    _send_head(conn, "200 OK", [("Content-Type", "text/event-stream"), ("Connection", "close")])
    conn.sendall(b"data: ")
    _forever(conn, b"x" * 65536, 0, stop)


def sse_keepalives(conn, request, stop):
    _send_head(conn, "200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")])
    _forever(conn, b": keep-alive\n\n", 0.3, stop, chunked=True)


def sse_without_length(conn, request, stop):
    fake_mcp(conn, request, stop, framing="sse-no-length")


def jsonrpc_empty(conn, request, stop):
    _send(conn, "200 OK", "application/json", b"{}")


def hang(conn, request, stop):
    stop.wait(MAX_SECONDS)


def jsonrpc_404(conn, request, stop):
    rid = request.rpc().get("id")
    body = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}}
    _send(conn, "404 Not Found", "application/json", json.dumps(body).encode())


def redirect_other_origin(conn, request, stop):
    _send(conn, "307 Temporary Redirect", None, b"", [("Location", "http://127.0.0.1:1/elsewhere/mcp")])


def redirect_loop(conn, request, stop):
    _send(conn, "307 Temporary Redirect", None, b"", [("Location", request.path)])


def redirect_308_then_mcp(conn, request, stop):
    """/mcp is a 308 to /v2/mcp (relative Location), which answers MCP."""
    if request.path.startswith("/v2/"):
        fake_mcp(conn, request, stop)
    else:
        _send(conn, "308 Permanent Redirect", None, b"", [("Location", "/v2/mcp")])


def stream_forever(conn, request, stop):
    """A GET that opens an event stream and never ends it (for kind http)."""
    _send_head(conn, "200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")])
    _forever(conn, b": tick\n\n", 0.2, stop, chunked=True)


def unavailable(conn, request, stop):
    _send(conn, "503 Service Unavailable", "text/html", b"<html>upstream down</html>")


HANDLERS = {
    "slow_headers": slow_headers,
    "slow_body": slow_body,
    "endless_sse_line_chunked": endless_sse_line_chunked,
    "endless_sse_line_plain": endless_sse_line_plain,
    "endless_sse_line_fast": endless_sse_line_fast,
    "sse_keepalives": sse_keepalives,
    "sse_without_length": sse_without_length,
    "jsonrpc_empty": jsonrpc_empty,
    "hang": hang,
    "jsonrpc_404": jsonrpc_404,
    "redirect_other_origin": redirect_other_origin,
    "redirect_loop": redirect_loop,
    "redirect_308_then_mcp": redirect_308_then_mcp,
    "stream_forever": stream_forever,
    "unavailable": unavailable,
    "fake_mcp": fake_mcp,
}


class HostileServer:
    """One listener on 127.0.0.1 serving one behaviour; a thread per connection."""

    def __init__(self, handler, stop: threading.Event):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.handler, self.stop = handler, stop
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        self.sock.close()

    def _handle(self, conn):
        with conn, contextlib.suppress(OSError):
            conn.settimeout(MAX_SECONDS)
            request = read_request(conn)
            if request is not None:
                self.handler(conn, request, self.stop)


class HostileServers:
    def __init__(self):
        self.stop = threading.Event()
        self.servers: dict[str, HostileServer] = {}

    def start(self, names=None) -> dict[str, str]:
        for name in names or HANDLERS:
            self.servers[name] = HostileServer(HANDLERS[name], self.stop)
        return {name: f"http://127.0.0.1:{srv.port}/mcp" for name, srv in self.servers.items()}

    def close(self) -> None:
        self.stop.set()
