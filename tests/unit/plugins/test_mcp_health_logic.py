"""Table-driven tests of the pure logic behind mcp_health."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_health as mh


@pytest.mark.parametrize(
    ("lines", "events"),
    [
        (["event: message\n", 'data: {"id":1}\n', "\n"], [("message", '{"id":1}')]),
        (["data: a\r\n", "data: b\r\n", "\r\n"], [("message", "a\nb")]),  # multi-line data, CRLF
        ([": keep-alive\n", "\n", "data:x\n", "\n"], [("message", "x")]),  # comment, no space
        (
            ["event: endpoint\n", "data: /messages\n", "\n", "data: y\n"],
            [("endpoint", "/messages"), ("message", "y")],
        ),
        (["id: 7\n", "retry: 100\n", "\n"], []),  # no data: no event
    ],
)
def test_parse_sse(lines, events):
    assert list(mh.parse_sse(lines)) == events


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"jsonrpc": "2.0", "id": 1, "result": {}}], 0),
        ([{"jsonrpc": "2.0", "method": "notifications/x"}, {"id": 1, "result": {"a": 1}}], 1),
        ([{"id": 2, "result": {}}], None),  # someone else's result
        ([{"id": None, "error": {"code": -32700}}], 0),  # a lone error with no id is ours
        ([{"id": "server-error", "error": {"code": -32600}}], 0),
        ([{"id": 5, "error": {}}, {"id": 6, "error": {}}], None),  # ambiguous
    ],
)
def test_pick_response(messages, expected):
    picked = mh.pick_response(messages, 1)
    assert picked is (None if expected is None else messages[expected])


@pytest.mark.parametrize(
    ("error", "final"),
    [
        ({"code": -32020, "message": "header mismatch"}, True),
        ({"code": -32021, "message": "missing capability"}, True),
        ({"code": -32022, "data": {"supported": ["2027-01-01"], "requested": "2026-07-28"}}, True),
        ({"code": -32022, "data": {"supported": ["2025-06-18"], "requested": "2026-07-28"}}, False),
        ({"code": -32022}, True),
        ({"code": -32601, "message": "Method not found"}, False),
        ({"code": -32600, "message": "Bad Request: Missing session ID"}, False),
    ],
)
def test_modern_refusal_is_final(error, final):
    assert mh.modern_refusal_is_final(error) is final


@pytest.mark.parametrize(
    ("tools", "expect", "problem"),
    [
        (["a", "b"], None, None),
        (["a", "b"], [], None),
        (["a", "b"], ["a"], None),
        (["a"], ["a", "c"], "missing expected tool(s): c (listed: a)"),
        ([], ["a"], "missing expected tool(s): a (listed: none)"),
        (["a", "b"], 2, None),
        (["a"], 2, "1 tool(s) listed, at least 2 expected"),
    ],
)
def test_check_expected_tools(tools, expect, problem):
    assert mh.check_expected_tools(tools, expect) == problem


def test_expect_tools_rejects_a_boolean():
    with pytest.raises(ValueError, match="expect_tools"):
        mh.check_expected_tools([], True)


def test_modern_request_carries_the_envelope_in_meta_and_headers():
    body, headers = mh.modern_request(3, "tools/list", {"cursor": "c1"})
    assert body["method"] == "tools/list" and body["id"] == 3
    assert body["params"]["cursor"] == "c1"
    meta = body["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    assert meta["io.modelcontextprotocol/clientCapabilities"] == {}
    assert meta["io.modelcontextprotocol/clientInfo"]["name"] == "sophia.lambda_swarm.mcp_health"
    assert headers["MCP-Protocol-Version"] == "2026-07-28"
    assert headers["Mcp-Method"] == "tools/list"
    assert headers["Accept"] == "application/json, text/event-stream"


def test_legacy_notification_has_no_id_and_carries_the_session():
    body, headers = mh.legacy_request(None, "notifications/initialized", None, "sess-1", "2025-06-18")
    assert "id" not in body and "params" not in body
    assert headers["Mcp-Session-Id"] == "sess-1"
    assert headers["MCP-Protocol-Version"] == "2025-06-18"


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_deadline_sooner_never_extends():
    clock = FakeClock()
    deadline = mh.Deadline(5, clock)
    assert deadline.sooner(10).remaining() == 5
    assert deadline.sooner(2).remaining() == 2
    clock.now += 6
    assert deadline.remaining() == 0


def test_retries_back_off_and_stop_at_success(monkeypatch):
    calls, sleeps = [], []

    def flaky(target, deadline, ssl_context):
        calls.append(deadline.remaining())
        if len(calls) < 3:
            raise mh.ProbeError("connect", "connection refused")
        return {"era": "2026-07-28", "tools": ["a"]}

    monkeypatch.setitem(mh.PROBES, "mcp", flaky)
    result = mh.check_target(
        {"name": "x", "url": "http://h/mcp"}, mh.Deadline(60), 5, 0.25, None, sleeps.append
    )
    assert result["ok"] and result["attempts"] == 3
    assert sleeps == [0.25, 0.5]
    assert result["tool_count"] == 1 and result["error"] is None


def test_retries_give_up_with_the_last_error(monkeypatch):
    def down(target, deadline, ssl_context):
        raise mh.ProbeError("discover", "timed out (no answer within the deadline)")

    monkeypatch.setitem(mh.PROBES, "mcp", down)
    result = mh.check_target(
        {"name": "x", "url": "http://h/mcp"}, mh.Deadline(60), 1, 0, None, lambda s: None
    )
    assert not result["ok"] and result["attempts"] == 2
    assert result["error"] == "discover: timed out (no answer within the deadline)"
    assert result["error_step"] == "discover"


def test_a_bad_target_is_not_retried():
    result = mh.check_target({"name": "x", "url": "ftp://h/mcp"}, mh.Deadline(5), 3, 0)
    assert result["attempts"] == 1 and result["error_step"] == "target"
    assert "not an http(s) URL" in result["error"]


def test_format_table_aligns_and_shows_errors():
    rows = [
        {"name": "ai_memory", "kind": "mcp", "ok": True, "era": "2026-07-28", "tool_count": 3,
         "latency_ms": 14.2, "server_name": "ai_memory", "server_version": "0.1.0", "error": None},
        {"name": "gw", "kind": "http", "ok": False, "era": None, "tool_count": None, "latency_ms": None,
         "server_name": None, "server_version": None, "error": "http: HTTP 502"},
    ]  # fmt: skip
    lines = mh.format_table(rows)
    assert lines[0].startswith("NAME       OK   ERA         TOOLS  LATENCY  SERVER / ERROR")
    assert lines[1] == "ai_memory  yes  2026-07-28  3      14 ms    ai_memory 0.1.0"
    assert lines[2] == "gw         NO   http        -      -        http: HTTP 502"


def test_summary_counts_eras_and_failures():
    results = [
        {"name": "a", "ok": True, "era": "2026-07-28", "latency_ms": 10.0, "error": None},
        {"name": "b", "ok": True, "era": "2025-11-25", "latency_ms": 30.0, "error": None},
        {"name": "c", "ok": False, "era": None, "latency_ms": None, "error": "connect: refused"},
    ]
    summary = mh.summarize(results, 0.5)
    assert summary["healthy"] == 2 and summary["unhealthy"] == 1
    assert summary["by_era"] == {"2026-07-28": 1, "2025-11-25": 1}
    assert summary["slowest_ms"] == 30.0 and summary["elapsed_ms"] == 500.0
    assert summary["failing"] == ["c: connect: refused"]
