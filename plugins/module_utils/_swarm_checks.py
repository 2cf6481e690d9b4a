# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: what stops the swarm role before it changes a node, from
what each host found about itself (its advertise address and node name). Pure functions, no
Ansible import."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Iterable, List, Mapping


def node_problems(hostvars: Mapping[str, Mapping[str, Any]], hosts: Iterable[str]) -> List[str]:
    """One message per problem of the ``hosts`` (inventory names), each with its fix: hosts
    without an advertise address (``_swarm_addr`` empty or not set), and node names
    (``_swarm_node_name``, else the inventory name) that are not unique. Empty: nothing stops
    the role."""
    hosts = list(hosts)
    no_address = [host for host in hosts if not (hostvars.get(host) or {}).get("_swarm_addr")]
    names = [str((hostvars.get(host) or {}).get("_swarm_node_name") or host) for host in hosts]
    problems = []
    if no_address:
        problems.append(
            "No advertise address for %s: set swarm_advertise_addr or swarm_advertise_interface for them."
            % ", ".join(no_address)
        )
    if len(names) != len(set(names)):
        problems.append(
            "Node names must be unique, found %s: give the hosts distinct hostnames." % ", ".join(names)
        )
    return problems
