"""_backup: which manager the backup role stops for the swarm archive, and the quorum margin.
Cases in the shape community.docker.docker_node_info returns (the Docker API's nodes)."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._backup import (
    managers,
    not_leaders,
    reachable,
    swarm_backup_source,
)


def node(hostname, role="manager", reach="reachable", leader=None):
    """A node as docker_node_info lists it: ManagerStatus only on managers, Leader only
    where given (Docker sets it on the leader alone)."""
    out = {"ID": "id-" + hostname, "Description": {"Hostname": hostname}, "Spec": {"Role": role}}
    if role == "manager":
        out["ManagerStatus"] = {"Reachability": reach, "Addr": "10.0.0.1:2377"}
        if leader is not None:
            out["ManagerStatus"]["Leader"] = leader
    return out


M1_LEADS = [node("m1", leader=True), node("m2"), node("m3"), node("w1", role="worker")]
# inventory name -> node name, in play order
SAME = {"m1": "m1", "m2": "m2", "m3": "m3"}


@pytest.mark.parametrize(
    ("nodes", "hosts", "wanted", "manager", "hostname", "margin_ok"),
    [
        # the first reachable manager that is not the leader; 3 managers spare one
        (M1_LEADS, SAME, "", "m2", "m2", True),
        # inventory names differ from hostnames: the inventory name is returned
        (M1_LEADS, {"a": "m1", "b": "m2", "c": "m3"}, "", "b", "m2", True),
        # narrowed to one manager
        (M1_LEADS, SAME, "m3", "m3", "m3", True),
        # the leader is never chosen, even when asked for
        (M1_LEADS, SAME, "m1", "", "", True),
        # a worker is never chosen
        (M1_LEADS, {"w1": "w1"}, "w1", "", "", True),
        # a candidate that is not in the play (unreachable, or -l) is skipped for the next one
        (M1_LEADS, {"m1": "m1", "m3": "m3"}, "", "m3", "m3", True),
        # no candidate in the play at all
        (M1_LEADS, {"m1": "m1"}, "", "", "", True),
        # one of 3 managers unreachable: 2 reachable, stopping one leaves 1 of 3, no majority
        ([node("m1", leader=True), node("m2"), node("m3", reach="unreachable")], SAME, "", "m2", "m2", False),
        # 5 managers, one down: 4 reachable, 3 left > 5 // 2
        (
            [node("m1", leader=True), node("m2"), node("m3"), node("m4"), node("m5", reach="unreachable")],
            {"m%d" % i: "m%d" % i for i in range(1, 6)},
            "",
            "m2",
            "m2",
            True,
        ),
        # one manager alone: no margin, and only the leader
        ([node("m1", leader=True)], {"m1": "m1"}, "", "", "", False),
        # an unreachable manager is never chosen
        ([node("m1", leader=True), node("m2", reach="unreachable"), node("m3")], SAME, "m2", "", "", False),
        # nothing known (the node list was not read: quorum not ok)
        ([], SAME, "", "", "", False),
        (None, SAME, "", "", "", False),
    ],
)
def test_swarm_backup_source(nodes, hosts, wanted, manager, hostname, margin_ok):
    assert swarm_backup_source(nodes, hosts, wanted) == {
        "manager": manager,
        "hostname": hostname,
        "margin_ok": margin_ok,
    }


def test_managers_without_leader_key_come_before_those_whose_leader_is_false():
    nodes = [node("m1", leader=False), node("m2", leader=True), node("m3")]
    assert [n["Description"]["Hostname"] for n in not_leaders(nodes)] == ["m3", "m1"]
    assert swarm_backup_source(nodes, SAME)["manager"] == "m3"
    # play order does not matter, the swarm's order (within each group) does
    assert swarm_backup_source(nodes, {"m3": "m3", "m1": "m1"})["manager"] == "m3"
    assert swarm_backup_source(nodes, {"m1": "m1"})["manager"] == "m1"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ([node("m1"), node("w1", role="worker")], ["m1"]),
        # incomplete entries (no Spec, no Role) are no managers
        ([{"Description": {"Hostname": "x"}}, {"Spec": {}}, {"Spec": None}], []),
    ],
)
def test_managers(given, kept):
    assert [n["Description"]["Hostname"] for n in managers(given)] == kept


@pytest.mark.parametrize(
    ("reach", "kept"),
    [("reachable", True), ("unreachable", False), ("unknown", False), ("", False)],
)
def test_reachable(reach, kept):
    assert (reachable([node("m1", reach=reach)]) != []) is kept


def test_a_manager_without_manager_status_is_not_reachable():
    bare = {"Description": {"Hostname": "m1"}, "Spec": {"Role": "manager"}}
    assert reachable([bare]) == []
    assert swarm_backup_source([bare], {"m1": "m1"}) == {"manager": "", "hostname": "", "margin_ok": False}


def test_two_play_hosts_with_one_node_name_the_first_in_play_order_wins():
    assert swarm_backup_source(M1_LEADS, {"x": "m2", "y": "m2"})["manager"] == "x"
