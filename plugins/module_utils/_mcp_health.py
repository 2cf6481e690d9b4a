# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: prove MCP servers are alive by speaking MCP.

Pure Python standard library, no Ansible import, so it runs on any target and pytest
drives it directly. A probe does what a real MCP client does over Streamable HTTP:

* current era (2026-07-28, stateless): ``server/discover`` then ``tools/list``, each a
  self-contained POST whose ``params._meta`` carries the protocol version and client
  capabilities, mirrored in the ``MCP-Protocol-Version`` and ``Mcp-Method`` headers;
* earlier eras (2025-11-25, 2025-06-18, 2025-03-26): ``initialize``, keep the
  ``Mcp-Session-Id``, ``notifications/initialized`` (202), ``tools/list``, ``DELETE``.

The current era is tried first. A JSON-RPC refusal in -32020..-32022 proves a modern
server that refused us (unless it names an earlier era it also speaks); any other HTTP
or JSON-RPC rejection means an earlier-era server, so the probe falls back. A network
failure (refused, reset, timeout) is never taken as an era verdict.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from urllib.parse import urlsplit

MODERN_VERSION = "2026-07-28"
LEGACY_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
REFUSAL_CODES = (-32020, -32021, -32022)
UNSUPPORTED_PROTOCOL_VERSION = -32022

META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

CLIENT_INFO = {"name": "sophia.lambda_swarm.mcp_health", "version": "0.1.0"}
ACCEPT = "application/json, text/event-stream"
MAX_BODY = 8 * 1024 * 1024
MAX_TOOL_PAGES = 50
DEFAULT_CONCURRENCY = 64


class ProbeError(Exception):
    """A failed step. ``legacy_evidence``: the reply says the server is not of the
    current era (so an earlier-era handshake is worth trying)."""

    def __init__(self, step, reason, legacy_evidence=False):
        super(ProbeError, self).__init__("%s: %s" % (step, reason))
        self.step = step
        self.reason = reason
        self.legacy_evidence = legacy_evidence


class Deadline:
    """A point in time; every network operation gets what is left of it."""

    def __init__(self, seconds, clock=time.monotonic):
        self._clock = clock
        self.at = clock() + max(0.0, float(seconds))

    def remaining(self):
        return max(0.0, self.at - self._clock())

    def sooner(self, seconds):
        """A deadline no later than this one, ``seconds`` from now."""
        child = Deadline(0, self._clock)
        child.at = min(self.at, self._clock() + max(0.0, float(seconds)))
        return child


# --- wire helpers (pure) -----------------------------------------------------------


def modern_request(request_id, method, params=None):
    """Body and headers of a current-era request: the envelope rides in ``_meta``."""
    params = dict(params or {})
    params["_meta"] = {
        META_PROTOCOL_VERSION: MODERN_VERSION,
        META_CLIENT_CAPABILITIES: {},
        META_CLIENT_INFO: dict(CLIENT_INFO),
    }
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    headers = {
        "Content-Type": "application/json",
        "Accept": ACCEPT,
        "MCP-Protocol-Version": MODERN_VERSION,
        "Mcp-Method": method,
    }
    return body, headers


def legacy_request(request_id, method, params=None, session_id=None, protocol_version=None):
    """Body and headers of an earlier-era request (``request_id`` None: a notification)."""
    body = {"jsonrpc": "2.0", "method": method}
    if request_id is not None:
        body["id"] = request_id
    if params is not None:
        body["params"] = params
    headers = {"Content-Type": "application/json", "Accept": ACCEPT}
    if session_id:
        headers["Mcp-Session-Id"] = session_id
    if protocol_version:
        headers["MCP-Protocol-Version"] = protocol_version
    return body, headers


def parse_sse(lines):
    """Yield (event, data) from Server-Sent Events lines (str, without or with EOL).

    Follows the event-stream rules: ``data`` lines of one event are joined with
    newlines, comments (``:``) are skipped, a blank line ends an event."""
    event, data = "message", []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _sep, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            event = value or "message"
        elif field == "data":
            data.append(value)
    if data:
        yield event, "\n".join(data)


