# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the swarm role: a node's swarm address (logic in module_utils/_swarm_address.py)
the node names of the inventory's hosts, one node's label changes and the hosts in the swarm under a
node id its managers do not list (module_utils/_swarm_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._swarm_address import swarm_address as _rule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._swarm_plan import (
    node_names,
    node_update,
    strangers,
)


def swarm_address(
    facts,
    explicit="",
    private_ip="",
    interface="",
    private_networks=None,
    exclude_networks=None,
):
    try:
        return _rule(
            facts or {},
            explicit or "",
            private_ip or "",
            interface or "",
            private_networks if private_networks is not None else ["10.0.0.0/8"],
            exclude_networks or [],
        )
    except ValueError as exc:
        raise AnsibleFilterError("swarm_address: %s" % exc) from None


def swarm_addresses(hostvars, hosts, private_networks=None, exclude_networks=None):
    """The swarm address of each host in ``hosts`` (by each one's own variables and facts;
    ``ansible_host`` for a host whose facts are not known), without empties or repeats:
    the firewall's peers."""
    out = []
    for host in hosts or []:
        hv = hostvars[host]
        address = swarm_address(
            hv.get("ansible_facts") or {},
            hv.get("swarm_advertise_addr") or "",
            hv.get("lambda_private_ip") or "",
            hv.get("swarm_advertise_interface") or "",
            hv.get("swarm_private_networks") or private_networks,
            exclude_networks,
        )
        if not address and not hv.get("ansible_facts"):
            address = hv.get("ansible_host") or ""
        if address and address not in out:
            out.append(address)
    return out


def swarm_node_names(hostvars, managers, workers):
    """The swarm node names of the inventory's managers and workers (and the unresolved)."""
    return node_names(hostvars, managers or [], workers or [])


def swarm_node_update(nodes, hostname, labels):
    """One node's live entry id and the label changes that make it follow ``labels``."""
    return node_update(nodes or [], hostname or "", labels or {})


def swarm_strangers(hostvars, hosts, bootstrap, nodes):
    """The hosts in the swarm under a node id that ``nodes`` (the bootstrap manager's list) lacks."""
    return strangers(hostvars, hosts or [], bootstrap or "", nodes or [])


class FilterModule(object):
    def filters(self):
        return {
            "swarm_address": swarm_address,
            "swarm_addresses": swarm_addresses,
            "swarm_node_names": swarm_node_names,
            "swarm_node_update": swarm_node_update,
            "swarm_strangers": swarm_strangers,
        }
