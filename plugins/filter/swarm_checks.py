# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the swarm role's checks before any node changes (logic in
module_utils/_swarm_checks.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._swarm_checks import node_problems


def swarm_node_problems(hostvars, hosts):
    """Hosts without an advertise address and node names that are not unique, as messages."""
    return node_problems(hostvars, hosts or [])


class FilterModule(object):
    def filters(self):
        return {"swarm_node_problems": swarm_node_problems}