def pick_response(messages, request_id):
    """The JSON-RPC response for ``request_id`` among decoded messages, or None.

    A lone error whose id is not ours is taken too: servers answer requests they
    reject before reading the id with ``id: null`` (or an id of their own)."""
    responses = [m for m in messages if isinstance(m, dict) and ("result" in m or "error" in m)]
    for message in responses:
        if message.get("id") == request_id:
            return message
    if len(responses) == 1 and "error" in responses[0]:
        return responses[0]
    return None


def describe_rpc_error(error):
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return "JSON-RPC error %s: %s" % (code, message)


def modern_refusal_is_final(error):
    """True when a current-era refusal leaves no earlier era to try: -32020/-32021, or
    -32022 whose ``supported`` list names no earlier-era version we speak."""
    code = error.get("code")
    if code not in REFUSAL_CODES:
        return False
    if code != UNSUPPORTED_PROTOCOL_VERSION:
        return True
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    supported = data.get("supported") or []
    return not any(version in LEGACY_VERSIONS for version in supported)


def check_expected_tools(tools, expect):
    """None when ``tools`` (names) satisfies ``expect`` (a list of names or a minimum
    count), else the reason."""
    if expect is None or expect == []:
        return None
    if isinstance(expect, bool):
        raise ValueError("expect_tools must be a list of tool names or a minimum count")
    if isinstance(expect, int):
        if len(tools) < expect:
            return "%d tool(s) listed, at least %d expected" % (len(tools), expect)
        return None
    missing = [name for name in expect if name not in tools]
    if missing:
        return "missing expected tool(s): %s (listed: %s)" % (
            ", ".join(missing),
            ", ".join(tools) or "none",
        )
    return None


def status_hint(status):
    if status == 421:
        return (
            " (Misdirected Request: the server's DNS-rebinding protection rejects this Host"
            " header; add the address to its allowed hosts, e.g. host='0.0.0.0' in the SDK)"
        )
    if status in (401, 403):
        return " (authentication required: pass a token in the target's headers)"
    if status == 404:
        return " (no MCP endpoint at this path: check the URL, the SDK default is /mcp)"
    return ""


# --- transport ---------------------------------------------------------------------


class Http:
    """One HTTP exchange at a time, each bounded by a deadline."""

    def __init__(self, url, extra_headers=None, ssl_context=None):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL: %s" % url)
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        self.extra_headers = dict(extra_headers or {})
        self.ssl_context = ssl_context

    def _connect(self, deadline):
        timeout = max(deadline.remaining(), 0.001)
        if self.scheme == "https":
            return HTTPSConnection(self.host, self.port, timeout=timeout, context=self.ssl_context)
        return HTTPConnection(self.host, self.port, timeout=timeout)

    def exchange(self, step, method, deadline, body=None, headers=None, request_id=None):
        """Send one request; return (status, headers, message) where message is the
        JSON-RPC response for ``request_id`` (or None when none was expected)."""
        if deadline.remaining() <= 0:
            raise ProbeError(step, "deadline reached before the request was sent")
        all_headers = dict(headers or {})
        all_headers.update(self.extra_headers)
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        conn = self._connect(deadline)
        try:
            try:
                conn.request(method, self.path, body=payload, headers=all_headers)
                conn.sock.settimeout(max(deadline.remaining(), 0.001))
                resp = conn.getresponse()
                status = resp.status
                reply_headers = {k.lower(): v for k, v in resp.getheaders()}
                message = None
                if request_id is not None:
                    message = self._read_message(
                        step, resp, status, reply_headers, request_id, deadline, conn
                    )
                else:
                    resp.read(MAX_BODY)
                return status, reply_headers, message
            except ProbeError:
                raise
            except socket.timeout:
                raise ProbeError(step, "timed out (no answer within the deadline)") from None
            except ConnectionRefusedError:
                raise ProbeError("connect", "connection refused by %s:%s" % (self.host, self.port)) from None
            except ssl.SSLError as exc:
                raise ProbeError("connect", "TLS error: %s" % exc) from None
            except (ConnectionResetError, BrokenPipeError, HTTPException) as exc:
                raise ProbeError(
                    step, "connection closed by the server mid-exchange (%s)" % type(exc).__name__
                ) from None
            except socket.gaierror as exc:
                raise ProbeError("connect", "cannot resolve %s: %s" % (self.host, exc)) from None
            except OSError as exc:
                raise ProbeError("connect", "%s:%s: %s" % (self.host, self.port, exc)) from None
        finally:
            conn.close()

    def _read_message(self, step, resp, status, headers, request_id, deadline, conn):
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "text/event-stream":
            return self._read_sse(step, resp, request_id, deadline, conn)
        raw = resp.read(MAX_BODY)
        if ctype != "application/json":
            raise ProbeError(
                step,
                "HTTP %d with content type %r, not JSON-RPC%s"
                % (status, ctype or "none", status_hint(status)),
                legacy_evidence=True,
            )
        try:
            decoded = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise ProbeError(step, "HTTP %d: body is not valid JSON" % status, legacy_evidence=True) from None
        message = pick_response(decoded if isinstance(decoded, list) else [decoded], request_id)
        if message is None:
            raise ProbeError(step, "HTTP %d: no JSON-RPC response with id %s" % (status, request_id), True)
        return message

    def _read_sse(self, step, resp, request_id, deadline, conn):
        def lines():
            while True:
                conn.sock.settimeout(max(deadline.remaining(), 0.001))
                line = resp.readline(MAX_BODY)
                if not line:
                    return
                yield line.decode("utf-8", "replace")

        for event, data in parse_sse(lines()):
            if event != "message":
                continue
            try:
                decoded = json.loads(data)
            except ValueError:
                continue
            message = pick_response(decoded if isinstance(decoded, list) else [decoded], request_id)
            if message is not None:
                return message
        raise ProbeError(step, "event stream ended before the response to request %s" % request_id)


