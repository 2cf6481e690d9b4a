"""Table-driven tests of the pure logic behind mcp_health."""

import threading
import time

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

    def flaky(target, deadline, ssl_context, trace):
        calls.append(deadline.remaining())
        if len(calls) < 3:
            raise mh.ProbeError("connect", "connection refused", retry=True)
        return {"era": "2026-07-28", "tools": ["a"]}

    monkeypatch.setitem(mh.PROBES, "mcp", flaky)
    result = mh.check_target(
        {"name": "x", "url": "http://h/mcp"}, mh.Deadline(60), 5, 0.25, None, sleeps.append
    )
    assert result["ok"] and result["attempts"] == 3
    assert sleeps == [0.25, 0.5]
    assert result["tool_count"] == 1 and result["error"] is None
    assert result["seen"] is None and result["advice"] is None


def test_pauses_stop_doubling_at_backoff_max_and_attempts_go_on_to_the_deadline(monkeypatch):
    clock, sleeps = FakeClock(), []

    def sleep(seconds):
        sleeps.append(seconds)
        clock.now += seconds

    def gateway_502(target, deadline, ssl_context, trace):
        raise mh.ProbeError("discover", "HTTP 502", retry=True)

    monkeypatch.setitem(mh.PROBES, "mcp", gateway_502)
    target = {"name": "x", "url": "http://h/mcp"}
    result = mh.check_target(target, mh.Deadline(60, clock), 20, 0.5, None, sleep, backoff_max=10)
    assert sleeps == [0.5, 1, 2, 4, 8, 10, 10, 10, 10]  # the next one would pass the deadline
    assert result["attempts"] == 10 and not result["ok"]
    # unbounded (the module's behaviour before backoff_max): the last attempt at 31.5 s of 60
    clock, sleeps[:] = FakeClock(), []
    result = mh.check_target(target, mh.Deadline(60, clock), 20, 0.5, None, sleep, backoff_max=None)
    assert sleeps == [0.5, 1, 2, 4, 8, 16] and result["attempts"] == 7


def test_retries_give_up_with_the_last_error(monkeypatch):
    def down(target, deadline, ssl_context, trace):
        raise mh.ProbeError("discover", "timed out (no answer within the deadline)", retry=True)

    monkeypatch.setitem(mh.PROBES, "mcp", down)
    result = mh.check_target(
        {"name": "x", "url": "http://h/mcp"}, mh.Deadline(60), 1, 0, None, lambda s: None
    )
    assert not result["ok"] and result["attempts"] == 2
    assert result["error"] == "discover: timed out (no answer within the deadline)"
    assert result["error_step"] == "discover"
    assert "did not finish in time" in result["advice"]


@pytest.mark.parametrize(
    ("error", "attempts"),
    [
        (
            mh.ProbeError(
                "discover", "HTTP 404 with content type 'text/plain', not JSON-RPC", bare_status=404
            ),
            1,
        ),
        (mh.ProbeError("discover", "HTTP 307 redirect to http://o:1/mcp (another origin, not followed)"), 1),
        (mh.ProbeError("expect_tools", "missing expected tool(s): b (listed: a)"), 1),
        (mh.ProbeError("discover", "HTTP 503 ...", retry=True), 3),
        (mh.ProbeError("discover", "HTTP 429 ...", retry=True, retry_after=0.01), 3),
    ],
)
def test_only_what_can_change_is_retried(monkeypatch, error, attempts):
    def fail(target, deadline, ssl_context, trace):
        raise error

    monkeypatch.setitem(mh.PROBES, "mcp", fail)
    result = mh.check_target(
        {"name": "x", "url": "http://h/mcp"}, mh.Deadline(60), 2, 0, None, lambda s: None
    )
    assert result["attempts"] == attempts and not result["ok"]


def test_retry_after_is_waited_for_when_it_fits(monkeypatch):
    sleeps = []

    def busy(target, deadline, ssl_context, trace):
        raise mh.ProbeError("discover", "HTTP 429", retry=True, retry_after=2.0)

    monkeypatch.setitem(mh.PROBES, "mcp", busy)
    mh.check_target({"name": "x", "url": "http://h/mcp"}, mh.Deadline(60), 1, 0.1, None, sleeps.append)
    assert sleeps == [2.0]
    sleeps.clear()  # a Retry-After past the deadline: no wait, no retry
    result = mh.check_target(
        {"name": "x", "url": "http://h/mcp"}, mh.Deadline(1), 1, 0.1, None, sleeps.append
    )
    assert sleeps == [] and result["attempts"] == 1


