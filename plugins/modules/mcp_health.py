#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mcp_health
short_description: Prove MCP servers are alive by speaking MCP to them, many at once
version_added: 0.1.0
description:
  - Does what a real MCP client does over Streamable HTTP, for every target concurrently,
    and reports per target whether the handshake of its protocol era completed and which
    tools it lists. An HTTP 200 on C(/) proves nothing about an MCP server; this does.
  - "Current era (2026-07-28, stateless): C(server/discover) then C(tools/list), each a
    self-contained POST with the protocol version and client capabilities in C(params._meta)
    and the C(MCP-Protocol-Version) and C(Mcp-Method) headers."
  - "Earlier eras (2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05): C(initialize), keeping any
    C(Mcp-Session-Id), C(notifications/initialized) (202 expected), C(tools/list), then
    C(DELETE) of the session (405 is accepted; O(close_session) turns it off). Replies may be
    JSON or Server-Sent Events."
  - The current era is tried first. JSON-RPC refusal codes -32020 to -32022 mean a
    current-era server that refused the probe (unless a -32022 names an earlier era it also
    speaks); other HTTP or JSON-RPC rejections mean an earlier era, and the probe falls back.
    Connection failures and timeouts are never taken as an era verdict.
  - "Redirects: a same-origin 307 or 308 is followed (at most 3 times, the method and body kept;
    the URL that answered is RV(results[].final_url)); any other redirect is a failure that names
    its C(Location)."
  - "The legacy HTTP+SSE transport: after a 404 or 405 without JSON-RPC in it, one C(GET) with
    C(Accept: text/event-stream) is sent to the URL. An C(endpoint) event there means the legacy
    transport; O(legacy_sse) decides whether its handshake is run (RV(results[].transport) is
    C(sse)) or the target is reported unhealthy with the transport and endpoint named."
  - "Time: every read and write gets only what is left of the attempt's time, so a server that
    sends slowly cannot stretch it, and the whole check returns within O(deadline) plus half a
    second whatever the servers do; a target still running then is reported as abandoned."
  - "Retries are made only for what can change: connection errors, timeouts, HTTP 502, 503 and
    504, and 429 with C(Retry-After) (waited for when it fits in the deadline). Any other failure
    (404, 405, a redirect, a JSON-RPC error, a missing expected tool) is final at once."
  - Runs on the target host with the Python standard library only, so it can reach overlay
    addresses from a manager; targets need nothing installed.
  - Fails, after every target was checked, when any target is unhealthy, with one line per
    failing target. The results are returned either way.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - sophia.lambda_swarm.attributes
attributes:
  check_mode:
    details: Only reads; runs the same in check mode.