# --- probes ------------------------------------------------------------------------


def _rpc(http, step, deadline, body, headers):
    status, reply_headers, message = http.exchange(
        step, "POST", deadline, body=body, headers=headers, request_id=body["id"]
    )
    return status, reply_headers, message


def _server_identity(*results):
    for result in results:
        meta = result.get("_meta") if isinstance(result, dict) else None
        info = meta.get(META_SERVER_INFO) if isinstance(meta, dict) else None
        if isinstance(info, dict):
            return info.get("name"), info.get("version")
    return None, None


def _list_tools(http, deadline, make_request):
    """Every tool name, following ``nextCursor`` pages. ``make_request(id, params)``."""
    tools, cursor, result = [], None, {}
    for page in range(MAX_TOOL_PAGES):
        body, headers = make_request(10 + page, {"cursor": cursor} if cursor else None)
        status, _headers, message = _rpc(http, "tools/list", deadline, body, headers)
        if "error" in message:
            raise ProbeError("tools/list", "HTTP %d, %s" % (status, describe_rpc_error(message["error"])))
        result = message.get("result") or {}
        tools.extend(t.get("name") for t in result.get("tools") or [] if isinstance(t, dict))
        cursor = result.get("nextCursor")
        if not cursor:
            return tools, result
    raise ProbeError("tools/list", "more than %d pages of tools" % MAX_TOOL_PAGES)


def probe_modern(http, deadline):
    """Current era. Returns the facts, or raises ProbeError (``legacy_evidence`` set when
    an earlier-era handshake is worth trying)."""
    body, headers = modern_request(1, "server/discover")
    status, _headers, message = _rpc(http, "discover", deadline, body, headers)
    if "error" in message:
        error = message["error"] if isinstance(message["error"], dict) else {}
        reason = "HTTP %d, %s%s" % (status, describe_rpc_error(error), status_hint(status))
        if modern_refusal_is_final(error):
            raise ProbeError("discover", "current-era server refused the probe: " + reason)
        raise ProbeError("discover", reason, legacy_evidence=True)
    discovered = message.get("result") or {}
    versions = discovered.get("supportedVersions") or []
    if MODERN_VERSION not in versions:
        raise ProbeError("discover", "server/discover lists no current-era version (%s)" % versions, True)
    tools, listed = _list_tools(http, deadline, lambda i, p: modern_request(i, "tools/list", p))
    name, version = _server_identity(discovered, listed)
    return {"era": MODERN_VERSION, "protocol_version": MODERN_VERSION, "server_name": name,
            "server_version": version, "tools": tools}  # fmt: skip