def test_expect_tools_failure_keeps_the_facts(monkeypatch):
    facts = {"era": "2025-11-25", "protocol_version": "2025-11-25", "server_name": "s", "server_version": "1",
             "tools": ["a"], "transport": "streamable-http", "final_url": "http://h/mcp/"}  # fmt: skip

    def short(target, deadline, ssl_context, trace):
        raise mh.ProbeError("expect_tools", "missing expected tool(s): b (listed: a)", facts=facts)

    monkeypatch.setitem(mh.PROBES, "mcp", short)
    result = mh.check_target({"name": "x", "url": "http://h/mcp"}, mh.Deadline(5), 2, 0)
    assert not result["ok"] and result["attempts"] == 1
    assert result["era"] == "2025-11-25" and result["tools"] == ["a"] and result["tool_count"] == 1
    assert result["server_name"] == "s" and result["final_url"] == "http://h/mcp/"
    assert result["error"] == "expect_tools: missing expected tool(s): b (listed: a)"


def test_an_unexpected_exception_is_that_targets_error_only(monkeypatch):
    def buggy(target, deadline, ssl_context, trace):
        if target["name"] == "bad":
            raise AttributeError("'NoneType' object has no attribute 'settimeout'")
        return {"era": "2026-07-28", "tools": ["a"]}

    monkeypatch.setitem(mh.PROBES, "mcp", buggy)
    targets = [{"name": n, "url": "http://h/mcp"} for n in ("good1", "bad", "good2")]
    results, summary = mh.check_all(targets, deadline_s=5, retries=2)
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error_step"] == "internal" and "AttributeError" in results[1]["error"]
    assert results[1]["attempts"] == 1
    assert summary["healthy"] == 2


def test_a_bad_target_is_not_retried():
    result = mh.check_target({"name": "x", "url": "ftp://h/mcp"}, mh.Deadline(5), 3, 0)
    assert result["attempts"] == 1 and result["error_step"] == "target"
    assert "not an http(s) URL" in result["error"]


def test_check_all_abandons_a_stuck_probe_at_the_deadline(monkeypatch):
    release = threading.Event()

    def stuck(target, deadline, ssl_context, trace):
        if target["name"] == "stuck":
            trace.begin("discover", "POST", target["url"])
            release.wait(30)  # a probe that ignores its deadline (a resolver that hangs)
        return {"era": "2026-07-28", "tools": []}

    monkeypatch.setitem(mh.PROBES, "mcp", stuck)
    started = time.monotonic()
    try:
        results, summary = mh.check_all(
            [{"name": "stuck", "url": "http://h/mcp"}, {"name": "up", "url": "http://u/mcp"}], deadline_s=1
        )
    finally:
        release.set()
    assert time.monotonic() - started < 1 + mh.GRACE_S + 0.5
    assert [r["ok"] for r in results] == [False, True]
    assert results[0]["error"].startswith("discover: deadline of 1.0 s reached while still waiting (POST")
    assert results[0]["seen"]["request"] == "POST http://h/mcp" and results[0]["attempts"] is None
    assert summary["unhealthy"] == 1


def test_queued_targets_get_their_share(monkeypatch):
    budgets = {}

    def hang(target, deadline, ssl_context, trace):
        budgets[target["name"]] = deadline.remaining()
        if target["name"].startswith("hang"):
            time.sleep(deadline.remaining())  # honours its deadline, uses all of it
            raise mh.ProbeError("discover", "timed out", retry=True)
        return {"tools": []}

    monkeypatch.setitem(mh.PROBES, "mcp", hang)
    targets = [{"name": "hang1", "url": "http://h/"}, {"name": "hang2", "url": "http://h/"},
               {"name": "ok", "url": "http://h/"}]  # fmt: skip
    started = time.monotonic()
    results, _summary = mh.check_all(targets, deadline_s=3, retries=0, concurrency=1)
    assert time.monotonic() - started < 3 + mh.GRACE_S
    assert [r["ok"] for r in results] == [False, False, True]
    assert 0.9 < budgets["hang1"] <= 1.01  # 3 s over three rounds
    assert budgets["ok"] >= 0.9


def test_a_target_does_not_start_without_its_minimum_time(monkeypatch):
    def slow(target, deadline, ssl_context, trace):
        time.sleep(deadline.remaining())
        raise mh.ProbeError("discover", "timed out", retry=True)

    monkeypatch.setitem(mh.PROBES, "mcp", slow)
    targets = [{"name": "a%d" % i, "url": "http://h/"} for i in range(3)]
    results, _summary = mh.check_all(targets, deadline_s=1.5, retries=0, concurrency=1)
    assert results[0]["error_step"] == "discover"
    assert results[-1]["error_step"] == "queue"
    assert "not checked: its turn came with" in results[-1]["error"]
    assert "raise deadline or concurrency" in results[-1]["advice"]