options:
  targets:
    description: The endpoints to check.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name shown in the report (usually the service name).
        type: str
        required: true
      url:
        description:
          - For C(mcp) and C(http), the full URL (for example C(http://tasks.ai_memory:8000/mcp)).
          - For C(tcp), C(host:port) or C(tcp://host:port).
        type: str
        required: true
      kind:
        description:
          - C(mcp) runs the MCP handshake and lists tools; C(http) expects a status below 400
            (or one of O(targets[].expect_status)); C(tcp) only connects.
        type: str
        choices: [mcp, http, tcp]
        default: mcp
      era:
        description:
          - For C(mcp), which handshake to run. C(auto) tries the current era and falls back to
            an earlier one; C(current) and C(legacy) run only that one.
        type: str
        choices: [auto, current, legacy]
        default: auto
      timeout:
        description:
          - Seconds one attempt (the whole handshake) may take, every read included.
          - Capped at O(deadline) (with a warning).
        type: float
        default: 10
      expect_tools:
        description:
          - For C(mcp), a list of tool names that must be listed, or a minimum number of tools.
        type: raw
      expect_status:
        description: For C(http), the HTTP statuses that count as healthy.
        type: list
        elements: int
      headers:
        description:
          - Extra HTTP headers sent with every request, for example C(Authorization).
          - Never logged.
        type: dict
      close_session:
        description:
          - For C(mcp), this target's O(close_session); unset, the module's option applies.
        type: bool
  deadline:
    description:
      - Seconds for the whole check, all targets and retries included. The module returns
        within it plus half a second, whatever the servers do.
      - With more targets than O(concurrency), a target that starts gets the time left divided
        by the rounds of workers still to come (at least one second, or its timeout if
        smaller); a target whose turn comes with less than that left is reported not checked.
    type: float
    default: 60
  retries:
    description: Further attempts for a failing target, with exponential backoff, inside O(deadline).
    type: int
    default: 2
  backoff:
    description: Seconds before the first retry; doubled for each further one, up to O(backoff_max).
    type: float
    default: 0.5
  backoff_max:
    description:
      - The longest pause between two attempts, in seconds. With many O(retries) and a long
        O(deadline), the attempts go on every O(backoff_max) seconds until the deadline, rather
        than stopping once a doubled pause would pass it.
      - A server's C(Retry-After) is waited for in full when it fits in the deadline. V(0) retries
        without a pause.
    type: float
    default: 10
  concurrency:
    description: Most targets checked at the same time.
    type: int
    default: 64
  validate_certs:
    description: Verify TLS certificates of C(https) targets.
    type: bool
    default: true
  ca_path:
    description: A CA bundle to verify C(https) targets against (for example a lab CA).
    type: path
  close_session:
    description:
      - End an earlier-era session with C(DELETE) after the handshake, as the official clients
        do.
      - Set V(false) for periodic checks of servers whose session manager fails on it (mcp
        1.9.x); each check then leaves a session for the server to expire.
    type: bool
    default: true
  legacy_sse:
    description:
      - What to do with a target that turns out to serve the legacy HTTP+SSE transport
        (C(GET) opens an event stream that announces an C(endpoint)).
      - V(probe) runs the earlier-era handshake over it (POST to the announced same-origin
        endpoint, answers read from the stream); the target is healthy when it completes.
      - V(report) does not probe it; the target is unhealthy, with the transport and the
        endpoint named, so servers not yet moved to Streamable HTTP are found.
    type: str
    choices: [probe, report]
    default: probe
notes:
  - For a target on the legacy HTTP+SSE transport give the stream's URL (usually C(/sse)); a
    C(/mcp) URL on such a server answers 404 and is reported so.
seealso:
  - name: MCP specification
    description: The protocol this module speaks.
    link: https://modelcontextprotocol.io/specification
"""

EXAMPLES = r"""
- name: Check the MCP servers from a manager, through the overlay network
  sophia.lambda_swarm.mcp_health:
    targets:
      - name: ai_memory
        url: http://tasks.ai_memory:8000/mcp
        expect_tools: [remember, recall, forget]
      - name: notes
        url: https://gateway.example.com/notes/mcp
        expect_tools: 1
        headers:
          Authorization: "Bearer {{ notes_token }}"
      - name: gateway
        url: https://gateway.example.com/healthz
        kind: http
    deadline: 60
  register: health

- name: A periodic check that leaves sessions alone and flags servers still on HTTP+SSE
  sophia.lambda_swarm.mcp_health:
    targets:
      - name: old_search
        url: http://tasks.old_search:8000/sse
    close_session: false
    legacy_sse: report
    deadline: 15

- name: Print the table
  ansible.builtin.debug:
    msg: "{{ health.table }}"
"""

RETURN = r"""
results:
  description: One entry per target, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The target's name.
      type: str
      returned: always
    url:
      description: The URL checked.
      type: str
      returned: always
    kind:
      description: "C(mcp), C(http) or C(tcp)."
      type: str
      returned: always
    ok:
      description: Whether the target is healthy.
      type: bool
      returned: always
    era:
      description:
        - The protocol era that answered (C(2026-07-28), C(2025-11-25), ...); null when none did.
        - Kept, with the tools and the server's identity, when only O(targets[].expect_tools) failed.
      type: str
      returned: always
    protocol_version:
      description: The protocol version in use.
      type: str
      returned: always
    server_name:
      description: The server's name from its identity, when it gave one.
      type: str
      returned: always
    server_version:
      description: The server's version, when it gave one.
      type: str
      returned: always
    tool_count:
      description: Number of tools listed; null unless listed.
      type: int
      returned: always
    tools:
      description: Names of the tools listed.
      type: list
      elements: str
      returned: always
    latency_ms:
      description: Time of the successful attempt's whole handshake.
      type: float
      returned: always
    attempts:
      description: Attempts made; null for a target abandoned at the deadline.
      type: int
      returned: always
    error:
      description:
        - "What failed at which step (connect, discover, initialize, initialized, tools/list, sse,
          expect_tools, http, queue, internal): refused connection, HTTP status, content type,
          redirect and its Location, JSON-RPC code and message, timeout and what had arrived,
          missing tool. Null when healthy."
      type: str
      returned: always
    error_step:
      description: The step that failed.
      type: str
      returned: always
    http_status:
      description: For C(http) targets, the status received.
      type: int
      returned: when kind is http and healthy
    final_url:
      description: For C(mcp), the URL that answered, after any same-origin 307/308.
      type: str
      returned: always (null unless the handshake completed)
    transport:
      description: For C(mcp), C(streamable-http) or C(sse) (the legacy HTTP+SSE transport).
      type: str
      returned: always (null unless the handshake completed)
    seen:
      description:
        - For an unhealthy target, the latest exchange as it was seen; null when healthy, and
          for a missing expected tool (the facts above say what was listed).
      type: dict
      returned: always
      contains:
        step:
          description: The step of that exchange.
          type: str
        request:
          description: Method and URL.
          type: str
        status:
          description: HTTP status; null when no complete status line and headers came.
          type: int
        content_type:
          description: The reply's content type.
          type: str
        location:
          description: The C(Location) of a redirect.
          type: str
          returned: when the reply had one
        first_bytes:
          description: The first bytes of the body (of the reply, while its headers were incomplete).
          type: str
        bytes:
          description: Bytes received in that exchange.
          type: int
        elapsed_ms:
          description: Time from the request to the failure.
          type: float
    advice:
      description: For an unhealthy target, what to do about it; null when healthy.
      type: str
      returned: always
summary:
  description: Counts and timing of the whole check.
  returned: always
  type: dict
  contains:
    total:
      description: Targets checked.
      type: int
    healthy:
      description: Healthy targets.
      type: int
    unhealthy:
      description: Unhealthy targets.
      type: int
    by_era:
      description: Healthy MCP targets per protocol era.
      type: dict
    slowest_ms:
      description: The slowest healthy handshake.
      type: float
    elapsed_ms:
      description: Wall time of the whole check.
      type: float
    failing:
      description: One line per unhealthy target.
      type: list
      elements: str
table:
  description:
    - The report as lines of a fixed-width table (name, ok, era, tools, latency, server or error).
    - Under an unhealthy target, a C(seen:) line (request, status, content type, first bytes,
      elapsed) and a C(do:) line (what to do).
  returned: always
  type: list
  elements: str
  sample:
    - "NAME       OK   ERA         TOOLS  LATENCY  SERVER / ERROR"
    - "ai_memory  yes  2026-07-28  3      14 ms    ai_memory 0.1.0"
"""

import ssl

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_health import (
    check_all,
    check_expected_tools,
    format_table,
)


def _ssl_context(module):
    if not module.params["validate_certs"]:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=module.params["ca_path"])


def _targets(module):
    targets = []
    for index, target in enumerate(module.params["targets"]):
        expect = target.get("expect_tools")
        try:
            check_expected_tools([], expect)
        except ValueError as exc:
            module.fail_json(msg="targets[%d] (%s): %s" % (index, target["name"], exc))
        if expect is not None and not isinstance(expect, (int, list)):
            module.fail_json(
                msg="targets[%d] (%s): expect_tools must be a list of tool names or a minimum count, got %r"
                % (index, target["name"], expect)
            )
        if target["timeout"] > module.params["deadline"]:
            module.warn(
                "targets[%d] (%s): timeout %s exceeds the deadline %s; capped at the deadline"
                % (index, target["name"], target["timeout"], module.params["deadline"])
            )
        targets.append({k: v for k, v in target.items() if v is not None})
    return targets


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    url=dict(type="str", required=True),
                    kind=dict(type="str", choices=["mcp", "http", "tcp"], default="mcp"),
                    era=dict(type="str", choices=["auto", "current", "legacy"], default="auto"),
                    timeout=dict(type="float", default=10),
                    expect_tools=dict(type="raw"),
                    expect_status=dict(type="list", elements="int"),
                    headers=dict(type="dict", no_log=True),
                    close_session=dict(type="bool"),
                ),
            ),
            deadline=dict(type="float", default=60),
            retries=dict(type="int", default=2),
            backoff=dict(type="float", default=0.5),
            backoff_max=dict(type="float", default=10),
            concurrency=dict(type="int", default=64),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            close_session=dict(type="bool", default=True),
            legacy_sse=dict(type="str", choices=["probe", "report"], default="probe"),
        ),
        supports_check_mode=True,
    )
    if (
        module.params["retries"] < 0
        or module.params["concurrency"] < 1
        or module.params["deadline"] <= 0
        or module.params["backoff_max"] < 0
    ):
        module.fail_json(msg="retries must be >= 0, concurrency >= 1, deadline > 0 and backoff_max >= 0")
    targets = _targets(module)
    results, summary = check_all(
        targets,
        deadline_s=module.params["deadline"],
        retries=module.params["retries"],
        backoff=module.params["backoff"],
        backoff_max=module.params["backoff_max"],
        concurrency=module.params["concurrency"],
        ssl_context=_ssl_context(module),
        close_session=module.params["close_session"],
        legacy_sse=module.params["legacy_sse"],
    )
    output = dict(changed=False, results=results, summary=summary, table=format_table(results))
    if summary["unhealthy"]:
        module.fail_json(
            msg="%d of %d target(s) unhealthy:\n%s"
            % (summary["unhealthy"], summary["total"], "\n".join(summary["failing"])),
            **output,
        )
    module.exit_json(**output)


if __name__ == "__main__":
    main()
