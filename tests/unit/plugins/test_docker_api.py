"""The small Engine API client: a real HTTP server on a Unix socket in a temp directory."""

import json
from typing import ClassVar

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._docker_api import (
    DockerAPI,
    DockerAPIError,
    demux_logs,
)
from module_harness import EngineHandler, unix_http_server


class Handler(EngineHandler):
    seen: ClassVar[list] = []

    def do_GET(self):
        Handler.seen.append(self.path)
        if self.path.startswith("/missing"):
            self.send_json(404, {"message": "no such thing"})
        else:
            self.send_json(200, [{"ID": "a"}])

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.seen.append(body)
        self.send_json(201, {"ID": "new"})


@pytest.fixture
def api(tmp_path):
    path = str(tmp_path / "docker.sock")
    with unix_http_server(path, Handler):
        yield DockerAPI(path, timeout=5)


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
