"""`ansible-inventory` with the lambda_cloud plugin against a stand-in of Lambda's Cloud API.

The stand-in is NOT Lambda: it is a small http.server on 127.0.0.1 that reproduces the API's
documented shape (Lambda's Cloud API reference, API v1): ``GET /api/v1/instances`` with a
bearer key answers ``{"data": [instance, ...]}``, the whole list in one response (the
endpoint is not paged, so there is no pagination to stand in for); failures answer
``{"error": {"code", "message", "suggestion"}}``; too many requests answer 429. The instances
it serves (tests/unit/plugins/samples/lambda_cloud_instances.json) are written after the
documented fields, not recorded: active ones, one ``booting`` without addresses yet, one
``terminated``, one without a name. Each test scripts the answers it needs (an error, a 429)
and reads back what the stand-in received.
"""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "unit" / "plugins" / "samples" / "lambda_cloud_instances.json"
BIN = Path(sys.executable).parent
KEY = "secret_lab-standin_5f0c7d2e9a1b4c3d8e6f"
JUPYTER_TOKEN = "53968f128c4a4489b688c2c0a181d083"

CONFIG = """\
plugin: sophia.lambda_swarm.lambda_cloud
api_url: {url}
name_pattern: "^mcp-"
managers_pattern: "-m[0-9]+$"
keyed_groups:
  - key: lambda_region
    prefix: region
compose:
  swarm_advertise_addr: lambda_private_ip
"""


def lambda_error(code, message, suggestion=None):
    error = {"code": code, "message": message}
    if suggestion:
        error["suggestion"] = suggestion
    return {"error": error}


class StandIn:
    """The API stand-in: scripted answers first, then the instance list."""

    def __init__(self):
        self.requests = []  # (monotonic time, path, Authorization header)
        self.script = []  # (status, headers, body) answered before the list
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with stand_in.lock:
                    stand_in.requests.append((time.monotonic(), self.path, self.headers.get("Authorization")))
                    scripted = stand_in.script.pop(0) if stand_in.script else None
                if scripted:
                    self.answer(*scripted)
                elif self.headers.get("Authorization") != "Bearer " + KEY:
                    self.answer(401, {}, lambda_error("global/invalid-api-key", "API key is invalid, expired, or deleted.",
                                                      "Create a new API key and try again."))  # fmt: skip
                elif self.path != "/api/v1/instances":
                    self.answer(404, {}, lambda_error("global/object-does-not-exist", "Not found."))
                else:
                    self.answer(200, {}, json.loads(SAMPLE.read_text()))

            def answer(self, status, headers, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/api/v1" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def api():
    stand_in = StandIn()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def env(tmp_path):
    """ansible.cfg makes the collection resolve from .collections; the lab's vault password
    script is replaced by a file of this test's own."""
    vault_pass = tmp_path / "vault-pass"
    vault_pass.write_text("stand-in vault password\n")
    out = dict(os.environ)
    out.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_VAULT_PASSWORD_FILE=str(vault_pass),
        ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        LAMBDA_API_KEY=KEY,
        PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")),
    )
    out.pop("LAMBDA_API_URL", None)
    out.pop("ANSIBLE_VAULT_IDENTITY_LIST", None)  # the make targets export the lab's
    return out


