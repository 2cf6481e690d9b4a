"""stack_converge driven through its argument spec against a stand-in of the Engine API that
answers /services and /tasks with fixed objects (the shapes the Engine API returns)."""

import time

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


def out_of_swarm_engine(when):
    """No task runs: the node lswarm-m1 rejected two (``when``: their timestamp) because its
    network agent is out of the swarm (moby/moby issue 34864; the Engine API's shape)."""
    api = engine(1, [])
    err = "cannot create a swarm scoped network when swarm is not active"
    rejected = [
        {"ID": "r%d" % i, "ServiceID": "s1", "NodeID": "n1", "DesiredState": "shutdown",
         "Status": {"State": "rejected", "Timestamp": when, "Message": "preparing", "Err": err},
         "Spec": {"ContainerSpec": SPEC}}
        for i in range(2)
    ]  # fmt: skip
    nodes = [{"ID": "n1", "Description": {"Hostname": "lswarm-m1"}}]

    class WithRejections(api):
        def get(self, path, filters=None):
            return {"/services": super().get("/services"), "/tasks": rejected, "/nodes": nodes}[path]

    return WithRejections


def test_a_node_out_of_the_swarm_ends_the_wait_at_once_naming_it(monkeypatch):
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
    with pytest.raises(Fail) as failed:
        run(monkeypatch, out_of_swarm_engine(later), timeout=60, stop_out_of_swarm=True)
    out = failed.value.args[0]
    assert out["out_of_swarm"] == ["lswarm-m1"] and out["seconds"] < 5
    assert "lswarm-m1 (2 task(s))" in out["msg"] and "restart the engine there" in out["msg"]


def test_without_stop_out_of_swarm_the_wait_goes_on_and_its_timeout_names_the_node(monkeypatch):
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
    started = time.monotonic()
    with pytest.raises(Fail) as failed:
        run(monkeypatch, out_of_swarm_engine(later), timeout=1)
    out = failed.value.args[0]
    assert time.monotonic() - started >= 0.9, "it did not wait"  # its waits are rounded to 0.1 s
    assert "not converged" in out["msg"] and "lswarm-m1 (2 task(s))" in out["msg"]
    assert out["out_of_swarm"] == ["lswarm-m1"]


def test_an_update_those_rejections_rolled_back_is_reported_with_the_node(monkeypatch):
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
    api = out_of_swarm_engine(later)

    class RolledBack(api):
        def get(self, path, filters=None):
            out = super().get(path, filters)
            if path == "/services":
                out = [dict(out[0], UpdateStatus={"State": "rollback_completed", "StartedAt": later,
                                                  "Message": "update rolled back due to failure"})]  # fmt: skip
            return out

    with pytest.raises(Fail) as failed:
        run(monkeypatch, RolledBack, timeout=60)
    out = failed.value.args[0]
    assert out["out_of_swarm"] == ["lswarm-m1"] and "meanwhile mcp_x: update rollback_completed" in out["msg"]


def test_rejections_from_before_the_wait_do_not_end_it(monkeypatch):
    with pytest.raises(Fail) as failed:
        run(monkeypatch, out_of_swarm_engine("2026-12-02T19:44:00Z"), timeout=0)
    assert "out_of_swarm" not in failed.value.args[0] and "not converged" in failed.value.args[0]["msg"]


def flaky(errors, then):
    """A stand-in that first fails each read with the errors given, then answers like ``then``."""
    left = list(errors)

    class Flaky(then):
        def get(self, path, filters=None):
            if left:
                raise left.pop(0)
            return super().get(path, filters)

    return Flaky


# the Engine API's answers while a raft elects a leader (a manager restarted), as 20.10 gives them
NO_LEADER = stack_converge.DockerAPIError(
    503, "GET", "/services", "rpc error: code = Unknown desc = The swarm does not have a leader."
)
LOST = stack_converge.DockerAPIError(
    500,
    "GET",
    "/tasks",
    "rpc error: code = Unknown desc = raft: failed to process the request: node lost leader status",
)
WORKER = stack_converge.DockerAPIError(
    503,
    "GET",
    "/services",
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state.",
)


def test_a_leader_election_is_waited_out(monkeypatch):
    with pytest.raises(Exit) as done:
        run(monkeypatch, flaky([NO_LEADER, LOST], engine(2, ["n1", "n2"])), timeout=60)
    assert done.value.args[0]["services"][0]["running"] == 2


def test_a_worker_or_a_leaderless_swarm_past_the_timeout_fails_with_the_error(monkeypatch):
    with pytest.raises(Fail) as failed:
        run(monkeypatch, flaky([WORKER], engine(2, ["n1", "n2"])), timeout=60)
    assert "not a swarm manager" in failed.value.args[0]["msg"]
    with pytest.raises(Fail) as failed:
        run(monkeypatch, flaky([NO_LEADER] * 1000, engine(2, ["n1", "n2"])), timeout=0)
    assert "does not have a leader" in failed.value.args[0]["msg"]
