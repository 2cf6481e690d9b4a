"""Driving a module's main() in-process: exit_json and fail_json raise Exit and Fail with the
result, so a test reads it with pytest.raises. Use the fixture ansible_exits
(tests/unit/plugins/conftest.py). And a stand-in of the Engine API: a real HTTP server on a
Unix socket (unix_http_server) whose handler (a subclass of EngineHandler) answers JSON."""

import json
import socketserver
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler


class Exit(Exception):
    """exit_json was called; args[0] is the result."""


class Fail(Exception):
    """fail_json was called; args[0] is the result."""


class EngineHandler(BaseHTTPRequestHandler):
    """Answers on a Unix socket; subclasses define do_GET and the like with send_json."""

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass

    def send_json(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@contextmanager
def unix_http_server(path, handler):
    """Serve ``handler`` (an EngineHandler) on the Unix socket ``path`` while the block runs."""
    server = _UnixServer(path, handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
