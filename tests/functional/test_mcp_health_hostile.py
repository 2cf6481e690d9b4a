"""mcp_health against hostile and odd servers on 127.0.0.1 (tests/servers/hostile.py) and
old real SDK servers (mcp 1.9.4: 307 to /mcp/, the legacy HTTP+SSE transport).

All cases are checked in one run with the module's defaults and ``deadline: 10``: that run
must end in under 15 s, and each case's verdict and error are asserted on its result. The
module itself is then run the same way from the command line."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_health import check_all, format_table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "servers"))

from hostile import HostileServers  # noqa: E402

from .conftest import McpServers  # noqa: E402

DEADLINE = 10
LIMIT = 15.0
TOOLS = ["recall", "remember"]

# name: (server, extra target keys, healthy?, substrings of the error, or of final_url when healthy)
CASES = {
    "slow_headers": ("slow_headers", {}, False,
                     ["discover: timed out", "no complete response headers"]),
    "slow_body": ("slow_body", {}, False, ["discover: timed out", "HTTP 200, body incomplete"]),
    "endless_sse_line_chunked": ("endless_sse_line_chunked", {}, False, ["discover: timed out"]),
    "endless_sse_line_plain": ("endless_sse_line_plain", {}, False, ["discover: timed out"]),
    "endless_sse_line_fast": ("endless_sse_line_fast", {}, False, ["discover: reply larger than 8 MiB"]),
    "sse_keepalives": ("sse_keepalives", {}, False,
                       ["discover: timed out", "event stream", "line(s), none the response"]),
    "sse_without_length": ("sse_without_length", {}, True, ["/mcp"]),
    "jsonrpc_empty": ("jsonrpc_empty", {}, False,
                      ["initialize: HTTP 200: no JSON-RPC response with id 1 (body: {})",
                       "current-era probe: HTTP 200: no JSON-RPC response"]),
    "hang": ("hang", {}, False, ["discover: timed out", "0 byte(s) received"]),
    "jsonrpc_404": ("jsonrpc_404", {}, False, ["initialize: HTTP 404, JSON-RPC error -32601: Method not found"]),
    "redirect_other_origin": ("redirect_other_origin", {}, False,
                              ["HTTP 307 redirect to http://127.0.0.1:1/elsewhere/mcp (another origin"]),
    "redirect_loop": ("redirect_loop", {}, False, ["(more than 3 redirects)"]),
    "redirect_308": ("redirect_308_then_mcp", {}, True, ["/v2/mcp"]),
    "http_on_a_stream": ("stream_forever", {"kind": "http"}, True, []),
    "unavailable": ("unavailable", {}, False, ["HTTP 503 with content type 'text/html'"]),
    # real SDK servers
    # a DELETE breaks mcp 1.9.4's stateful session manager (see the test below), so not here
    "mcp19_307_to_slash": ("mcp19-stateful-sse", {"close_session": False, "expect_tools": TOOLS}, True, ["/mcp/"]),
    "mcp19_stateless_json": ("mcp19-stateless-json", {"expect_tools": TOOLS}, True, ["/mcp/"]),
    "mcp2_307_from_slash": ("mcp2-stateless-json/", {"expect_tools": TOOLS}, True, ["/mcp"]),
    "mcp19_legacy_sse": ("mcp19-legacy-sse", {"expect_tools": TOOLS}, True, ["/sse"]),
    "mcp1_legacy_sse": ("mcp1-legacy-sse", {"expect_tools": TOOLS}, True, ["/sse"]),
    "legacy_sse_reported": ("mcp19-legacy-sse", {"legacy_sse": "report"}, False,
                            ["sse: legacy HTTP+SSE transport at http://127.0.0.1:", "/sse (endpoint /messages/",
                             "not probed (legacy_sse: report)"]),
    "legacy_sse_wrong_path": ("mcp19-legacy-sse/mcp", {}, False,
                              ["HTTP 404", "no MCP endpoint at this path"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def hostile_urls():
    servers = HostileServers()
    try:
        yield servers.start()
    finally:
        servers.close()


def _url(server, hostile_urls, mcp_urls, old_mcp_urls):
    if server in hostile_urls:
        return hostile_urls[server]
    if server == "mcp2-stateless-json/":
        return mcp_urls["mcp2-stateless-json"] + "/"
    if server == "mcp19-legacy-sse/mcp":
        return old_mcp_urls["mcp19-legacy-sse"].replace("/sse", "/mcp")
    return old_mcp_urls[server]


def _targets(hostile_urls, mcp_urls, old_mcp_urls):
    return [{"name": name, "url": _url(server, hostile_urls, mcp_urls, old_mcp_urls), "kind": "mcp", "era": "auto",
             "timeout": 10.0, **extra}
            for name, (server, extra, _ok, _texts) in CASES.items()]  # fmt: skip


@pytest.fixture(scope="module")
def run(hostile_urls, mcp_urls, old_mcp_urls):
    """One check of every case at once, with the module's defaults and deadline 10."""
    started = time.monotonic()
    results, summary = check_all(_targets(hostile_urls, mcp_urls, old_mcp_urls), deadline_s=DEADLINE)
    return {r["name"]: r for r in results}, summary, time.monotonic() - started, results


def test_the_whole_run_holds_its_deadline(run):
    _by_name, summary, elapsed, results = run
    assert elapsed < LIMIT
    assert summary["elapsed_ms"] < LIMIT * 1000
    assert [r["name"] for r in results] == list(CASES)
    assert summary["healthy"] == sum(1 for case in CASES.values() if case[2])


