# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: prove MCP servers are alive by speaking MCP.

Pure Python standard library, no Ansible import, so it runs on any target and pytest
drives it directly. It is also run as a script (and imported beside a collector) as one
file, so it stays one file. A probe does what a real MCP client does:

* Streamable HTTP, current era (2026-07-28, stateless): ``server/discover`` then
  ``tools/list``, each a self-contained POST whose ``params._meta`` carries the protocol
  version and client capabilities, mirrored in ``MCP-Protocol-Version`` and ``Mcp-Method``;
* Streamable HTTP, earlier eras (2025-11-25 back to 2024-11-05): ``initialize``, keep the
  ``Mcp-Session-Id``, ``notifications/initialized`` (202), ``tools/list``, ``DELETE``;
* the legacy HTTP+SSE transport: ``GET`` opens an event stream whose ``endpoint`` event names
  where to POST; the same earlier-era handshake runs with its answers on the stream.

The current era is tried first. A JSON-RPC refusal in -32020..-32022 proves a modern
server that refused us (unless it names an earlier era it also speaks); any other HTTP
or JSON-RPC rejection means an earlier-era server, so the probe falls back. A 404 or 405
without JSON-RPC is followed by one ``GET`` for the legacy transport. A network failure
(refused, reset, timeout) is never taken as an era verdict.

Time: every read and write of an exchange gets only what is left of the attempt's
deadline (a server that trickles bytes cannot stretch it), and ``check_all`` returns at
the run's deadline plus ``GRACE_S`` whatever its workers are doing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import email.utils
import io
import json
import math
import socket
import ssl
import threading
import time
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection
from typing import (
    Any,
    Callable,
    ContextManager,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    TextIO,
    Tuple,
    Union,
)
from urllib.parse import urljoin, urlsplit

MODERN_VERSION = "2026-07-28"
LEGACY_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
REFUSAL_CODES = (-32020, -32021, -32022)
UNSUPPORTED_PROTOCOL_VERSION = -32022

META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

CLIENT_INFO = {"name": "sophia.lambda_swarm.mcp_health", "version": "0.1.0"}
ACCEPT = "application/json, text/event-stream"
MAX_BODY = 8 * 1024 * 1024  # most bytes read from one reply (headers aside)
MAX_HEADER_BYTES = 64 * 1024
MAX_TOOL_PAGES = 50
MAX_REDIRECTS = 3
DEFAULT_CONCURRENCY = 64
MIN_TARGET_S = 1.0  # the least time a target is given (or its timeout, if smaller)
GRACE_S = 0.5  # check_all waits this long past the deadline, then abandons what still runs
SNIPPET = 120  # first bytes of a reply kept for the report
RETRY_STATUSES = (502, 503, 504)
# the longest pause between two attempts: a long deadline keeps being used by attempts
# rather than one late retry (or none, once a doubled pause would pass the deadline)
BACKOFF_MAX = 10.0
LEGACY_SSE_MODES = ("probe", "report")


class ProbeError(Exception):
    """A failed step.

    ``legacy_evidence``: the reply says the server is not of the current era. ``retry``: a
    later attempt may see something else (network trouble, 502/503/504, 429 with
    ``retry_after``). ``bare_status``: the HTTP status of a reply without JSON-RPC in it.
    ``advice``: what the operator should do. ``facts``: what the probe learnt anyway."""

    def __init__(self, step: str, reason: str, legacy_evidence: bool = False, retry: bool = False,
                 retry_after: Optional[float] = None, bare_status: Optional[int] = None,
                 advice: Optional[str] = None, facts: Optional[Dict[str, Any]] = None) -> None:  # fmt: skip
        super(ProbeError, self).__init__("%s: %s" % (step, reason))
        self.step = step
        self.reason = reason
        self.legacy_evidence = legacy_evidence
        self.retry = retry
        self.retry_after = retry_after
        self.bare_status = bare_status
        self.advice = advice
        self.facts = facts


