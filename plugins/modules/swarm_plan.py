#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: swarm_plan
short_description: A quorum-safe plan that makes swarm membership equal to the inventory
version_added: 0.1.0
description:
  - From the swarm's nodes (as C(community.docker.docker_node_info) returns them) and the
    inventory's manager and worker groups, computes the ordered steps (promote, demote,
    remove) that make the roles equal to the inventory, one node at a time, promotions first.
  - Refuses (fails, changing nothing) when the swarm has lost quorum or when a step would
    leave the reachable managers short of a majority, with the reason.
  - Nodes that are down and no longer in the inventory are demoted (if managers) and removed;
    nodes that are up but not in the inventory are left alone and reported.
  - Labels are not its concern; the filter P(sophia.lambda_swarm.swarm_node_update#filter)
    computes a node's label changes (the swarm role's entry point C(node)).
  - Changes nothing itself; the role applies the steps.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - sophia.lambda_swarm.attributes
options:
  nodes:
    description: The swarm's nodes, the C(nodes) result of C(community.docker.docker_node_info).
    type: list
    elements: dict
    required: true
  managers:
    description: Hostnames the inventory lists as managers.
    type: list
    elements: str
    required: true
  workers:
    description: Hostnames the inventory lists as workers.
    type: list
    elements: str
    default: []
  unresolved:
    description:
      - Inventory hosts whose node name is unknown (unreachable, no cached facts). While there
        are any, no down node is removed, since it could be one of them.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Plan the membership changes
  sophia.lambda_swarm.swarm_plan:
    nodes: "{{ swarm_nodes.nodes }}"
    managers: "{{ groups['managers'] }}"
    workers: "{{ groups['workers'] }}"
  register: plan
"""

RETURN = r"""
steps:
  description: Ordered steps; each has C(action) (promote, demote, remove), C(hostname), C(id), C(why).
  returned: success
  type: list
  elements: dict
  sample: [{"action": "demote", "hostname": "m3", "id": "x1y2", "why": "inventory lists it under workers"}]
unmanaged:
  description: Nodes up in the swarm but in no inventory group (left alone).
  returned: success
  type: list
  elements: str
quorum:
  description: C(managers) and C(reachable) managers now.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._swarm_plan import (
    PlanRefused,
    normalize,
    plan,
    unmanaged,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nodes=dict(type="list", elements="dict", required=True),
            managers=dict(type="list", elements="str", required=True),
            workers=dict(type="list", elements="str", default=[]),
            unresolved=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    nodes = normalize(p["nodes"])
    manager_nodes = [n for n in nodes if n["role"] == "manager"]
    quorum = {"managers": len(manager_nodes), "reachable": len([n for n in manager_nodes if n["reachable"]])}
    try:
        steps = plan(nodes, p["managers"], p["workers"], p["unresolved"])
    except PlanRefused as exc:
        module.fail_json(msg="Refusing to change the swarm: %s." % exc, quorum=quorum)
    module.exit_json(
        changed=False,
        steps=steps,
        unmanaged=unmanaged(nodes, p["managers"], p["workers"]),
        quorum=quorum,
    )


if __name__ == "__main__":
    main()
