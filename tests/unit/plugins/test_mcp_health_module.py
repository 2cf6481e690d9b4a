"""The mcp_health module driven through its argument spec (exit_json/fail_json raise)."""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sophia.lambda_swarm.plugins.modules import mcp_health
from module_harness import Exit, Fail

pytestmark = pytest.mark.usefixtures("ansible_exits")


def run(args):
    with patch_module_args(args):
        mcp_health.main()


def test_targets_are_required():
    with pytest.raises(Fail) as err:
        run({})
    assert "targets" in err.value.args[0]["msg"]


def test_unknown_kind_is_refused():
    with pytest.raises(Fail) as err:
        run({"targets": [{"name": "a", "url": "http://127.0.0.1:1/mcp", "kind": "udp"}]})
    assert "kind" in err.value.args[0]["msg"]


def test_expect_tools_must_be_names_or_a_count():
    with pytest.raises(Fail) as err:
        run({"targets": [{"name": "a", "url": "http://127.0.0.1:1/mcp", "expect_tools": "recall"}]})
    assert (
        "targets[0] (a): expect_tools must be a list of tool names or a minimum count"
        in err.value.args[0]["msg"]
    )


def test_unhealthy_target_fails_with_results_and_changed_false():
    with pytest.raises(Fail) as err:
        run({"targets": [{"name": "down", "url": "http://127.0.0.1:1/mcp"}], "retries": 0, "deadline": 5})
    out = err.value.args[0]
    assert out["changed"] is False
    assert out["results"][0]["error_step"] == "connect"
    assert out["msg"].startswith("1 of 1 target(s) unhealthy")
    assert len(out["table"]) == 4  # header, the row, what was seen, what to do
    assert (
        out["table"][2]
        .strip()
        .startswith("seen: POST http://127.0.0.1:1/mcp -> no complete response headers")
    )
    assert out["table"][3].strip().startswith("do: nothing listens there")
    assert out["results"][0]["advice"].startswith("nothing listens there")


def test_headers_are_never_returned():
    with pytest.raises(Fail) as err:
        run(
            {
                "targets": [
                    {
                        "name": "a",
                        "url": "http://127.0.0.1:1/mcp",
                        "headers": {"Authorization": "Bearer tok3n"},
                    }
                ],
                "retries": 0,
                "deadline": 2,
            }
        )
    assert "tok3n" not in json.dumps(err.value.args[0])


def test_legacy_sse_choices_are_enforced():
    with pytest.raises(Fail) as err:
        run({"targets": [{"name": "a", "url": "http://127.0.0.1:1/sse"}], "legacy_sse": "ignore"})
    assert "legacy_sse" in err.value.args[0]["msg"]


def test_new_options_reach_check_all_and_a_long_timeout_warns(monkeypatch):
    seen = {}

    def fake_check_all(targets, **kwargs):
        seen.update(kwargs, targets=targets)
        results = [dict(name=t["name"], url=t["url"], kind="mcp", ok=True, era=None, tool_count=None,
                        latency_ms=1.0, server_name=None, server_version=None, error=None) for t in targets]  # fmt: skip
        return results, {"unhealthy": 0, "total": 1, "failing": []}

    warnings = []
    monkeypatch.setattr(mcp_health, "check_all", fake_check_all)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    with pytest.raises(Exit) as out:
        run({"targets": [{"name": "a", "url": "http://127.0.0.1:1/mcp", "timeout": 90, "close_session": True}],
             "deadline": 30, "close_session": False, "legacy_sse": "report"})  # fmt: skip
    assert out.value.args[0]["changed"] is False
    assert seen["close_session"] is False and seen["legacy_sse"] == "report"
    assert seen["targets"][0]["close_session"] is True
    assert warnings == ["targets[0] (a): timeout 90.0 exceeds the deadline 30.0; capped at the deadline"]


def test_defaults_keep_the_old_behaviour(monkeypatch):
    seen = {}

    def fake_check_all(targets, **kwargs):
        seen.update(kwargs, targets=targets)
        return [], {"unhealthy": 0, "total": 0, "failing": []}

    monkeypatch.setattr(mcp_health, "check_all", fake_check_all)
    with pytest.raises(Exit):
        run({"targets": [{"name": "a", "url": "http://127.0.0.1:1/mcp"}]})
    assert seen["close_session"] is True and seen["legacy_sse"] == "probe"
    assert seen["deadline_s"] == 60 and seen["retries"] == 2 and seen["concurrency"] == 64
    assert "close_session" not in seen["targets"][0]  # unset per target: the module's value applies