def probe_legacy(http, deadline):
    """Earlier eras: the initialize handshake in a session."""
    params = {"protocolVersion": LEGACY_VERSIONS[0], "capabilities": {}, "clientInfo": dict(CLIENT_INFO)}
    body, headers = legacy_request(1, "initialize", params)
    status, reply_headers, message = _rpc(http, "initialize", deadline, body, headers)
    if "error" in message:
        raise ProbeError(
            "initialize",
            "HTTP %d, %s%s" % (status, describe_rpc_error(message["error"]), status_hint(status)),
        )
    result = message.get("result") or {}
    version = result.get("protocolVersion")
    if version not in LEGACY_VERSIONS:
        raise ProbeError(
            "initialize", "server chose protocol version %r, which this probe does not speak" % version
        )
    session = reply_headers.get("mcp-session-id")
    info = result.get("serverInfo") or {}
    try:
        body, headers = legacy_request(None, "notifications/initialized", None, session, version)
        status, _h, _m = http.exchange("initialized", "POST", deadline, body=body, headers=headers)
        if status not in (200, 202, 204):
            raise ProbeError("initialized", "HTTP %d (202 expected)%s" % (status, status_hint(status)))
        tools, _listed = _list_tools(
            http, deadline, lambda i, p: legacy_request(i, "tools/list", p, session, version)
        )
    finally:
        if session:
            _close_session(http, deadline, session, version)
    return {"era": version, "protocol_version": version, "server_name": info.get("name"),
            "server_version": info.get("version"), "tools": tools}  # fmt: skip


def _close_session(http, deadline, session, version):
    """DELETE the session; 405 (the server does not let clients end sessions) is fine.
    Best effort: a failure here does not make a server that answered unhealthy."""
    _body, headers = legacy_request(None, "", None, session, version)
    headers.pop("Content-Type", None)
    with contextlib.suppress(ProbeError):
        http.exchange("close", "DELETE", deadline.sooner(2.0), headers=headers)


def _probe_auto(http, deadline):
    """Current era first; an earlier era when the reply is evidence for one."""
    try:
        return probe_modern(http, deadline)
    except ProbeError as exc:
        if not exc.legacy_evidence:
            raise
        modern_error = exc
    try:
        return probe_legacy(http, deadline)
    except ProbeError as exc:
        if exc.legacy_evidence:  # neither era answered with JSON-RPC: report both replies
            raise ProbeError(
                exc.step, "%s; current-era probe: %s" % (exc.reason, modern_error.reason)
            ) from None
        raise


def probe_mcp(target, deadline, ssl_context=None):
    """``target['era']``: ``auto`` (current era first, then fall back), ``current`` or
    ``legacy`` (only that handshake)."""
    era = target.get("era") or "auto"
    probes = {"auto": _probe_auto, "current": probe_modern, "legacy": probe_legacy}
    if era not in probes:
        raise ValueError("era must be one of auto, current, legacy; got %r" % era)
    facts = probes[era](Http(target["url"], target.get("headers"), ssl_context), deadline)
    problem = check_expected_tools(facts["tools"], target.get("expect_tools"))
    if problem:
        raise ProbeError("expect_tools", problem)
    return facts


def probe_http(target, deadline, ssl_context=None):
    http = Http(target["url"], target.get("headers"), ssl_context)
    status, _headers, _message = http.exchange("http", "GET", deadline)
    expected = target.get("expect_status") or []
    if (expected and status not in expected) or (not expected and status >= 400):
        raise ProbeError("http", "HTTP %d%s" % (status, status_hint(status)))
    return {"http_status": status}


def probe_tcp(target, deadline, ssl_context=None):
    parts = urlsplit(target["url"] if "//" in target["url"] else "tcp://" + target["url"])
    if not parts.hostname or not parts.port:
        raise ValueError("tcp target needs host:port, got %s" % target["url"])
    try:
        sock = socket.create_connection(
            (parts.hostname, parts.port), timeout=max(deadline.remaining(), 0.001)
        )
        sock.close()
    except socket.timeout:
        raise ProbeError("connect", "timed out connecting to %s:%s" % (parts.hostname, parts.port)) from None
    except OSError as exc:
        raise ProbeError("connect", "%s:%s: %s" % (parts.hostname, parts.port, exc)) from None
    return {}


PROBES = {"mcp": probe_mcp, "http": probe_http, "tcp": probe_tcp}


