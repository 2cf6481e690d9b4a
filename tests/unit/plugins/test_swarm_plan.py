"""The quorum-safe reconcile plan, table by table."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.filter.swarm import (
    swarm_node_names,
    swarm_node_update,
    swarm_strangers,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _swarm_plan as sp


def node(name, role="worker", state="ready", reachable=None, leader=False, node_id=None):
    raw = {
        "ID": node_id or "id-" + name,
        "Description": {"Hostname": name},
        "Spec": {"Role": role, "Availability": "active", "Labels": {}},
        "Status": {"State": state},
    }
    if role == "manager":
        raw["ManagerStatus"] = {"Reachability": "reachable" if reachable in (None, True) else "unreachable",
                                "Leader": leader}  # fmt: skip
    return raw


def steps(raw_nodes, managers, workers):
    return [(s["action"], s["hostname"]) for s in sp.plan(sp.normalize(raw_nodes), managers, workers)]


M3 = [node("m1", "manager", leader=True), node("m2", "manager"), node("m3", "manager")]


@pytest.mark.parametrize(
    ("nodes", "managers", "workers", "expected"),
    [
        # nothing to do
        ([*M3, node("w1")], ["m1", "m2", "m3"], ["w1"], []),
        # demote one manager: 3 -> 2 managers, both reachable: safe
        (M3, ["m1", "m2"], ["m3"], [("demote", "m3")]),
        # promotions come before demotions
        ([*M3, node("w1"), node("w2")], ["m1", "w1", "w2"], ["m2", "m3"],
         [("promote", "w1"), ("promote", "w2"), ("demote", "m2"), ("demote", "m3")]),
        # a down worker gone from the inventory is removed; an up one is left alone
        ([*M3, node("w1", state="down"), node("w2")], ["m1", "m2", "m3"], [], [("remove", "w1")]),
        # a down manager gone from the inventory: demote first, then remove (quorum 2 of 2 after)
        ([node("m1", "manager"), node("m2", "manager"), node("m3", "manager", state="down", reachable=False)],
         ["m1", "m2"], [], [("demote", "m3"), ("remove", "m3")]),
        # a node that left and rejoined appears twice: the stale (down) entry is removed
        ([*M3, node("w1", state="down", node_id="old"), node("w1", node_id="new")], ["m1", "m2", "m3"], ["w1"],
         [("remove", "w1")]),
        # a down worker in the inventory is not promoted
        ([*M3, node("w1", state="down")], ["m1", "m2", "m3", "w1"], [], []),
    ],
    ids=["noop", "demote-one", "promote-first", "remove-down-worker", "remove-down-manager",
         "stale-duplicate", "no-promote-when-down"],
)  # fmt: skip
def test_plan(nodes, managers, workers, expected):
    assert steps(nodes, managers, workers) == expected


def test_stale_duplicate_removes_the_old_id():
    plan = sp.plan(sp.normalize([*M3, node("w1", state="down", node_id="old"), node("w1", node_id="new")]),
                   ["m1", "m2", "m3"], ["w1"])  # fmt: skip
    assert plan[0]["id"] == "old"


@pytest.mark.parametrize(
    ("nodes", "managers", "workers", "reason"),
    [
        # one of three managers unreachable; demoting a reachable one leaves 1 of 2
        ([node("m1", "manager"), node("m2", "manager"), node("m3", "manager", state="down", reachable=False)],
         ["m1", "m3"], ["m2"], "would leave 1 reachable of 2 managers"),
        # two of three unreachable: quorum already lost, nothing is safe
        ([node("m1", "manager"), node("m2", "manager", state="down", reachable=False),
          node("m3", "manager", state="down", reachable=False)], ["m1"], [], "has lost quorum: 1 of 3"),
        # the last manager cannot be demoted
        ([node("m1", "manager"), node("w1")], [], ["m1", "w1"], "without a manager"),
    ],
    ids=["demote-breaks-majority", "quorum-lost", "last-manager"],
)  # fmt: skip
def test_plan_refuses(nodes, managers, workers, reason):
    with pytest.raises(sp.PlanRefused, match=reason):
        sp.plan(sp.normalize(nodes), managers, workers)


def test_unmanaged_nodes_are_reported():
    nodes = sp.normalize([*M3, node("intruder"), node("gone", state="down")])
    assert sp.unmanaged(nodes, ["m1", "m2", "m3"], []) == ["intruder"]


@pytest.mark.parametrize(
    ("current", "desired", "changed", "removed"),
    [
        ({}, {"gpu.count": 2}, {"gpu.count": "2", "io.sophia.lambda_swarm.labels": "gpu.count"}, []),
        ({"gpu.count": "2", "io.sophia.lambda_swarm.labels": "gpu.count"}, {"gpu.count": 2}, {}, []),
        # the inventory dropped a label the role set earlier: removed; an operator's label stays
        ({"zone": "a", "team": "ml", "io.sophia.lambda_swarm.labels": "zone"}, {"cloud": "lab"},
         {"cloud": "lab", "io.sophia.lambda_swarm.labels": "cloud"}, ["zone"]),
    ],
    ids=["add", "unchanged", "remove-own-keep-foreign"],
)  # fmt: skip
def test_label_changes(current, desired, changed, removed):
    assert sp.label_changes(current, desired) == (changed, removed)


def test_live_entry_wins_over_a_stale_duplicate():
    stale = node("w1", state="down", node_id="old")
    stale["Spec"]["Labels"] = {"gpu.count": "2"}
    live = node("w1", node_id="new")
    for order in ([stale, live], [live, stale]):
        assert sp.live_by_hostname(order)["w1"]["ID"] == "new"


def test_no_removal_while_an_inventory_host_is_unresolved():
    nodes = [*M3, node("w1", state="down")]
    assert steps(nodes, ["m1", "m2", "m3"], []) == [("remove", "w1")]
    assert sp.plan(sp.normalize(nodes), ["m1", "m2", "m3"], [], unresolved=["gpu-worker-1"]) == []


def test_two_ready_entries_keep_the_newer_and_remove_nothing_yet():
    old, new = node("w1", node_id="old"), node("w1", node_id="new")
    old["CreatedAt"], new["CreatedAt"] = "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z"
    assert sp.live_by_hostname([new, old])["w1"]["ID"] == "new"
    assert steps([*M3, old, new], ["m1", "m2", "m3"], ["w1"]) == []


def test_node_names_from_the_role_fact_then_the_facts_and_the_unresolved_by_inventory_name():
    hostvars = {
        "m1": {"_swarm_node_name": "node-m1", "ansible_facts": {"nodename": "other"}},
        "m2": {"ansible_facts": {"nodename": "node-m2"}},
        "w1": {"ansible_facts": {}},
        "w2": {"_swarm_node_name": "", "ansible_facts": {"nodename": "node-w2"}},
    }
    assert swarm_node_names(hostvars, ["m1", "m2"], ["w1", "w2"]) == {
        "managers": ["node-m1", "node-m2"],
        "workers": ["node-w2"],
        "unresolved": ["w1"],
    }
    assert swarm_node_names(hostvars, None, None) == {"managers": [], "workers": [], "unresolved": []}


def _raw(node_id, hostname, state, created, labels=None, role="worker", availability="active"):
    return {
        "ID": node_id,
        "CreatedAt": created,
        "Description": {"Hostname": hostname},
        "Status": {"State": state},
        "Spec": {"Role": role, "Availability": availability, "Labels": labels or {}},
    }


@pytest.mark.parametrize(
    "nodes, hostname, labels, expected",
    [
        # not listed at all: no id, every wanted label (and the owner key) to set
        (
            [],
            "w1",
            {"cloud": "lab"},
            {
                "id": "",
                "set": {"cloud": "lab", "io.sophia.lambda_swarm.labels": "cloud"},
                "remove": [],
                "role": "",
                "availability": "",
            },
        ),
        # in line already: nothing to set or remove
        (
            [_raw("a", "w1", "ready", "1", {"cloud": "lab", "io.sophia.lambda_swarm.labels": "cloud"})],
            "w1",
            {"cloud": "lab"},
            {"id": "a", "set": {}, "remove": [], "role": "worker", "availability": "active"},
        ),
        # the stale (down) entry of a rejoined node is never the one changed; a label the
        # collection set earlier and no longer wants is removed, another's label kept
        (
            [
                _raw("old", "w1", "down", "1"),
                _raw(
                    "new",
                    "w1",
                    "ready",
                    "2",
                    {"gpu.count": "2", "team": "x", "io.sophia.lambda_swarm.labels": "gpu.count"},
                    "manager",
                    "drain",
                ),
            ],
            "w1",
            {"cloud": "lab"},
            {
                "id": "new",
                "set": {"cloud": "lab", "io.sophia.lambda_swarm.labels": "cloud"},
                "remove": ["gpu.count"],
                "role": "manager",
                "availability": "drain",
            },
        ),
    ],
)
def test_node_update(nodes, hostname, labels, expected):
    assert swarm_node_update(nodes, hostname, labels) == expected


def host(state="active", node_id="", broken=False, in_other=False, manager=False):
    return {
        "_swarm_local_state": state,
        "_swarm_node_id": node_id,
        "_swarm_broken": broken,
        "_swarm_in_other": in_other,
        "_swarm_is_manager": manager,
    }


def test_strangers_are_active_hosts_under_an_id_the_bootstrap_does_not_list():
    # the split this was found on: m1 forced a new cluster while m2 and m3 kept theirs
    listed = [
        node("m1", "manager", leader=True, node_id="a"),
        node("w1", node_id="b"),
        node("w2", node_id="c"),
    ]
    hostvars = {
        "m1": host(node_id="a", manager=True),
        "m2": host(node_id="x", manager=True),
        "m3": host(node_id="y", manager="True"),  # a templated fact may come back as a string
        "w1": host(node_id="b"),
        "w2": host(node_id="c"),
    }
    out = swarm_strangers(hostvars, ["m1", "m2", "m3", "w1", "w2"], "m1", listed)
    assert out == [
        {"host": "m2", "node_id": "x", "manager": True},
        {"host": "m3", "node_id": "y", "manager": True},
    ]


@pytest.mark.parametrize(
    "fact",
    [
        host(state="inactive", node_id="x"),  # joins in this run
        host(state="pending", node_id="x"),
        host(node_id="x", broken=True),  # left and rejoined in this run
        host(node_id="x", in_other="True"),
        host(node_id=""),  # no id: the broken-membership path, not this one
        host(node_id="b"),  # listed
    ],
)
def test_not_a_stranger(fact):
    listed = [node("m1", "manager", leader=True, node_id="a"), node("w1", node_id="b")]
    assert swarm_strangers({"m1": host(node_id="a"), "w1": fact}, ["m1", "w1"], "m1", listed) == []


def test_the_bootstrap_itself_is_never_a_stranger():
    assert swarm_strangers({"m1": host(node_id="zzz", manager=True)}, ["m1"], "m1", []) == []