def test_a_timeout_longer_than_the_deadline_is_capped(monkeypatch):
    seen = []

    def record(target, deadline, ssl_context, trace):
        seen.append((target["timeout"], deadline.remaining()))
        return {"tools": []}

    monkeypatch.setitem(mh.PROBES, "mcp", record)
    mh.check_all([{"name": "a", "url": "http://h/", "timeout": 300}], deadline_s=2)
    assert seen[0][0] == 2 and seen[0][1] <= 2


def test_check_all_passes_module_defaults_to_targets(monkeypatch):
    seen = []

    def record(target, deadline, ssl_context, trace):
        seen.append((target.get("close_session"), target.get("legacy_sse")))
        return {"tools": []}

    monkeypatch.setitem(mh.PROBES, "mcp", record)
    mh.check_all([{"name": "a", "url": "http://h/"}, {"name": "b", "url": "http://h/", "close_session": True}],
                 deadline_s=2, close_session=False, legacy_sse="report")  # fmt: skip
    assert sorted(seen, key=str) == sorted([(False, "report"), (True, "report")], key=str)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, None), ("", None), ("3", 3.0), (" 120 ", 120.0), ("soon", None),
     ("Thu, 01 Jan 1970 00:01:40 GMT", 40.0), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0)],
)  # fmt: skip
def test_retry_after_seconds(value, seconds):
    assert mh.retry_after_seconds(value, now=60.0) == seconds


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://h:8000/mcp", "http://h:8000/mcp/", True),
        ("http://H/mcp", "http://h:80/x", True),
        ("https://h/mcp", "https://h:443/mcp", True),
        ("http://h:8000/mcp", "http://h:8001/mcp", False),
        ("http://h/mcp", "https://h/mcp", False),
        ("http://h/mcp", "http://evil/mcp", False),
    ],
)
def test_same_origin(a, b, same):
    assert mh.same_origin(a, b) is same


@pytest.mark.parametrize(
    ("status", "jsonrpc", "hint"),
    [
        (404, False, "no MCP endpoint at this path"),
        (404, True, ""),
        (421, True, "DNS-rebinding"),
        (401, False, "authentication required"),
        (200, False, ""),
    ],
)
def test_status_hint(status, jsonrpc, hint):
    text = mh.status_hint(status, jsonrpc)
    assert (hint in text) if hint else text == ""


@pytest.mark.parametrize(
    ("step", "reason", "status", "advice"),
    [
        ("connect", "connection refused by h:1", None, "nothing listens there"),
        ("discover", "timed out (no answer within the deadline: ...)", 200, "did not finish in time"),
        ("discover", "HTTP 502 with content type 'text/html', not JSON-RPC", 502, "gateway or proxy"),
        ("initialize", "HTTP 404 with content type 'text/plain', not JSON-RPC", 404, "/sse"),
        ("initialize", "HTTP 405 ...", 405, "refuses POST"),
        ("discover", "HTTP 200 with content type 'text/html', not JSON-RPC", 200, "something other than"),
        ("tools/list", "HTTP 200, JSON-RPC error -32603: boom", 200, "refused the request"),
        ("target", "not an http(s) URL", None, "fix the target"),
    ],
)
def test_advice_for(step, reason, status, advice):
    assert advice in mh.advice_for(step, reason, status)


def test_trace_shows_body_bytes_or_incomplete_headers():
    trace = mh.Trace()
    trace.begin("discover", "POST", "http://h/mcp")
    trace.got(b"HTTP/1.1 200 OK\r\nContent-Ty")
    assert trace.first_bytes() == "HTTP/1.1 200 OK\r\nContent-Ty"
    trace.got(b"pe: text/plain\r\n\r\n" + b"x" * 200)
    trace.status = 200
    assert trace.first_bytes() == "x" * mh.SNIPPET + "..."
    seen = trace.snapshot()
    assert seen["request"] == "POST http://h/mcp" and seen["bytes"] == trace.received
    assert mh.Trace().snapshot() is None


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
    assert len(lines) == 3  # no seen/do lines when the result has none


def test_format_table_says_what_was_seen_and_what_to_do():
    seen = {"step": "discover", "request": "POST http://h/mcp", "status": 405, "content_type": "text/plain",
            "first_bytes": "Method Not Allowed", "bytes": 150, "elapsed_ms": 3.2}  # fmt: skip
    rows = [{"name": "old", "kind": "mcp", "ok": False, "era": None, "tool_count": None, "latency_ms": None,
             "error": "initialize: HTTP 405", "seen": seen, "advice": "point the target at /mcp"}]  # fmt: skip
    lines = mh.format_table(rows)
    assert lines[1].startswith("old   NO  -    -      -        initialize: HTTP 405")
    indent = " " * lines[0].index("SERVER / ERROR")
    assert lines[2] == (indent + 'seen: POST http://h/mcp -> HTTP 405 text/plain, 150 byte(s),'
                        ' first bytes "Method Not Allowed", after 3 ms')  # fmt: skip
    assert lines[3] == indent + "do: point the target at /mcp"


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
