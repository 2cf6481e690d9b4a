"""The mcp_health module driven through its argument spec (exit_json/fail_json raise)."""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sophia.lambda_swarm.plugins.modules import mcp_health


class Exit(Exception):
    pass


class Fail(Exception):
    pass


@pytest.fixture(autouse=True)
def _no_exit(monkeypatch):
    def exit_json(self, **kwargs):
        raise Exit(kwargs)

    def fail_json(self, **kwargs):
        raise Fail(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


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
    assert len(out["table"]) == 2


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
