"""plugins/module_utils/_swarm_checks.py: what stops the swarm role before a node changes."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._swarm_checks import node_problems

NO_ADDRESS = "No advertise address for %s: set swarm_advertise_addr or swarm_advertise_interface for them."
NOT_UNIQUE = "Node names must be unique, found %s: give the hosts distinct hostnames."


def hv(**hosts):
    return {host: {"_swarm_addr": addr, "_swarm_node_name": name} for host, (addr, name) in hosts.items()}


@pytest.mark.parametrize(
    ("hostvars", "hosts", "expected"),
    [
        (hv(m1=("10.0.0.1", "m1"), w1=("10.0.0.2", "w1")), ["m1", "w1"], []),
        ({}, [], []),
        (hv(m1=("10.0.0.1", "m1"), w1=("", "w1"), w2=(None, "w2")), ["m1", "w1", "w2"], [NO_ADDRESS % "w1, w2"]),
        ({"m1": {"_swarm_node_name": "m1"}}, ["m1"], [NO_ADDRESS % "m1"]),
        (hv(m1=("10.0.0.1", "node"), w1=("10.0.0.2", "node")), ["m1", "w1"], [NOT_UNIQUE % "node, node"]),
        (
            hv(m1=("10.0.0.1", "node"), w1=("", "node"), w2=("10.0.0.3", "w2")),
            ["m1", "w1", "w2"],
            [NO_ADDRESS % "w1", NOT_UNIQUE % "node, node, w2"],
        ),
        # only the hosts asked about: an unreachable host (not in the play) is not judged
        (hv(m1=("10.0.0.1", "node"), w1=("", "node")), ["m1"], []),
        # no node name known: the inventory name stands for it
        ({"m1": {"_swarm_addr": "10.0.0.1"}, "w1": {"_swarm_addr": "10.0.0.2", "_swarm_node_name": "m1"}},
         ["m1", "w1"], [NOT_UNIQUE % "m1, m1"]),
    ],
    ids=["fine", "no-hosts", "no-address", "address-unset", "same-name", "both", "only-asked", "name-unset"],
)  # fmt: skip
def test_node_problems(hostvars, hosts, expected):
    assert node_problems(hostvars, hosts) == expected