class Deadline:
    """A point in time; every network operation gets what is left of it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.at = clock() + max(0.0, float(seconds))

    def remaining(self) -> float:
        return max(0.0, self.at - self._clock())

    def sooner(self, seconds: float) -> "Deadline":
        """A deadline no later than this one, ``seconds`` from now."""
        child = Deadline(0, self._clock)
        child.at = min(self.at, self._clock() + max(0.0, float(seconds)))
        return child


class Trace:
    """What one target's probe saw in its latest exchange, for the report. Written by the
    probing thread, read by ``check_all`` when it has to abandon the target."""

    def __init__(self) -> None:
        self.step = None  # type: Optional[str]
        self.request = None  # type: Optional[str]
        self.status = None  # type: Optional[int]
        self.content_type = None  # type: Optional[str]
        self.location = None  # type: Optional[str]
        self.wire = b""
        self.received = 0
        self.lines = 0
        self.started = time.monotonic()

    def begin(self, step: str, method: str, url: str) -> None:
        self.step, self.request = step, "%s %s" % (method, url)
        self.status = self.content_type = self.location = None
        self.wire, self.received, self.lines = b"", 0, 0
        self.started = time.monotonic()

    def got(self, data: bytes) -> None:
        self.received += len(data)
        if len(self.wire) < MAX_HEADER_BYTES:
            self.wire += data[: MAX_HEADER_BYTES - len(self.wire)]

    def first_bytes(self) -> str:
        """The first bytes of the body, or of the reply while its headers are incomplete."""
        head, sep, body = self.wire.partition(b"\r\n\r\n")
        if sep and b"transfer-encoding: chunked" in head.lower():
            body = dechunk(body)
        shown = body if sep and self.status is not None else head
        text = shown[:SNIPPET].decode("utf-8", "replace")
        return text + ("..." if len(shown) > SNIPPET else "")

    def snapshot(self) -> Optional[Dict[str, Any]]:
        if self.request is None:
            return None
        elapsed_ms = round((time.monotonic() - self.started) * 1000.0, 1)
        seen = {"step": self.step, "request": self.request, "status": self.status,
                "content_type": self.content_type, "first_bytes": self.first_bytes(),
                "bytes": self.received, "elapsed_ms": elapsed_ms}  # fmt: skip
        if self.location:
            seen["location"] = self.location
        return seen


# --- wire helpers (pure) -----------------------------------------------------------


def dechunk(data: bytes) -> bytes:
    """The payload of the complete chunks at the start of a chunked body (best effort)."""
    out = b""
    for _chunk in range(len(data)):
        size_line, sep, rest = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip() or b"x", 16)
        except ValueError:
            return out
        if not sep or size == 0:
            return out
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def modern_request(
    request_id: int, method: str, params: Optional[Mapping[str, Any]] = None
) -> Tuple[Dict[str, Any], Dict[str, str]]:
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


def legacy_request(
    request_id: Optional[int],
    method: str,
    params: Optional[Mapping[str, Any]] = None,
    session_id: Optional[str] = None,
    protocol_version: Optional[str] = None,
) -> Tuple[Dict[str, Any], Dict[str, str]]:
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


def parse_sse(lines: Iterable[str]) -> Iterator[Tuple[str, str]]:
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


def pick_response(messages: Iterable[Any], request_id: int) -> Optional[Dict[str, Any]]:
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


def describe_rpc_error(error: Any) -> str:
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return "JSON-RPC error %s: %s" % (code, message)


def modern_refusal_is_final(error: Mapping[str, Any]) -> bool:
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


def check_expected_tools(tools: Sequence[str], expect: Union[int, Sequence[str], None]) -> Optional[str]:
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


def status_hint(status: int, jsonrpc: bool = False) -> str:
    """A parenthesised hint for an HTTP status. ``jsonrpc``: the reply carried JSON-RPC,
    so the path does lead to an MCP endpoint (no 404 hint then)."""
    if status == 421:
        return (
            " (Misdirected Request: the server's DNS-rebinding protection rejects this Host"
            " header; add the address to its allowed hosts, e.g. host='0.0.0.0' in the SDK)"
        )
    if status in (401, 403):
        return " (authentication required: pass a token in the target's headers)"
    if status == 404 and not jsonrpc:
        return " (no MCP endpoint at this path: check the URL, the SDK default is /mcp)"
    return ""


def retry_after_seconds(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def same_origin(url_a: str, url_b: str) -> bool:
    a, b = urlsplit(url_a), urlsplit(url_b)
    ports = {"http": 80, "https": 443}
    return (a.scheme, (a.hostname or "").lower(), a.port or ports.get(a.scheme)) == (
        b.scheme, (b.hostname or "").lower(), b.port or ports.get(b.scheme))  # fmt: skip


def advice_for(step: Optional[str], reason: str, status: Optional[int]) -> str:
    """What an operator should do about a failure (when the raiser gave no advice)."""
    text = reason.lower()
    if step == "target":
        return "fix the target in the inventory (url, kind, era)"
    if "connection refused" in text:
        return "nothing listens there: check that the service runs and the port is right"
    if "cannot resolve" in text:
        return "the name does not resolve from this host: check the service name and network"
    if "tls" in text:
        return "check the certificate chain (ca_path) or validate_certs"
    if "timed out" in text or "deadline" in text:
        return ("the server accepted but did not finish in time: check its logs and load, or raise the"
                " target's timeout and the deadline")  # fmt: skip
    if "closed by the server" in text:
        return "the server or a proxy dropped the connection: check its logs (crash, restart, idle timeout)"
    if status in RETRY_STATUSES:
        return "a gateway or proxy cannot reach the server behind it: check the upstream service"
    if status == 421:
        return "add this address to the server's allowed hosts (DNS-rebinding protection)"
    if status in (401, 403):
        return "give the target an Authorization header the server accepts"
    if status == 404:
        return ("fix the URL's path (the SDK default is /mcp; a legacy HTTP+SSE server usually"
                " listens on /sse)")  # fmt: skip
    if status == 405:
        return "this URL refuses POST: point the target at the server's MCP endpoint"
    if status == 429:
        return "the server is rate limiting: check less often or raise its limit"
    if "larger than" in text:
        return "the reply never ends or is far too large: check what the server sends at this URL"
    if "not json-rpc" in text or "not valid json" in text or "no json-rpc response" in text:
        return "something other than an MCP server answered: check the URL and the gateway's route"
    if "json-rpc error" in text:
        return "the server refused the request: read its error message and its logs"
    return "compare the server with what an MCP client expects: read the reply seen and the server's logs"


# --- transport: every read and write bounded by the deadline ------------------------


class _BoundedSocket:
    """A connected socket whose every send and receive gets only what is left of
    ``deadline``; what it receives is recorded in ``trace``. Closing waits for the files
    made from it (as ``socket.socket`` does), so a response read to the end of the
    connection keeps working after ``http.client`` lets go of the connection."""

    def __init__(self, sock: socket.socket, deadline: Deadline, trace: Trace) -> None:
        self._sock = sock
        self.deadline = deadline
        self._trace = trace
        self._files = 0
        self._closed = False

    def _arm(self) -> None:
        left = self.deadline.remaining()
        if left <= 0:
            raise socket.timeout("deadline reached")
        self._sock.settimeout(left)

    def recv_into(self, buffer: Union[bytearray, memoryview], nbytes: int = 0) -> int:
        self._arm()
        count = self._sock.recv_into(buffer, nbytes)
        if count:
            self._trace.got(bytes(memoryview(buffer)[:count]))
            if self._trace.received > MAX_BODY + MAX_HEADER_BYTES:
                raise ProbeError(self._trace.step or "read", "reply larger than %d MiB" % (MAX_BODY >> 20))
        return count

    def sendall(self, data: bytes, *args: Any) -> None:
        self._arm()
        return self._sock.sendall(data, *args)

    def makefile(
        self, mode: str = "rb", buffering: Optional[int] = None, **_kwargs: Any
    ) -> io.BufferedReader:
        self._files += 1
        return io.BufferedReader(_BoundedReader(self))

    def release(self) -> None:
        self._files -= 1
        if self._closed and self._files <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if self._files <= 0:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _BoundedReader(io.RawIOBase):
    def __init__(self, sock: _BoundedSocket) -> None:
        super(_BoundedReader, self).__init__()
        self._bounded = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Union[bytearray, memoryview]) -> int:
        return self._bounded.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._bounded.release()
        super(_BoundedReader, self).close()


class _BoundedMixin:
    bounded_deadline = None  # type: Optional[Deadline]
    bounded_trace = None  # type: Optional[Trace]

    def connect(self) -> None:
        super(_BoundedMixin, self).connect()  # type: ignore[misc]
        self.sock = _BoundedSocket(self.sock, self.bounded_deadline, self.bounded_trace)


class _Connection(_BoundedMixin, HTTPConnection):
    pass


class _TlsConnection(_BoundedMixin, HTTPSConnection):
    pass


class Reply:
    """One response with its connection; the caller reads it and closes it."""

    def __init__(self, conn: HTTPConnection, sock: Optional[_BoundedSocket], resp: HTTPResponse) -> None:
        self.conn, self.sock, self.resp = conn, sock, resp
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.getheaders()}
        self.ctype = self.headers.get("content-type", "").split(";")[0].strip().lower()

    def peek(self, seconds: float = 0.5) -> None:
        """Read a few body bytes (for the report), waiting at most ``seconds``."""
        if self.sock is not None:
            self.sock.deadline = self.sock.deadline.sooner(seconds)
        with contextlib.suppress(Exception):
            self.resp.read1(SNIPPET) if hasattr(self.resp, "read1") else self.resp.read(SNIPPET)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.resp.close()
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self) -> "Reply":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@contextlib.contextmanager
def network_errors(step: str, host: str, port: int, trace: Trace) -> Iterator[None]:
    """Turn what a socket or ``http.client`` raises into a ProbeError of ``step``."""
    try:
        yield
    except ProbeError:
        raise
    except socket.timeout:
        if trace.status is None:
            seen = "no complete response headers, %d byte(s) received" % trace.received
        elif trace.lines:
            seen = "HTTP %d event stream, %d line(s), none the response" % (trace.status, trace.lines)
        else:
            seen = "HTTP %d, body incomplete after %d byte(s)" % (trace.status, trace.received)
        raise ProbeError(step, "timed out (no answer within the deadline: %s)" % seen, retry=True) from None
    except ConnectionRefusedError:
        raise ProbeError("connect", "connection refused by %s:%s" % (host, port), retry=True) from None
    except ssl.SSLError as exc:
        raise ProbeError("connect", "TLS error: %s" % exc) from None
    except (ConnectionResetError, BrokenPipeError, HTTPException) as exc:
        raise ProbeError(
            step, "connection closed by the server mid-exchange (%s)" % type(exc).__name__, retry=True
        ) from None
    except socket.gaierror as exc:
        raise ProbeError("connect", "cannot resolve %s: %s" % (host, exc), retry=True) from None
    except OSError as exc:
        raise ProbeError("connect", "%s:%s: %s" % (host, port, exc), retry=True) from None


class Http:
    """HTTP exchanges with one endpoint, each bounded by a deadline. Same-origin 307/308
    are followed and stick: later requests go to where the server moved us (``url``)."""

    def __init__(self, url: str, extra_headers: Optional[Dict[str, str]] = None,
                 ssl_context: Optional[ssl.SSLContext] = None,
                 trace: Optional[Trace] = None) -> None:  # fmt: skip
        self.extra_headers = dict(extra_headers or {})
        self.ssl_context = ssl_context
        self.trace = trace if trace is not None else Trace()
        self.url = url
        self._move(url)

    def _move(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL: %s" % url)
        self.url, self.scheme, self.host = url, parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = (parts.path or "/") + ("?" + parts.query if parts.query else "")

    def errors(self, step: str) -> ContextManager[None]:
        return network_errors(step, self.host, self.port, self.trace)

    def _send(
        self, step: str, method: str, deadline: Deadline, payload: Optional[bytes], headers: Dict[str, str]
    ) -> Reply:
        if deadline.remaining() <= 0:
            raise ProbeError(step, "deadline reached before the request was sent")
        self.trace.begin(step, method, self.url)
        timeout = max(deadline.remaining(), 0.001)
        if self.scheme == "https":
            conn = _TlsConnection(self.host, self.port, timeout=timeout, context=self.ssl_context)
        else:
            conn = _Connection(self.host, self.port, timeout=timeout)
        conn.bounded_deadline, conn.bounded_trace = deadline, self.trace
        try:
            with self.errors(step):
                conn.request(method, self.path, body=payload, headers=headers)
                sock = conn.sock
                resp = conn.getresponse()
                reply = Reply(conn, sock, resp)
        except BaseException:
            conn.close()
            raise
        self.trace.status, self.trace.content_type = reply.status, reply.ctype or None
        self.trace.location = reply.headers.get("location")
        return reply

    def open(self, step: str, method: str, deadline: Deadline, body: Any = None,
             headers: Optional[Dict[str, str]] = None, follow: bool = True) -> Reply:  # fmt: skip
        """Send a request; return the reply once its headers are in. ``follow``: take
        same-origin 307/308 (at most MAX_REDIRECTS); any other redirect is an error."""
        all_headers = dict(headers or {})
        all_headers.update(self.extra_headers)
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        for hop in range(MAX_REDIRECTS + 1):
            reply = self._send(step, method, deadline, payload, all_headers)
            if not follow or reply.status not in (301, 302, 303, 307, 308):
                return reply
            reply.close()
            location = reply.headers.get("location")
            if not location:
                raise ProbeError(step, "HTTP %d redirect without a Location header" % reply.status,
                                 advice="fix the server or the proxy in front of it")  # fmt: skip
            moved = urljoin(self.url, location)
            why = None
            if reply.status not in (307, 308):
                why = "a %s would become a GET, not followed" % method
            elif not same_origin(self.url, moved):
                why = "another origin, not followed"
            elif hop == MAX_REDIRECTS:
                why = "more than %d redirects" % MAX_REDIRECTS
            if why:
                raise ProbeError(step, "HTTP %d redirect to %s (%s)" % (reply.status, moved, why),
                                 advice="use %s as the target's url" % moved)  # fmt: skip
            self._move(moved)
        raise AssertionError("unreachable")  # pragma: no cover

    def read_message(self, step: str, reply: Reply, request_id: int) -> Dict[str, Any]:
        """The JSON-RPC response for ``request_id`` in a JSON or event-stream reply."""
        status = reply.status
        retry, retry_after = status in RETRY_STATUSES, None
        if status == 429:
            retry_after = retry_after_seconds(reply.headers.get("retry-after"))
            retry = retry_after is not None
        with self.errors(step):
            if reply.ctype == "text/event-stream":
                return self.await_response(step, self.events(reply), request_id)
            raw = reply.resp.read(MAX_BODY) if reply.ctype == "application/json" else b""
            if not raw:
                reply.peek()
        if reply.ctype != "application/json":
            raise ProbeError(step, "HTTP %d with content type %r, not JSON-RPC%s"
                             % (status, reply.ctype or "none", status_hint(status)), legacy_evidence=True,
                             retry=retry, retry_after=retry_after, bare_status=status)  # fmt: skip
        try:
            decoded = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise ProbeError(step, "HTTP %d: body is not valid JSON%s" % (status, status_hint(status)),
                             legacy_evidence=True, retry=retry, retry_after=retry_after,
                             bare_status=status) from None  # fmt: skip
        message = pick_response(decoded if isinstance(decoded, list) else [decoded], request_id)
        if message is None:
            shown = raw[:SNIPPET].decode("utf-8", "replace")
            raise ProbeError(step, "HTTP %d: no JSON-RPC response with id %s (body: %s)"
                             % (status, request_id, shown),
                             legacy_evidence=True, retry=retry, retry_after=retry_after,
                             bare_status=status if status >= 400 else None)  # fmt: skip
        return message

    def events(self, reply: Reply) -> Iterator[Tuple[str, str]]:
        """(event, data) pairs of an event-stream reply, read through the response."""

        def lines() -> Iterator[str]:
            while True:
                line = reply.resp.readline(MAX_BODY)
                if not line:
                    return
                self.trace.lines += 1
                yield line.decode("utf-8", "replace")

        return parse_sse(lines())

    def await_response(self, step: str, events: Iterator[Tuple[str, str]], request_id: int) -> Dict[str, Any]:
        for event, data in events:
            if event != "message":
                continue
            try:
                decoded = json.loads(data)
            except ValueError:
                continue
            message = pick_response(decoded if isinstance(decoded, list) else [decoded], request_id)
            if message is not None:
                return message
        raise ProbeError(step, "event stream ended before the response to request %s (%d line(s) received)"
                         % (request_id, self.trace.lines))  # fmt: skip


# --- channels: where a handshake's requests go and its answers come from -------------


class StreamableChannel:
    """Streamable HTTP: each request a POST whose reply (JSON or SSE) holds the answer."""

    transport = "streamable-http"

    def __init__(self, http: Http) -> None:
        self.http = http

    def call(
        self, step: str, deadline: Deadline, body: Dict[str, Any], headers: Dict[str, str]
    ) -> Tuple[int, Dict[str, str], Dict[str, Any]]:
        with self.http.open(step, "POST", deadline, body=body, headers=headers) as reply:
            return reply.status, reply.headers, self.http.read_message(step, reply, body["id"])

    def notify(self, step: str, deadline: Deadline, body: Dict[str, Any], headers: Dict[str, str]) -> int:
        with self.http.open(step, "POST", deadline, body=body, headers=headers) as reply:
            if reply.status >= 300:
                reply.peek()
            return reply.status

    def close(self, deadline: Deadline, session: Optional[str], version: Optional[str]) -> None:
        """DELETE the session; 405 (the server does not let clients end sessions) is fine.
        Best effort: a failure here does not make a server that answered unhealthy."""
        if not session:
            return
        _body, headers = legacy_request(None, "", None, session, version)
        headers.pop("Content-Type", None)
        with contextlib.suppress(ProbeError), self.http.open("close", "DELETE", deadline.sooner(2.0),
                                                             headers=headers):  # fmt: skip
            pass


class SseChannel:
    """The legacy HTTP+SSE transport: POSTs to the announced endpoint (202), answers on
    the event stream that announced it. Closing the stream ends the session."""

    transport = "sse"

    def __init__(self, post: Http, stream: Http, events: Iterator[Tuple[str, str]]) -> None:
        self.post, self.stream, self.events = post, stream, events

    def _post(self, step: str, deadline: Deadline, body: Dict[str, Any], headers: Dict[str, str]) -> int:
        with self.post.open(step, "POST", deadline, body=body, headers=headers) as reply:
            if reply.status not in (200, 202, 204):
                with self.post.errors(step):
                    reply.peek()
                raise ProbeError(step, "HTTP %d from the message endpoint %s (202 expected)%s"
                                 % (reply.status, self.post.url, status_hint(reply.status)),
                                 bare_status=reply.status)  # fmt: skip
            return reply.status

    def call(
        self, step: str, deadline: Deadline, body: Dict[str, Any], headers: Dict[str, str]
    ) -> Tuple[int, Dict[str, str], Dict[str, Any]]:
        status = self._post(step, deadline, body, headers)
        with self.stream.errors(step):
            return status, {}, self.stream.await_response(step, self.events, body["id"])

    def notify(self, step: str, deadline: Deadline, body: Dict[str, Any], headers: Dict[str, str]) -> int:
        return self._post(step, deadline, body, headers)

    def close(self, deadline: Deadline, session: Optional[str], version: Optional[str]) -> None:
        return None


# --- probes ------------------------------------------------------------------------


def _server_identity(*results: Any) -> Tuple[Any, Any]:
    for result in results:
        meta = result.get("_meta") if isinstance(result, dict) else None
        info = meta.get(META_SERVER_INFO) if isinstance(meta, dict) else None
        if isinstance(info, dict):
            return info.get("name"), info.get("version")
    return None, None


def _rpc_failure(step: str, status: int, error: Any, prefix: str = "") -> ProbeError:
    """A JSON-RPC error answer as a ProbeError (no 404 hint: the path is an MCP endpoint)."""
    return ProbeError(step, "%sHTTP %d, %s%s" % (prefix, status, describe_rpc_error(error),
                                                 status_hint(status, jsonrpc=True)),
                      retry=status in RETRY_STATUSES,
                      advice="the MCP server answered with an error: read it and its logs")  # fmt: skip


def _list_tools(
    channel: Union[StreamableChannel, SseChannel],
    deadline: Deadline,
    make_request: Callable[[int, Optional[Dict[str, Any]]], Tuple[Dict[str, Any], Dict[str, str]]],
) -> Tuple[List[Any], Dict[str, Any]]:
    """Every tool name, following ``nextCursor`` pages. ``make_request(id, params)``."""
    tools, cursor, result = [], None, {}
    for page in range(MAX_TOOL_PAGES):
        body, headers = make_request(10 + page, {"cursor": cursor} if cursor else None)
        status, _headers, message = channel.call("tools/list", deadline, body, headers)
        if "error" in message:
            raise _rpc_failure("tools/list", status, message["error"])
        result = message.get("result") or {}
        tools.extend(t.get("name") for t in result.get("tools") or [] if isinstance(t, dict))
        cursor = result.get("nextCursor")
        if not cursor:
            return tools, result
    raise ProbeError("tools/list", "more than %d pages of tools" % MAX_TOOL_PAGES)


def probe_modern(http: Http, deadline: Deadline, close_session: bool = True) -> Dict[str, Any]:
    """Current era. Returns the facts, or raises ProbeError (``legacy_evidence`` set when
    an earlier-era handshake is worth trying)."""
    channel = StreamableChannel(http)
    body, headers = modern_request(1, "server/discover")
    status, _headers, message = channel.call("discover", deadline, body, headers)
    if "error" in message:
        error = message["error"] if isinstance(message["error"], dict) else {}
        if modern_refusal_is_final(error):
            raise _rpc_failure("discover", status, error, "current-era server refused the probe: ")
        failure = _rpc_failure("discover", status, error)
        failure.legacy_evidence = True
        raise failure
    discovered = message.get("result") or {}
    versions = discovered.get("supportedVersions") or []
    if MODERN_VERSION not in versions:
        raise ProbeError("discover", "server/discover lists no current-era version (%s)" % versions, True)
    tools, listed = _list_tools(channel, deadline, lambda i, p: modern_request(i, "tools/list", p))
    name, version = _server_identity(discovered, listed)
    return {"era": MODERN_VERSION, "protocol_version": MODERN_VERSION, "server_name": name,
            "server_version": version, "tools": tools, "transport": channel.transport}  # fmt: skip


def probe_legacy(
    http: Http,
    deadline: Deadline,
    close_session: bool = True,
    channel: Optional[Union[StreamableChannel, SseChannel]] = None,
) -> Dict[str, Any]:
    """Earlier eras: the initialize handshake in a session, over Streamable HTTP (``http``)
    or over ``channel``. ``close_session``: DELETE the session at the end."""
    channel = channel or StreamableChannel(http)
    params = {"protocolVersion": LEGACY_VERSIONS[0], "capabilities": {}, "clientInfo": dict(CLIENT_INFO)}
    body, headers = legacy_request(1, "initialize", params)
    status, reply_headers, message = channel.call("initialize", deadline, body, headers)
    if "error" in message:
        raise _rpc_failure("initialize", status, message["error"])
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
        status = channel.notify("initialized", deadline, body, headers)
        if status not in (200, 202, 204):
            raise ProbeError("initialized", "HTTP %d (202 expected)%s" % (status, status_hint(status)),
                             retry=status in RETRY_STATUSES)  # fmt: skip
        tools, _listed = _list_tools(
            channel, deadline, lambda i, p: legacy_request(i, "tools/list", p, session, version)
        )
    finally:
        if close_session:
            channel.close(deadline, session, version)
    return {"era": version, "protocol_version": version, "server_name": info.get("name"),
            "server_version": info.get("version"), "tools": tools,
            "transport": channel.transport}  # fmt: skip


def _probe_auto(http: Http, deadline: Deadline, close_session: bool = True) -> Dict[str, Any]:
    """Current era first; an earlier era when the reply is evidence for one."""
    try:
        return probe_modern(http, deadline)
    except ProbeError as exc:
        if not exc.legacy_evidence:
            raise
        modern_error = exc
    try:
        return probe_legacy(http, deadline, close_session)
    except ProbeError as exc:
        if exc.legacy_evidence:  # neither era answered with JSON-RPC: report both replies
            raise ProbeError(
                exc.step, "%s; current-era probe: %s" % (exc.reason, modern_error.reason),
                retry=exc.retry and modern_error.retry, retry_after=exc.retry_after,
                bare_status=exc.bare_status if exc.bare_status == modern_error.bare_status else None,
            ) from None  # fmt: skip
        raise


def probe_sse_transport(
    http: Http, deadline: Deadline, era: str, mode: str, close_session: bool = True
) -> Optional[Dict[str, Any]]:
    """One GET for the legacy HTTP+SSE transport. None when the reply is not an event
    stream announcing an endpoint; else the facts of its handshake (``mode`` probe) or a
    ProbeError naming the transport (``mode`` report, or ``era`` current)."""
    stream = Http(http.url, http.extra_headers, http.ssl_context, http.trace)
    try:
        reply = stream.open("sse", "GET", deadline, headers={"Accept": "text/event-stream"})
    except ProbeError:
        return None
    with reply:
        if reply.status != 200 or reply.ctype != "text/event-stream":
            return None
        events = stream.events(reply)
        try:
            with stream.errors("sse"):
                endpoint = next((data for event, data in events if event == "endpoint"), None)
        except ProbeError:
            return None
        if not endpoint:
            return None
        endpoint_url = urljoin(stream.url, endpoint.strip())
        found = "legacy HTTP+SSE transport at %s (endpoint %s)" % (stream.url, endpoint.strip())
        if era == "current":
            raise ProbeError("sse", found + ", which speaks only earlier eras",
                             advice="set the target's era to auto or legacy")  # fmt: skip
        if mode == "report":
            raise ProbeError("sse", found + ", not probed (legacy_sse: report)",
                             advice="move the server to Streamable HTTP, or set legacy_sse: probe"
                             " to check it")  # fmt: skip
        if not same_origin(stream.url, endpoint_url):
            raise ProbeError("sse", found + ": the endpoint is on another origin, not followed",
                             advice="check the server's announced message path")  # fmt: skip
        post = Http(endpoint_url, http.extra_headers, http.ssl_context, http.trace)
        facts = probe_legacy(post, deadline, close_session, SseChannel(post, stream, events))
        http.url = stream.url
        return facts


def probe_mcp(
    target: Dict[str, Any],
    deadline: Deadline,
    ssl_context: Optional[ssl.SSLContext] = None,
    trace: Optional[Trace] = None,
) -> Dict[str, Any]:
    """``target['era']``: ``auto`` (current era first, then fall back), ``current`` or
    ``legacy`` (only that handshake). ``close_session`` (default true) and ``legacy_sse``
    (``probe``, the default, or ``report``) as the module documents."""
    era = target.get("era") or "auto"
    probes = {"auto": _probe_auto, "current": probe_modern, "legacy": probe_legacy}
    if era not in probes:
        raise ValueError("era must be one of auto, current, legacy; got %r" % era)
    mode = target.get("legacy_sse") or "probe"
    if mode not in LEGACY_SSE_MODES:
        raise ValueError("legacy_sse must be one of %s; got %r" % (", ".join(LEGACY_SSE_MODES), mode))
    close_session = target.get("close_session", True) is not False
    http = Http(target["url"], target.get("headers"), ssl_context, trace)
    try:
        facts = probes[era](http, deadline, close_session)
    except ProbeError as exc:
        if exc.bare_status not in (404, 405) or deadline.remaining() <= 0:
            raise
        facts = probe_sse_transport(http, deadline, era, mode, close_session)
        if facts is None:
            raise exc from None
    facts["final_url"] = http.url
    problem = check_expected_tools(facts["tools"], target.get("expect_tools"))
    if problem:
        raise ProbeError("expect_tools", problem, facts=facts,
                         advice="deploy the server build that has these tools, or correct"
                         " expect_tools")  # fmt: skip
    return facts


def probe_http(
    target: Dict[str, Any],
    deadline: Deadline,
    ssl_context: Optional[ssl.SSLContext] = None,
    trace: Optional[Trace] = None,
) -> Dict[str, Any]:
    """Judge the status line and headers of a GET; the body is not read (it may be a
    stream that never ends)."""
    http = Http(target["url"], target.get("headers"), ssl_context, trace)
    with http.open("http", "GET", deadline, follow=False) as reply:
        status = reply.status
        expected = target.get("expect_status") or []
        if (expected and status not in expected) or (not expected and status >= 400):
            with http.errors("http"):
                reply.peek()
            where = " to %s" % reply.headers["location"] if "location" in reply.headers else ""
            retry_after = retry_after_seconds(reply.headers.get("retry-after")) if status == 429 else None
            raise ProbeError("http", "HTTP %d%s%s" % (status, where, status_hint(status)),
                             retry=status in RETRY_STATUSES or retry_after is not None,
                             retry_after=retry_after, bare_status=status)  # fmt: skip
        return {"http_status": status}


def probe_tcp(
    target: Dict[str, Any],
    deadline: Deadline,
    ssl_context: Optional[ssl.SSLContext] = None,
    trace: Optional[Trace] = None,
) -> Dict[str, Any]:
    parts = urlsplit(target["url"] if "//" in target["url"] else "tcp://" + target["url"])
    if not parts.hostname or not parts.port:
        raise ValueError("tcp target needs host:port, got %s" % target["url"])
    if trace is not None:
        trace.begin("connect", "TCP", "%s:%s" % (parts.hostname, parts.port))
    try:
        sock = socket.create_connection(
            (parts.hostname, parts.port), timeout=max(deadline.remaining(), 0.001)
        )
        sock.close()
    except socket.timeout:
        raise ProbeError("connect", "timed out connecting to %s:%s" % (parts.hostname, parts.port),
                         retry=True) from None  # fmt: skip
    except OSError as exc:
        raise ProbeError("connect", "%s:%s: %s" % (parts.hostname, parts.port, exc), retry=True) from None
    return {}


PROBES = {"mcp": probe_mcp, "http": probe_http, "tcp": probe_tcp}


# --- one target, then all of them -----------------------------------------------------


def new_result(target: Dict[str, Any]) -> Dict[str, Any]:
    return {"name": target["name"], "url": target["url"], "kind": target.get("kind") or "mcp", "ok": False,
            "era": None, "protocol_version": None, "server_name": None, "server_version": None,
            "tool_count": None, "tools": [], "latency_ms": None, "attempts": 0, "error": None,
            "error_step": None, "final_url": None, "transport": None, "seen": None,
            "advice": None}  # fmt: skip


def _record_facts(result: Dict[str, Any], facts: Dict[str, Any]) -> None:
    facts = dict(facts)
    tools = facts.pop("tools", None)
    if tools is not None:
        result["tools"], result["tool_count"] = tools, len(tools)
    result.update(facts)


def _record_failure(
    result: Dict[str, Any],
    step: str,
    reason: str,
    advice: Optional[str] = None,
    seen: Optional[Dict[str, Any]] = None,
    status: Optional[int] = None,
) -> None:
    result["ok"], result["error"], result["error_step"] = False, "%s: %s" % (step, reason), step
    result["seen"] = seen
    if status is None and seen:
        status = seen.get("status")
    result["advice"] = advice or advice_for(step, reason, status)


def check_target(
    target: Dict[str, Any],
    deadline: Deadline,
    retries: int = 2,
    backoff: float = 0.5,
    ssl_context: Optional[ssl.SSLContext] = None,
    sleep: Callable[[float], None] = time.sleep,
    trace: Optional[Trace] = None,
    backoff_max: Optional[float] = BACKOFF_MAX,
) -> Dict[str, Any]:
    """Probe one target with retries inside the deadline; each attempt gets at most the
    target's ``timeout``. Only failures that can change (``ProbeError.retry``) are tried
    again, after ``backoff`` seconds doubled each time up to ``backoff_max`` (None: no
    bound; a Retry-After is waited for in full). Never raises: the result says what failed,
    at which step, what was seen."""
    kind = target.get("kind") or "mcp"
    result = new_result(target)
    trace = trace if trace is not None else Trace()
    timeout = float(target.get("timeout") or 10)
    for attempt in range(int(retries) + 1):
        if attempt and deadline.remaining() <= 0:
            break
        result["attempts"] = attempt + 1
        started = time.monotonic()
        try:
            if kind not in PROBES:
                raise ValueError("kind must be one of %s; got %r" % (", ".join(PROBES), kind))
            facts = PROBES[kind](target, deadline.sooner(timeout), ssl_context, trace)
        except ProbeError as exc:
            seen = None if exc.step == "expect_tools" else trace.snapshot()
            _record_failure(result, exc.step, exc.reason, exc.advice, seen, exc.bare_status)
            if exc.facts:
                _record_facts(result, exc.facts)
                result["latency_ms"] = round((time.monotonic() - started) * 1000.0, 1)
            pause = backoff * (2**attempt)
            if backoff_max is not None:
                pause = min(pause, backoff_max)
            if exc.retry_after is not None:
                pause = max(pause, exc.retry_after)
            if not exc.retry or attempt >= retries or pause >= deadline.remaining():
                break
            sleep(pause)
            continue
        except ValueError as exc:  # a target that can never work: no retry
            _record_failure(result, "target", str(exc))
            result["error"] = "target: %s" % exc
            break
        except Exception as exc:  # a bug or a reply nobody foresaw: this target's error only
            reason = "unexpected %s in the probe: %s" % (type(exc).__name__, exc)
            advice = "report this as a bug in mcp_health, with the reply seen"
            _record_failure(result, "internal", reason, advice, trace.snapshot())
            break
        result["latency_ms"] = round((time.monotonic() - started) * 1000.0, 1)
        _record_facts(result, facts)
        result["ok"] = True
        result["error"] = result["error_step"] = result["seen"] = result["advice"] = None
        break
    return result


def _abandoned(target: Dict[str, Any], trace: Trace, deadline_s: float) -> Dict[str, Any]:
    result = new_result(target)
    doing = trace.request or "not started"
    reason = "deadline of %.1f s reached while still waiting (%s)" % (deadline_s, doing)
    _record_failure(result, trace.step or "deadline", reason,
                    "the server did not finish within the run's deadline: check it, or raise deadline",
                    trace.snapshot())  # fmt: skip
    result["attempts"] = None
    return result


def _not_started(target: Dict[str, Any], left: float, needed: float) -> Dict[str, Any]:
    result = new_result(target)
    reason = "not checked: its turn came with %.1f s of the deadline left, %.1f s needed" % (left, needed)
    _record_failure(result, "queue", reason, "raise deadline or concurrency (targets wait for a free worker)")
    return result


def check_all(targets: Sequence[Mapping[str, Any]], deadline_s: float = 60.0, retries: int = 2,
              backoff: float = 0.5, concurrency: Optional[int] = None,
              ssl_context: Optional[ssl.SSLContext] = None, close_session: Optional[bool] = None,
              legacy_sse: Optional[str] = None, backoff_max: Optional[float] = BACKOFF_MAX,
              ) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:  # fmt: skip
    """Probe every target concurrently (at most ``concurrency`` at once). Returns
    (results in target order, summary) within ``deadline_s`` plus GRACE_S, whatever the
    servers do: what is still running then is abandoned and reported as such.

    A target's timeout is capped at the deadline. With more targets than workers, one that
    starts gets the time left divided by the rounds of workers still to come (at least
    MIN_TARGET_S, or its timeout if smaller); a target is not started with less than half
    of that left (it is reported not checked).
    ``close_session`` and ``legacy_sse``: defaults for targets that do not set them."""
    started = time.monotonic()
    deadline = Deadline(deadline_s)
    prepared = []
    for target in targets:
        full = dict(target)
        full["timeout"] = min(float(full.get("timeout") or 10), float(deadline_s))
        if close_session is not None and full.get("close_session") is None:
            full["close_session"] = close_session
        if legacy_sse is not None and not full.get("legacy_sse"):
            full["legacy_sse"] = legacy_sse
        prepared.append(full)
    count = len(prepared)
    workers = max(1, min(count or 1, int(concurrency or DEFAULT_CONCURRENCY)))
    traces = [Trace() for _target in prepared]
    results = [None] * count  # type: List[Optional[Dict[str, Any]]]
    state = {"next": 0, "done": 0}
    cond = threading.Condition()

    def work() -> None:
        while True:
            with cond:
                index = state["next"]
                if index >= count:
                    return
                state["next"] += 1
            target = prepared[index]
            left = deadline.remaining()
            needed = min(MIN_TARGET_S, target["timeout"])
            rounds = max(1, math.ceil((count - index) / float(workers)))
            if left < needed / 2:  # shares are exact: half of it leaves room for clock slack
                result = _not_started(target, left, needed)
            else:
                budget = max(left / rounds, needed)
                try:
                    result = check_target(target, deadline.sooner(budget), retries, backoff, ssl_context,
                                          trace=traces[index], backoff_max=backoff_max)  # fmt: skip
                except BaseException as exc:  # check_target does not raise; never lose the others
                    result = new_result(target)
                    _record_failure(result, "internal", "%s: %s" % (type(exc).__name__, exc))
            with cond:
                results[index] = result
                state["done"] += 1
                cond.notify_all()

    for _worker in range(workers):
        thread = threading.Thread(target=work, name="mcp_health", daemon=True)  # abandoned at exit
        thread.start()
    with cond:
        cond.wait_for(lambda: state["done"] >= count, timeout=deadline.remaining() + GRACE_S)
        final = list(results)
        state["next"] = count  # workers still running take no further target
    for index, result in enumerate(final):
        if result is None:
            final[index] = _abandoned(prepared[index], traces[index], deadline_s)
            final[index]["url"] = targets[index]["url"]
    return final, summarize(final, time.monotonic() - started)


def summarize(results: Sequence[Mapping[str, Any]], elapsed_s: float) -> Dict[str, Any]:
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


def describe_seen(seen: Optional[Dict[str, Any]]) -> Optional[str]:
    """One line for a person: the request, what came back, how long it took."""
    if not seen:
        return None
    if seen.get("status") is None:
        answer = "no complete response headers"
    else:
        answer = "HTTP %s %s" % (seen["status"], seen.get("content_type") or "(no content type)")
        if seen.get("location"):
            answer += " Location %s" % seen["location"]
    shown = ", first bytes %s" % json.dumps(seen["first_bytes"]) if seen.get("first_bytes") else ""
    return "%s -> %s, %d byte(s)%s, after %d ms" % (
        seen.get("request"),
        answer,
        seen.get("bytes") or 0,
        shown,
        round(seen.get("elapsed_ms") or 0),
    )


def format_table(results: Sequence[Mapping[str, Any]]) -> List[str]:
    """A table a person reads at a glance: one row per target; under an unhealthy one,
    what was seen and what to do."""
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
    indent = " " * (sum(widths) + 2 * len(widths))
    lines = []
    for index, row in enumerate([header, *rows]):
        cells = [str(cell).ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
        result = results[index - 1] if index else None
        if result and not result["ok"]:
            seen = describe_seen(result.get("seen"))
            if seen:
                lines.append("%sseen: %s" % (indent, seen))
            if result.get("advice"):
                lines.append("%sdo: %s" % (indent, result["advice"]))
    return lines


def main(stdin: TextIO, stdout: TextIO) -> int:
    """Run as a script where Ansible cannot reach (inside a container on an overlay network):
    reads {"targets": [...], "deadline": s} (optionally "retries", "backoff_max", "concurrency",
    "close_session", "legacy_sse") as JSON on stdin, writes {"results", "summary", "table"}
    as JSON on stdout. Standard library only."""
    request = json.load(stdin)
    targets = []
    for target in request["targets"]:
        full = {"kind": "mcp", "era": "auto", "timeout": 10.0}
        full.update({k: v for k, v in target.items() if v is not None})
        targets.append(full)
    results, summary = check_all(
        targets, deadline_s=float(request.get("deadline", 60)), retries=int(request.get("retries", 2)),
        concurrency=request.get("concurrency"), close_session=request.get("close_session"),
        legacy_sse=request.get("legacy_sse"),
        backoff_max=max(0.0, float(request.get("backoff_max", BACKOFF_MAX))),
    )  # fmt: skip
    json.dump({"results": results, "summary": summary, "table": format_table(results)}, stdout)
    return 0 if summary["unhealthy"] == 0 else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.stdin, sys.stdout))
