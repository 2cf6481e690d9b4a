"""Real servers on 127.0.0.1 for the mcp_health tests: MCP servers from the `mcp` SDK
(2.x, 1.x and 1.9.x, each in its own cached venv made by tools/mcp-venvs.sh) and small raw
servers that misbehave in the ways real deployments do (hostile ones: hostile.py).
Everything is bounded in time and stopped at the end of the session."""

import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENVS = ROOT / ".cache" / "venvs"
SERVER = ROOT / "tests" / "servers" / "mcp_server.py"
sys.path.insert(0, str(ROOT / ".collections"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, limit: float = 30.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {limit}s")


class McpServers:
    """Starts SDK servers in parallel and stops them all at the end."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, gen: int, *args: str, path: str = "/mcp") -> str:
        python = VENVS / f"mcp{gen}" / "bin" / "python"
        if not python.exists():
            pytest.skip("MCP SDK environments missing: run tools/mcp-venvs.sh (make test does)")
        port = free_port()
        proc = subprocess.Popen(
            [str(python), str(SERVER), "--port", str(port), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        proc.port = port  # type: ignore[attr-defined]
        return f"http://127.0.0.1:{port}{path}"

    def wait_all(self) -> None:
        for proc in self.procs:
            wait_for_port(proc.port, proc)  # type: ignore[attr-defined]

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


SERVER_KINDS = {
    # id: (sdk generation, args)
    "mcp2-stateless-json": (2, ["--stateless", "--json", "--name", "v2-stateless-json"]),
    "mcp2-stateless-sse": (2, ["--stateless", "--name", "v2-stateless-sse"]),
    "mcp2-stateful-json": (2, ["--json", "--name", "v2-stateful-json"]),
    "mcp2-stateful-sse": (2, ["--name", "v2-stateful-sse"]),
    "mcp1-stateful-sse": (1, ["--name", "v1-stateful-sse"]),
    "mcp1-stateless-json": (1, ["--stateless", "--json", "--name", "v1-stateless-json"]),
    "mcp2-rebinding-protected": (2, ["--allowed-host", "mcp.internal:*", "--name", "v2-protected"]),
}


@pytest.fixture(scope="session")
def mcp_urls():
    """URL of one running server per SERVER_KINDS entry."""
    servers = McpServers()
    try:
        urls = {kind: servers.start(gen, *args) for kind, (gen, args) in SERVER_KINDS.items()}
        servers.wait_all()
        yield urls
    finally:
        servers.stop()


OLD_SERVER_KINDS = {
    # id: (sdk generation, args, path). mcp 1.9.x mounts Streamable HTTP at /mcp/ (POST /mcp
    # is a 307 there); --transport sse is the legacy HTTP+SSE transport at /sse.
    "mcp19-stateful-sse": (19, ["--name", "v19-stateful-sse"], "/mcp"),
    "mcp19-stateless-json": (19, ["--stateless", "--json", "--name", "v19-stateless-json"], "/mcp"),
    "mcp19-legacy-sse": (19, ["--transport", "sse", "--name", "v19-legacy-sse"], "/sse"),
    "mcp1-legacy-sse": (1, ["--transport", "sse", "--name", "v1-legacy-sse"], "/sse"),
}


@pytest.fixture(scope="session")
def old_mcp_urls():
    """URL of one running server per OLD_SERVER_KINDS entry."""
    servers = McpServers()
    try:
        urls = {
            kind: servers.start(gen, *args, path=path) for kind, (gen, args, path) in OLD_SERVER_KINDS.items()
        }
        servers.wait_all()
        yield urls
    finally:
        servers.stop()


class RawServer:
    """A TCP server on 127.0.0.1 whose handler misbehaves; lives for the test session."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                self.handler(conn, self.stopping)

    def close(self):
        self.stopping.set()
        self.sock.close()


def _read_request(conn) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _html(conn, _stop):
    _read_request(conn)
    body = b"<html><body>It works!</body></html>"
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (len(body), body)
    )


def _silent(conn, stop):
    _read_request(conn)
    stop.wait(30)  # accept, read, never answer (bounded)


def _drop(conn, _stop):
    _read_request(conn)  # read the request, then close without a word


@pytest.fixture(scope="session")
def raw_urls():
    servers = {"html": RawServer(_html), "silent": RawServer(_silent), "drop": RawServer(_drop)}
    try:
        yield {name: f"http://127.0.0.1:{srv.port}/mcp" for name, srv in servers.items()}
    finally:
        for srv in servers.values():
            srv.close()
