"""stack_converge driven through its argument spec against a stand-in of the Engine API that
answers /services and /tasks with fixed objects (the shapes the Engine API returns)."""

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sophia.lambda_swarm.plugins.modules import stack_converge
from module_harness import Exit, Fail

pytestmark = pytest.mark.usefixtures("ansible_exits")

SPEC = {"Image": "reg/x@sha256:new"}


def engine(replicas, nodes):
    service = {
        "ID": "s1",
        "Spec": {"Name": "mcp_x", "Mode": {"Replicated": {"Replicas": replicas}},
                 "TaskTemplate": {"ContainerSpec": SPEC}},
    }  # fmt: skip
    tasks = [
        {"ID": "t%d" % i, "ServiceID": "s1", "NodeID": node, "DesiredState": "running",
         "Status": {"State": "running", "Timestamp": "2026-12-02T19:44:00Z"}, "Spec": {"ContainerSpec": SPEC}}
        for i, node in enumerate(nodes)
    ]  # fmt: skip

    class StandIn:
        def __init__(self, socket):
            self.socket = socket

        @staticmethod
        def filters(**kwargs):
            return kwargs

        def get(self, path, filters=None):
            return {"/services": [service], "/tasks": tasks}[path]

    return StandIn


def run(monkeypatch, api, **args):
    monkeypatch.setattr(stack_converge, "DockerAPI", api)
    with patch_module_args({"stack": "mcp", "interval": 0.01, **args}):
        stack_converge.main()


def test_a_surplus_that_outlasts_the_grace_ends_the_wait_naming_the_service(monkeypatch):
    with pytest.raises(Fail) as failed:
        run(monkeypatch, engine(1, ["n1", "n2"]), surplus_grace=0, timeout=60)
    out = failed.value.args[0]
    assert out["surplus"] == ["mcp_x"] and "more tasks than its replicas" in out["msg"]
    assert out["seconds"] < 5, "the wait went on to its timeout"


def test_within_the_grace_it_waits_and_a_timeout_has_no_surplus(monkeypatch):
    with pytest.raises(Fail) as failed:
        run(monkeypatch, engine(1, ["n1", "n2"]), surplus_grace=600, timeout=0)
    assert "surplus" not in failed.value.args[0] and "not converged" in failed.value.args[0]["msg"]


def test_converged_stack_exits_unchanged(monkeypatch):
    with pytest.raises(Exit) as done:
        run(monkeypatch, engine(2, ["n1", "n2"]))
    assert done.value.args[0]["changed"] is False
    assert done.value.args[0]["services"][0]["running"] == 2


def test_a_timeout_names_the_node_that_never_started_its_tasks(monkeypatch):
    api = engine(1, [])
    stuck = {"ID": "t9", "ServiceID": "s1", "NodeID": "n2", "DesiredState": "running",
             "Status": {"State": "assigned", "Timestamp": "2026-12-02T19:44:00Z"}, "Spec": {"ContainerSpec": SPEC}}  # fmt: skip
    nodes = [{"ID": "n2", "Description": {"Hostname": "lab-w2"}}]

    class WithNodes(api):
        def get(self, path, filters=None):
            return {"/services": super().get("/services"), "/tasks": [stuck], "/nodes": nodes}[path]

    with pytest.raises(Fail) as failed:
        run(monkeypatch, WithNodes, timeout=0)
    out = failed.value.args[0]
    assert "not converged" in out["msg"] and "lab-w2 (1 task(s), the oldest assigned for" in out["msg"]
    assert out["stuck"][0]["id"] == "t9" and out["stuck"][0]["node"] == "n2"
