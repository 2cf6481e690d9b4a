"""The DOCKER-USER rules of the host firewall: what reaches a published port, in order."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.filter.firewall import docker_user_rules_filter
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._firewall import (
    FirewallError,
    docker_user_rules,
)

PUBLIC = [{"port": 443, "proto": "tcp"}, {"port": 80, "proto": "tcp"}]


def test_replies_containers_peers_admins_then_public_ports_then_drop():
    text = docker_user_rules(["10.0.0.5", "10.0.0.6", "10.0.0.5"], ["192.0.2.0/24"], PUBLIC)
    lines = text.splitlines()
    assert lines[:3] == [
        "*filter",
        ":DOCKER-USER - [0:0]",
        "-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    ]
    assert lines[3:6] == [
        "-A DOCKER-USER -i %s -j RETURN" % b for b in ("docker0", "docker_gwbridge", "br-+")
    ]
    assert lines[6:9] == [
        "-A DOCKER-USER -s 10.0.0.5/32 -j RETURN",  # once, though given twice
        "-A DOCKER-USER -s 10.0.0.6/32 -j RETURN",
        "-A DOCKER-USER -s 192.0.2.0/24 -j RETURN",
    ]
    assert lines[9:11] == [
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 443 --ctdir ORIGINAL -j RETURN",
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 80 --ctdir ORIGINAL -j RETURN",
    ]
    assert lines[11:] == [
        "-A DOCKER-USER -o %s -j DROP" % b for b in ("docker0", "docker_gwbridge", "br-+")
    ] + ["COMMIT"]
    assert text.endswith("COMMIT\n")
    assert "-j DROP" not in " ".join(lines[:11])  # nothing is dropped before every allow


def test_public_ports_from_the_gateway_sources_only():
    lines = docker_user_rules([], [], PUBLIC[:1], ["203.0.113.7", "198.51.100.0/24"]).splitlines()
    assert [line for line in lines if "ctorigdstport" in line] == [
        "-A DOCKER-USER -s 203.0.113.7/32 -p tcp -m conntrack --ctorigdstport 443 --ctdir ORIGINAL -j RETURN",
        "-A DOCKER-USER -s 198.51.100.0/24 -p tcp -m conntrack --ctorigdstport 443 --ctdir ORIGINAL -j RETURN",
    ]
    # no gateway source: the public ports reach nobody but the peers and admins
    assert "ctorigdstport" not in docker_user_rules([], [], PUBLIC, [])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((["node1.example"], [], PUBLIC), r"cluster peer: 'node1.example' is not an address or a CIDR"),
        ((["10.0.0.5"], ["any"], PUBLIC), r"host_admin_sources: 'any' is not an address"),
        ((["10.0.0.5"], ["10.0.0.0/8; -j ACCEPT"], PUBLIC), r"host_admin_sources"),
        (([], [], [{"port": 443, "proto": "sctp"}]), r"host_public_ports\[0\]"),
        (([], [], [{"port": "443 -j ACCEPT", "proto": "tcp"}]), r"host_public_ports\[0\]"),
        (([], [], [PUBLIC[0], {"port": 0}]), r"host_public_ports\[1\]"),
        (([], [], PUBLIC, ["10.0.0.999"]), r"host_gateway_sources: '10.0.0.999'"),
    ],
)
def test_what_the_rules_cannot_carry_is_refused_by_name(args, message):
    with pytest.raises(FirewallError, match=message):
        docker_user_rules(*args)
    with pytest.raises(AnsibleFilterError, match=message):
        docker_user_rules_filter(*args)


def test_filter_defaults():
    assert docker_user_rules_filter(["10.0.0.5"]) == docker_user_rules(["10.0.0.5"], [], [], ["any"])