def plain(value):
    """--list marks strings that came from the API as unsafe (never templated):
    ``{"__ansible_unsafe": "..."}``; the assertions compare the values."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def listing(proc):
    return plain(json.loads(proc.stdout))


def inventory(tmp_path, env, text, *args, check=True):
    source = tmp_path / "lab.lambda_cloud.yml"
    source.write_text(text)
    proc = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(source), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert KEY not in proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_graph_has_managers_workers_and_keyed_groups(api, tmp_path, env):
    graph = inventory(tmp_path, env, CONFIG.format(url=api.url), "--graph").stdout
    lines = [line.strip(" |-") for line in graph.splitlines()]
    assert lines[0] == "@all:"
    managers = lines[lines.index("@managers:") + 1 : lines.index("@managers:") + 4]
    assert managers == ["mcp-m1", "mcp-m2", "mcp-m3"]
    assert lines[lines.index("@workers:") + 1] == "mcp-w1"
    assert "@region_us_east_1:" in lines and "@region_us_west_1:" in lines
    # booting and terminated instances are not kept by default (statuses: [active]); the
    # instance without a name does not match name_pattern
    assert not {"mcp-w2", "mcp-w0", "6f7a8b9c0d1e42f3a4b5c6d7e8f9a0b1"} & set(lines)
    assert [request[1:] for request in api.requests] == [("/api/v1/instances", "Bearer " + KEY)]


def test_list_has_the_host_vars(api, tmp_path, env):
    # -vvv: the verbose log (on stdout, the list goes to a file) must not show the key either
    out = tmp_path / "list.json"
    proc = inventory(tmp_path, env, CONFIG.format(url=api.url), "--list", "-vvv", "--output", str(out))
    assert "lambda_cloud" in proc.stdout
    assert KEY not in out.read_text()
    raw = json.loads(out.read_text())
    # what came from the API is marked unsafe: a name holding "{{ }}" is never templated
    assert raw["_meta"]["hostvars"]["mcp-w1"]["lambda_region"] == {"__ansible_unsafe": "us-east-1"}
    data = plain(raw)
    assert sorted(data["managers"]["hosts"]) == ["mcp-m1", "mcp-m2", "mcp-m3"]
    assert data["workers"]["hosts"] == ["mcp-w1"]
    assert data["_meta"]["hostvars"]["mcp-w1"] == {
        "ansible_host": "192.0.2.21",
        "ansible_user": "ubuntu",
        "lambda_id": "3c4d5e6f7a8b49c0d1e2f3a4b5c6d7e8",
        "lambda_status": "active",
        "lambda_private_ip": "10.19.0.21",
        "lambda_hostname": "192-0-2-21.cloud.lambdalabs.com",
        "lambda_region": "us-east-1",
        "lambda_instance_type": "gpu_8x_h100_sxm5",
        "lambda_gpu_count": 8,
        "lambda_gpu_description": "H100 (80 GB SXM5)",
        "swarm_advertise_addr": "10.19.0.21",
    }
    assert JUPYTER_TOKEN not in json.dumps(data)


def test_a_booting_instance_is_kept_when_asked_without_an_address(api, tmp_path, env):
    text = CONFIG.format(url=api.url) + "statuses: [active, booting]\n"
    data = listing(inventory(tmp_path, env, text, "--list"))
    booting = data["_meta"]["hostvars"]["mcp-w2"]
    assert booting["lambda_status"] == "booting"
    assert "ansible_host" not in booting and booting["lambda_private_ip"] is None
    assert sorted(data["workers"]["hosts"]) == ["mcp-w1", "mcp-w2"]


def test_a_429_is_retried_after_the_time_the_api_asks(api, tmp_path, env):
    api.script.append(
        (429, {"Retry-After": "1"}, lambda_error("global/rate-limited", "Too many requests.", "Slow down."))
    )
    data = listing(inventory(tmp_path, env, CONFIG.format(url=api.url), "--list"))
    assert data["workers"]["hosts"] == ["mcp-w1"]
    assert len(api.requests) == 2
    assert api.requests[1][0] - api.requests[0][0] >= 0.95


def test_a_429_asking_for_too_long_fails_with_the_reason(api, tmp_path, env):
    api.script.append(
        (429, {"Retry-After": "120"}, lambda_error("global/rate-limited", "Too many requests."))
    )
    proc = inventory(tmp_path, env, CONFIG.format(url=api.url), "--list", check=False)
    assert proc.returncode != 0
    assert "global/rate-limited" in proc.stderr and "asks to wait 120s" in proc.stderr
    assert len(api.requests) == 1


def test_an_api_error_shows_lambdas_code_message_and_suggestion(api, tmp_path, env):
    env["LAMBDA_API_KEY"] = "secret_revoked_0000000000000000"
    proc = inventory(tmp_path, env, CONFIG.format(url=api.url), "--list", check=False)
    assert proc.returncode != 0
    error = " ".join(proc.stderr.split())
    assert "global/invalid-api-key" in error
    assert "API key is invalid, expired, or deleted" in error
    assert "Suggestion: Create a new API key and try again." in error
    assert "secret_revoked_0000000000000000" not in proc.stdout + proc.stderr


def test_no_key_is_a_clear_error(api, tmp_path, env):
    del env["LAMBDA_API_KEY"]
    proc = inventory(tmp_path, env, CONFIG.format(url=api.url), "--list", check=False)
    assert proc.returncode != 0
    assert "no API key" in proc.stderr and "LAMBDA_API_KEY" in proc.stderr
    assert api.requests == []


def test_a_vault_encrypted_key_in_the_file(api, tmp_path, env):
    del env["LAMBDA_API_KEY"]
    encrypted = subprocess.run(
        [str(BIN / "ansible-vault"), "encrypt_string", "--stdin-name", "api_key"],
        input=KEY,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert KEY not in encrypted and "$ANSIBLE_VAULT" in encrypted
    text = CONFIG.format(url=api.url) + encrypted
    data = listing(inventory(tmp_path, env, text, "--list"))
    assert data["workers"]["hosts"] == ["mcp-w1"]
    assert api.requests[0][2] == "Bearer " + KEY


def test_the_cache_answers_the_second_run_and_holds_no_secret(api, tmp_path, env):
    cache_dir = tmp_path / "cache"
    text = CONFIG.format(url=api.url) + (
        "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\ncache_timeout: 600\n"
        % cache_dir
    )
    first = listing(inventory(tmp_path, env, text, "--list"))
    assert len(api.requests) == 1
    files = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert files, "the inventory cache wrote nothing"
    stored = "".join(p.read_text() for p in files)
    assert "mcp-w1" in stored
    assert KEY not in stored and JUPYTER_TOKEN not in stored
    # the second run is answered from the cache: the stand-in sees no new request
    second = listing(inventory(tmp_path, env, text, "--list"))
    assert len(api.requests) == 1
    assert second["_meta"]["hostvars"] == first["_meta"]["hostvars"]


def test_verify_file_takes_only_lambda_cloud_yml(api, tmp_path, env):
    source = tmp_path / "hosts.yml"
    source.write_text(CONFIG.format(url=api.url))
    proc = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(source), "--list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode != 0
    assert api.requests == []
