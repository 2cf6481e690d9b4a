"""The small Engine API client: a real HTTP server on a Unix socket in a temp directory."""

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._docker_api import (
    DockerAPI,
    DockerAPIError,
    demux_logs,
)


class Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list] = []

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.seen.append(self.path)
        if self.path.startswith("/missing"):
            self._send(404, {"message": "no such thing"})
        else:
            self._send(200, [{"ID": "a"}])

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.seen.append(body)
        self._send(201, {"ID": "new"})

    def _send(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def api(tmp_path):
    path = str(tmp_path / "docker.sock")
    server = Server(path, Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield DockerAPI(path, timeout=5)
    server.shutdown()
    server.server_close()


def test_get_with_filters_and_post_body(api):
    assert api.get("/secrets", filters=api.filters(label="x")) == [{"ID": "a"}]
    assert "filters=" in Handler.seen[-1]
    assert api.call("POST", "/secrets/create", body={"Name": "n", "Data": "ZA=="}) == {"ID": "new"}
    assert Handler.seen[-1] == {"Name": "n", "Data": "ZA=="}


def test_errors_carry_the_engine_message(api):
    with pytest.raises(DockerAPIError, match="no such thing"):
        api.get("/missing")


def test_demux_framed_and_plain_logs():
    frame = b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n" + b"\x02\x00\x00\x00\x00\x00\x00\x04bye\n"
    assert demux_logs(frame) == ["hello", "bye"]
    assert demux_logs(b"plain\nlines\n") == ["plain", "lines"]
