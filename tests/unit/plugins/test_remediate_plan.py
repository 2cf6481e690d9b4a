"""remediate.yml's plan: from one node's diagnosis to the ordered fixes."""

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._remediation_plan import STEPS, plan

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


# A half-left node: `docker swarm leave --force` on a 20.10 engine can leave `docker info`
# saying Swarm active with an empty NodeID while the managers list the node down (reproduced
# on the lab, 15 s after the leave).
HALF = {
    "local_node_id": "",
    "node_id": "abc",
    "node_ids": ["abc"],
    "node_state": "down",
    "node_list_ok": True,
}


def test_an_active_engine_without_a_node_id_leaves_and_rejoins():
    got = plan(dict(HEALTHY, **HALF), False)
    assert [s["step"] for s in got][:2] == ["leave", "join"]
    assert "no node id" in got[0]["why"]


def test_an_id_the_managers_do_not_list_leaves_and_rejoins():
    got = plan(dict(HEALTHY, **dict(HALF, local_node_id="zzz", node_state="ready")), False)
    assert [s["step"] for s in got] == ["leave", "join"]
    assert "zzz" in got[0]["why"] and "abc" in got[0]["why"]


def test_a_worker_seen_down_while_its_engine_answers_leaves_and_rejoins():
    got = plan(dict(HEALTHY, **dict(HALF, local_node_id="abc")), False)
    assert [s["step"] for s in got] == ["leave", "join"]
    assert "down" in got[0]["why"]


def test_a_manager_seen_down_is_restarted_not_made_to_leave():
    diag = dict(HEALTHY, **dict(HALF, local_node_id="abc", node_role="manager", reachability="unreachable"))
    assert [s["step"] for s in plan(diag, True)] == ["restart"]


def test_a_known_ready_id_is_healthy():
    assert plan(dict(HEALTHY, **dict(HALF, local_node_id="abc", node_state="ready")), False) == []


def test_without_the_managers_list_nothing_is_concluded_from_the_id():
    assert plan(dict(HEALTHY, **dict(HALF, node_list_ok=False, node_state="ready")), False) == []


def test_just_started_a_worker_seen_down_is_not_made_to_leave():
    # right after remediate.yml started its engine the managers still list the node down
    diag = dict(HEALTHY, **dict(HALF, local_node_id="abc"))
    assert plan(diag, False, just_started=True) == []


def test_just_started_a_manager_seen_unreachable_is_not_restarted():
    diag = dict(HEALTHY, **dict(HALF, local_node_id="abc", node_role="manager", reachability="unreachable"))
    assert plan(diag, True, just_started=True) == []


def test_just_started_a_stale_or_pending_membership_still_leaves_and_rejoins():
    stale = {"node_state": "absent", "node_list_ok": "True", "node_role": "none", "availability": "none"}
    assert steps(stale, True, just_started=True)[:2] == ["leave", "join"]
    assert steps({"swarm_local": "pending"}, True, just_started=True)[:2] == ["leave", "join"]
    unknown_id = dict(HALF, local_node_id="zzz", node_ids=["abc"])
    assert steps(unknown_id, False, just_started=True) == ["leave", "join"]
