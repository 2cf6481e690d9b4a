"""The one swarm address rule, on facts shaped like a Lambda host's before and after
Docker made its bridges (10.200.x from docker_default_address_pools)."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.filter.swarm import swarm_addresses
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._swarm_address import (
    interface_addresses,
    swarm_address,
)

POOLS = [{"base": "10.200.0.0/16", "size": 24}]
BEFORE = {
    "interfaces": ["lo", "eth0", "eth1"],
    "lo": {"ipv4": {"address": "127.0.0.1"}},
    "eth0": {"ipv4": {"address": "203.0.113.7"}},
    "eth1": {"ipv4": {"address": "10.19.4.21"}},
    "default_ipv4": {"address": "203.0.113.7", "interface": "eth0"},
}
# once Docker runs, its bridges come first in the interface list and are 10.x too
AFTER = dict(
    BEFORE,
    interfaces=["docker0", "docker_gwbridge", "br-0f3a", "veth12ab", "lo", "eth0", "eth1"],
    docker0={"ipv4": {"address": "10.200.0.1"}},
    docker_gwbridge={"ipv4": {"address": "10.200.1.1"}},
    **{"br-0f3a": {"ipv4": {"address": "10.200.2.1"}}, "veth12ab": {"ipv4": {"address": "10.9.9.9"}}},
)
LAB = {
    "interfaces": ["docker0", "eth0", "lo"],
    "docker0": {"ipv4": {"address": "10.200.0.1"}},
    "eth0": {"ipv4": {"address": "172.31.240.11"}},
    "default_ipv4": {"address": "172.31.240.11"},
}


@pytest.mark.parametrize("facts", [BEFORE, AFTER], ids=["before-docker", "after-docker"])
def test_a_lambda_host_advertises_its_private_address(facts):
    assert swarm_address(facts, exclude_networks=POOLS) == "10.19.4.21"


def test_an_address_inside_the_engines_pools_is_never_chosen():
    facts = dict(BEFORE, interfaces=["eth2", "eth1"], eth2={"ipv4": {"address": "10.200.5.5"}})
    assert swarm_address(facts, exclude_networks=POOLS) == "10.19.4.21"


def test_a_lab_node_with_no_private_network_uses_the_default_route():
    assert swarm_address(LAB, exclude_networks=POOLS) == "172.31.240.11"


def test_private_networks_can_name_the_lab_range():
    assert swarm_address(LAB, private_networks=["172.31.240.0/24"], exclude_networks=POOLS) == "172.31.240.11"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"explicit": "10.1.1.1", "private_ip": "10.2.2.2"}, "10.1.1.1"),
        ({"private_ip": "10.2.2.2", "interface": "eth0"}, "10.2.2.2"),
        ({"interface": "eth0"}, "203.0.113.7"),
    ],
)
def test_order_of_the_rule(kwargs, expected):
    assert swarm_address(AFTER, exclude_networks=POOLS, **kwargs) == expected


def test_secondary_addresses_count():
    facts = {
        "interfaces": ["eth0"],
        "eth0": {"ipv4": {"address": "1.2.3.4"}, "ipv4_secondaries": [{"address": "10.0.0.9"}]},
    }
    assert interface_addresses(facts) == [("eth0", "1.2.3.4"), ("eth0", "10.0.0.9")]
    assert swarm_address(facts) == "10.0.0.9"


def test_no_facts_no_address():
    assert swarm_address({}) == ""


def test_peer_addresses_have_no_empties_and_fall_back_to_ansible_host():
    hostvars = {
        "a": {"ansible_facts": AFTER, "swarm_advertise_addr": ""},
        "b": {"ansible_facts": {}, "ansible_host": "198.51.100.2"},
        "c": {"ansible_facts": LAB},
        "d": {"ansible_facts": LAB},
        "e": {"ansible_facts": {}, "lambda_private_ip": "10.7.7.7"},
    }
    got = swarm_addresses(hostvars, ["a", "b", "c", "d", "e"], ["10.0.0.0/8"], POOLS)
    assert got == ["10.19.4.21", "198.51.100.2", "172.31.240.11", "10.7.7.7"]
