"""remediate.yml's plan: from one node's diagnosis to the ordered fixes."""

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._remediate import STEPS, plan

HEALTHY = {
    "engine": "active",
    "swarm_local": "active",
    "swarm_error": "",
    "node_state": "ready",
    "node_role": "worker",
    "availability": "active",
    "labels_missing": [],
    "disk_pct": 40,
    "inode_pct": 5,
}


def steps(diag, is_manager=False, **kw):
    return [s["step"] for s in plan(dict(HEALTHY, **diag), is_manager, **kw)]


def test_a_healthy_node_needs_nothing():
    assert steps({}) == []


def test_engine_down_starts_it_then_rejoins_if_needed():
    assert steps({"engine": "inactive", "swarm_local": "unknown", "node_state": "down"}) == ["engine", "join"]


def test_error_or_pending_leaves_then_joins():
    for state in ("error", "pending"):
        got = plan(dict(HEALTHY, swarm_local=state, swarm_error="rpc error"), False)
        assert [s["step"] for s in got] == ["leave", "join"]
        assert "rpc error" in got[0]["why"]


def test_out_of_the_swarm_joins_and_gets_role_and_labels_back():
    got = steps(
        {
            "swarm_local": "inactive",
            "node_role": "none",
            "labels_missing": ["mcp.data"],
            "availability": "none",
        }
    )
    assert got == ["join", "role", "labels", "availability"]


def test_manager_demoted_is_promoted():
    assert steps({"node_role": "worker"}, is_manager=True) == ["role"]


def test_disk_over_threshold_frees_space_last():
    assert steps({"disk_pct": 91, "engine": "failed"}) == ["engine", "join", "disk"]
    assert steps({"inode_pct": 90}) == ["disk"]
    assert steps({"disk_pct": 70}, threshold=60) == ["disk"]


def test_fixes_follow_the_documented_order():
    everything = steps(
        {
            "engine": "failed",
            "swarm_local": "error",
            "node_role": "none",
            "labels_missing": ["a"],
            "availability": "drain",
            "disk_pct": 99,
        }
    )
    assert everything == [s for s in STEPS if s in everything]


def test_stale_membership_the_managers_do_not_list_leaves_and_rejoins():
    stale = dict(HEALTHY, node_state="absent", node_role="none", availability="none", node_list_ok=True)
    got = plan(stale, True)
    assert [s["step"] for s in got] == ["leave", "join", "role", "availability"]
    assert "stale" in got[0]["why"]
    # without the managers' node list, "absent" proves nothing: never leave on that
    assert [s["step"] for s in plan(dict(stale, node_list_ok=False), True)] == ["role", "availability"]


def test_an_unreachable_manager_gets_its_engine_restarted():
    manager = {"node_role": "manager", "reachability": "unreachable"}
    got = plan(dict(HEALTHY, **manager), True)
    assert [s["step"] for s in got] == ["restart"]
    assert "unreachable" in got[0]["why"]
    assert steps(dict(manager, reachability="reachable"), is_manager=True) == []
    # a worker has no reachability; an engine that is down is started, not restarted
    assert steps({"reachability": ""}) == []
    assert "restart" not in steps(dict(manager, engine="inactive"), is_manager=True)


def test_a_listed_manager_without_manager_status_is_left_alone():
    # the raft's membership can be in flux (a lost manager coming back is re-added by the
    # swarm itself): leaving on that evidence could take a member away and lose quorum
    assert steps({"node_role": "manager", "reachability": "", "node_list_ok": True}, is_manager=True) == []