def check_target(target, deadline, retries=2, backoff=0.5, ssl_context=None, sleep=time.sleep):
    """Probe one target with retries inside the deadline. Never raises for a probe
    failure: the result says what failed at which step."""
    kind = target.get("kind") or "mcp"
    result = {"name": target["name"], "url": target["url"], "kind": kind, "ok": False, "era": None,
              "protocol_version": None, "server_name": None, "server_version": None,
              "tool_count": None, "tools": [], "latency_ms": None, "attempts": 0,
              "error": None, "error_step": None}  # fmt: skip
    timeout = float(target.get("timeout") or 10)
    for attempt in range(int(retries) + 1):
        if attempt and deadline.remaining() <= 0:
            break
        result["attempts"] = attempt + 1
        started = time.monotonic()
        try:
            facts = PROBES[kind](target, deadline.sooner(timeout), ssl_context)
        except ProbeError as exc:
            result["error"], result["error_step"] = str(exc), exc.step
            pause = min(backoff * (2**attempt), deadline.remaining())
            if attempt < retries and pause > 0:
                sleep(pause)
            continue
        except ValueError as exc:  # a target that can never work: no retry
            result["error"], result["error_step"] = "target: %s" % exc, "target"
            return result
        result["latency_ms"] = round((time.monotonic() - started) * 1000.0, 1)
        result["ok"], result["error"], result["error_step"] = True, None, None
        tools = facts.pop("tools", None)
        if tools is not None:
            result["tools"], result["tool_count"] = tools, len(tools)
        result.update(facts)
        return result
    return result


def check_all(targets, deadline_s=60.0, retries=2, backoff=0.5, concurrency=None, ssl_context=None):
    """Probe every target concurrently (bounded by ``concurrency``). Returns
    (results in target order, summary)."""
    started = time.monotonic()
    deadline = Deadline(deadline_s)
    workers = max(1, min(len(targets) or 1, int(concurrency or DEFAULT_CONCURRENCY)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(check_target, t, deadline, retries, backoff, ssl_context) for t in targets]
        results = [f.result() for f in futures]
    return results, summarize(results, time.monotonic() - started)


def summarize(results, elapsed_s):
    healthy = [r for r in results if r["ok"]]
    eras = {}
    for r in healthy:
        if r.get("era"):
            eras[r["era"]] = eras.get(r["era"], 0) + 1
    latencies = [r["latency_ms"] for r in healthy if r["latency_ms"] is not None]
    return {
        "total": len(results),
        "healthy": len(healthy),
        "unhealthy": len(results) - len(healthy),
        "by_era": eras,
        "slowest_ms": max(latencies) if latencies else None,
        "elapsed_ms": round(elapsed_s * 1000.0, 1),
        "failing": ["%s: %s" % (r["name"], r["error"]) for r in results if not r["ok"]],
    }


def format_table(results):
    """A table a person reads at a glance: one row per target."""
    header = ("NAME", "OK", "ERA", "TOOLS", "LATENCY", "SERVER / ERROR")
    rows = []
    for r in results:
        if r["ok"]:
            detail = " ".join(x for x in (r.get("server_name") or "", r.get("server_version") or "") if x)
        else:
            detail = r.get("error") or ""
        rows.append((
            r["name"],
            "yes" if r["ok"] else "NO",
            r.get("era") or ("-" if r["kind"] == "mcp" else r["kind"]),
            "-" if r.get("tool_count") is None else str(r["tool_count"]),
            "-" if r.get("latency_ms") is None else "%d ms" % round(r["latency_ms"]),
            detail,
        ))  # fmt: skip
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [str(cell).ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return lines


def main(stdin, stdout):
    """Run as a script where Ansible cannot reach (inside a container on an overlay network):
    reads {"targets": [...], "deadline": s} as JSON on stdin, writes {"results", "summary",
    "table"} as JSON on stdout. Standard library only."""
    request = json.load(stdin)
    targets = []
    for target in request["targets"]:
        full = {"kind": "mcp", "era": "auto", "timeout": 10.0}
        full.update(target)
        targets.append(full)
    results, summary = check_all(targets, deadline_s=float(request.get("deadline", 60)))
    json.dump({"results": results, "summary": summary, "table": format_table(results)}, stdout)
    return 0 if summary["unhealthy"] == 0 else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.stdin, sys.stdout))
