"""mcp_health against real servers on 127.0.0.1: the MCP SDK's servers in both eras are
reported healthy with the right era, identity and tools; each way a server can be broken
is reported unhealthy with the step and the reason."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_health import (
    Deadline,
    check_all,
    check_target,
)

from .conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ["recall", "remember"]


def _check(url, **target):
    return check_target({"name": "t", "url": url, **target}, Deadline(30), retries=0)


@pytest.mark.parametrize(
    ("kind", "era", "name", "version"),
    [
        ("mcp2-stateless-json", "2026-07-28", "v2-stateless-json", "1.2.3"),
        ("mcp2-stateless-sse", "2026-07-28", "v2-stateless-sse", "1.2.3"),
        ("mcp2-stateful-json", "2026-07-28", "v2-stateful-json", "1.2.3"),
        ("mcp2-stateful-sse", "2026-07-28", "v2-stateful-sse", "1.2.3"),
        ("mcp1-stateful-sse", "2025-11-25", "v1-stateful-sse", None),
        ("mcp1-stateless-json", "2025-11-25", "v1-stateless-json", None),
    ],
)
def test_sdk_server_is_healthy_with_its_era_identity_and_tools(mcp_urls, kind, era, name, version):
    result = _check(mcp_urls[kind], expect_tools=TOOLS)
    assert result["ok"], result["error"]
    assert result["era"] == era
    assert result["protocol_version"] == era
    assert result["server_name"] == name
    if version:
        assert result["server_version"] == version
    assert sorted(result["tools"]) == TOOLS
    assert result["tool_count"] == 2
    assert result["attempts"] == 1
    assert 0 < result["latency_ms"] < 5000


@pytest.mark.parametrize("kind", ["mcp2-stateful-sse", "mcp2-stateful-json", "mcp2-stateless-sse"])
def test_earlier_era_handshake_against_a_current_sdk(mcp_urls, kind):
    # A 2.x server still speaks the initialize handshake: era=legacy runs only that.
    result = _check(mcp_urls[kind], era="legacy", expect_tools=TOOLS)
    assert result["ok"], result["error"]
    assert result["era"] == "2025-11-25"
    assert result["server_name"].startswith("v2-")


def test_current_era_only_fails_on_an_earlier_era_server(mcp_urls):
    result = _check(mcp_urls["mcp1-stateful-sse"], era="current")
    assert not result["ok"]
    assert result["error_step"] == "discover"


def test_closed_port_is_a_connect_failure_and_retried():
    url = f"http://127.0.0.1:{free_port()}/mcp"
    result = check_target({"name": "t", "url": url}, Deadline(10), retries=2, backoff=0.05)
    assert not result["ok"]
    assert result["error_step"] == "connect"
    assert "connection refused" in result["error"]
    assert result["attempts"] == 3


def test_wrong_path_reports_404(mcp_urls):
    result = _check(mcp_urls["mcp2-stateless-json"].replace("/mcp", "/nope"))
    assert not result["ok"]
    assert result["error_step"] == "initialize"
    assert "HTTP 404" in result["error"]
    assert "no MCP endpoint at this path" in result["error"]


def test_plain_web_page_is_not_an_mcp_server(raw_urls):
    result = _check(raw_urls["html"])
    assert not result["ok"]
    assert "HTTP 200 with content type 'text/html'" in result["error"]


def test_server_that_never_answers_is_cut_at_the_timeout(raw_urls):
    started = time.monotonic()
    result = _check(raw_urls["silent"], timeout=1.5)
    elapsed = time.monotonic() - started
    assert not result["ok"]
    assert result["error_step"] == "discover"
    assert "timed out" in result["error"]
    assert 1.4 < elapsed < 4.0


def test_dns_rebinding_protection_answers_421(mcp_urls):
    result = _check(mcp_urls["mcp2-rebinding-protected"])
    assert not result["ok"]
    assert "HTTP 421" in result["error"]
    assert "DNS-rebinding" in result["error"]


def test_connection_dropped_mid_handshake(raw_urls):
    result = _check(raw_urls["drop"])
    assert not result["ok"]
    assert result["error_step"] == "discover"
    assert "connection closed by the server" in result["error"]


def test_missing_expected_tool(mcp_urls):
    result = _check(mcp_urls["mcp1-stateful-sse"], expect_tools=["recall", "forget"])
    assert not result["ok"]
    assert result["error_step"] == "expect_tools"
    assert "missing expected tool(s): forget" in result["error"]
    # the handshake succeeded: era, identity and tools are kept, only the verdict is no
    assert result["era"] == "2025-11-25" and sorted(result["tools"]) == TOOLS
    assert result["server_name"] == "v1-stateful-sse" and result["tool_count"] == 2
    assert result["attempts"] == 1  # a missing tool does not come back by retrying
    assert result["seen"] is None and "expect_tools" in result["advice"]


def test_minimum_tool_count(mcp_urls):
    assert _check(mcp_urls["mcp2-stateless-json"], expect_tools=2)["ok"]
    result = _check(mcp_urls["mcp2-stateless-json"], expect_tools=3)
    assert "2 tool(s) listed, at least 3 expected" in result["error"]


def test_many_targets_at_once_in_order(mcp_urls, raw_urls):
    targets = [{"name": k, "url": u} for k, u in mcp_urls.items()] + [
        {"name": "html", "url": raw_urls["html"]}
    ]
    results, summary = check_all(targets, deadline_s=30, retries=0)
    assert [r["name"] for r in results] == [t["name"] for t in targets]
    assert summary["total"] == len(targets)
    assert summary["healthy"] == len(targets) - 2  # the 421 server and the web page
    assert summary["by_era"] == {"2026-07-28": 4, "2025-11-25": 2}
    assert len(summary["failing"]) == 2


def _ansible_module(args: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", "-m", "sophia.lambda_swarm.mcp_health",
         "-a", json.dumps(args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
             "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
    )  # fmt: skip


def _module_result(proc):
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_module_from_the_command_line(mcp_urls):
    proc = _ansible_module(
        {
            "targets": [
                {
                    "name": "memory",
                    "url": mcp_urls["mcp2-stateless-json"],
                    "expect_tools": TOOLS,
                    "headers": {"Authorization": "Bearer s3cret"},
                }
            ]
        }
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = _module_result(proc)
    assert result["changed"] is False
    assert result["results"][0]["era"] == "2026-07-28"
    assert result["table"][0].split() == ["NAME", "OK", "ERA", "TOOLS", "LATENCY", "SERVER", "/", "ERROR"]
    assert "s3cret" not in proc.stdout  # headers are no_log


def test_module_fails_after_checking_every_target(mcp_urls):
    closed = f"http://127.0.0.1:{free_port()}/mcp"
    proc = _ansible_module(
        {
            "targets": [
                {"name": "down", "url": closed},
                {"name": "up", "url": mcp_urls["mcp1-stateful-sse"]},
            ],
            "retries": 0,
        }
    )
    assert proc.returncode != 0
    result = _module_result(proc)
    assert result["failed"] is True
    assert "1 of 2 target(s) unhealthy" in result["msg"]
    assert "down: connect: connection refused" in result["msg"]
    assert [r["ok"] for r in result["results"]] == [False, True]


def _health_playbook(tmp_path, targets):
    vars_file = tmp_path / "targets.json"
    vars_file.write_text(json.dumps({"mcp_health_targets": targets, "mcp_health_deadline": 20,
                                     "mcp_health_report_path": str(tmp_path / "report.json")}))  # fmt: skip
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "playbooks/health.yml", "-e", "mcp_health_host=localhost", "-e", f"@{vars_file}",
         "-e", f"ansible_python_interpreter={sys.executable}"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip


def test_health_playbook_prints_the_table_and_writes_the_report(tmp_path, mcp_urls):
    targets = [{"name": "memory", "url": mcp_urls["mcp2-stateless-json"], "expect_tools": TOOLS},
               {"name": "legacy", "url": mcp_urls["mcp1-stateful-sse"]}]  # fmt: skip
    proc = _health_playbook(tmp_path, targets)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "memory  yes  2026-07-28  2" in proc.stdout
    assert "legacy  yes  2025-11-25  2" in proc.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["healthy"] == 2
    assert [r["name"] for r in report["results"]] == ["memory", "legacy"]


def test_health_playbook_fails_but_still_reports(tmp_path, mcp_urls):
    targets = [{"name": "down", "url": f"http://127.0.0.1:{free_port()}/mcp"},
               {"name": "memory", "url": mcp_urls["mcp2-stateless-json"]}]  # fmt: skip
    proc = _health_playbook(tmp_path, targets)
    assert proc.returncode == 2
    assert "down    NO" in proc.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["unhealthy"] == 1