@pytest.mark.parametrize("name", list(CASES))
def test_case(run, name):
    by_name, _summary, elapsed, _results = run
    _server, _extra, healthy, texts = CASES[name]
    result = by_name[name]
    assert elapsed < LIMIT
    assert result["ok"] is healthy, result["error"]
    if healthy:
        assert result["error"] is None and result["seen"] is None and result["advice"] is None
        if result["kind"] == "mcp":
            assert result["tool_count"] and result["final_url"].endswith(texts[0])
        return
    for text in texts:
        assert text in result["error"]
    assert result["advice"]
    assert result["seen"] is not None and result["seen"]["request"].split()[0] in ("POST", "GET")


def test_what_was_seen_is_reported(run):
    by_name = run[0]
    seen = by_name["slow_headers"]["seen"]
    assert seen["status"] is None and seen["first_bytes"].startswith("HTTP/1.1 2")
    assert seen["elapsed_ms"] > 5000
    seen = by_name["sse_keepalives"]["seen"]
    assert seen["status"] == 200 and seen["content_type"] == "text/event-stream"
    assert seen["first_bytes"].startswith(": keep-alive")  # un-chunked
    seen = by_name["redirect_other_origin"]["seen"]
    assert seen["status"] == 307 and seen["location"] == "http://127.0.0.1:1/elsewhere/mcp"
    assert (
        by_name["redirect_other_origin"]["advice"]
        == "use http://127.0.0.1:1/elsewhere/mcp as the target's url"
    )
    assert by_name["unavailable"]["seen"]["first_bytes"] == "<html>upstream down</html>"


def test_only_what_can_change_is_retried(run):
    by_name = run[0]
    assert by_name["unavailable"]["attempts"] == 3  # 503 can change
    for name in ("jsonrpc_empty", "jsonrpc_404", "redirect_other_origin", "redirect_loop", "legacy_sse_reported",
                 "legacy_sse_wrong_path", "endless_sse_line_fast"):  # fmt: skip
        assert by_name[name]["attempts"] == 1, name
    # a timeout can change, but the first attempt used all of the time there was
    assert by_name["hang"]["attempts"] == 1


def test_jsonrpc_on_404_gets_no_wrong_path_hint(run):
    result = run[0]["jsonrpc_404"]
    assert "no MCP endpoint" not in result["error"]
    assert "/sse" not in result["advice"]


def test_redirects_and_legacy_transport_facts(run):
    by_name = run[0]
    for name in ("mcp19_307_to_slash", "mcp19_stateless_json"):
        assert by_name[name]["era"] == "2025-03-26" and by_name[name]["transport"] == "streamable-http"
        assert sorted(by_name[name]["tools"]) == TOOLS
    assert by_name["mcp2_307_from_slash"]["era"] == "2026-07-28"
    assert by_name["mcp19_legacy_sse"]["transport"] == "sse"
    assert by_name["mcp19_legacy_sse"]["server_name"] == "v19-legacy-sse"
    assert by_name["mcp1_legacy_sse"]["transport"] == "sse"
    assert by_name["mcp1_legacy_sse"]["era"] in ("2025-11-25", "2025-06-18")
    assert by_name["http_on_a_stream"]["http_status"] == 200
    assert by_name["http_on_a_stream"]["latency_ms"] < 2000  # judged by the status line, body unread
    assert by_name["legacy_sse_wrong_path"]["advice"].endswith("usually listens on /sse)")


def test_the_table_shows_seen_and_do_lines(run):
    lines = format_table(run[3])
    text = "\n".join(lines)
    assert "seen: POST http://127.0.0.1:" in text and "no complete response headers" in text
    assert "do: use http://127.0.0.1:1/elsewhere/mcp as the target's url" in text
    assert sum(1 for line in lines if line.lstrip().startswith("do: ")) == run[1]["unhealthy"]


def test_the_module_returns_every_result_within_the_deadline(hostile_urls, mcp_urls, old_mcp_urls):
    targets = [{k: v for k, v in t.items() if k != "legacy_sse"}
               for t in _targets(hostile_urls, mcp_urls, old_mcp_urls)]  # fmt: skip
    args = {"targets": targets, "deadline": DEADLINE}
    started = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", "-m", "sophia.lambda_swarm.mcp_health",
         "-a", json.dumps(args)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
             "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["failed"] and result["changed"] is False
    assert [r["name"] for r in result["results"]] == list(CASES)
    assert result["summary"]["elapsed_ms"] < LIMIT * 1000
    healthy = {r["name"] for r in result["results"] if r["ok"]}
    expected = {name for name, case in CASES.items() if case[2]} | {
        "legacy_sse_reported"
    }  # legacy_sse: probe
    assert healthy == expected
    assert elapsed < LIMIT + 10  # the module's own run, plus ansible starting up on a busy machine


def test_skipping_delete_keeps_an_mcp19_stateful_server_healthy():
    """Why close_session exists: mcp 1.9.4's session manager fails every later request
    once a client ended a session with DELETE (as the official client does)."""
    servers = McpServers()
    try:
        url = servers.start(19, "--name", "v19-delete")
        servers.wait_all()
        for _check in range(3):
            result = check_all(
                [{"name": "a", "url": url}], deadline_s=DEADLINE, retries=0, close_session=False
            )[0][0]
            assert result["ok"], result["error"]
            assert result["final_url"] == url + "/"
        assert check_all([{"name": "a", "url": url}], deadline_s=DEADLINE, retries=0)[0][0][
            "ok"
        ]  # sends DELETE
        after = check_all([{"name": "a", "url": url}], deadline_s=DEADLINE, retries=0)[0][0]
        assert not after["ok"] and "HTTP 500" in after["error"]  # the server's own bug, not ours
    finally:
        servers.stop()
