# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the firewall rules the roles keep (logic in module_utils/_firewall.py, the
ufw_rules module's own)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._firewall import (
    FirewallError,
    docker_user_rules,
    ufw_missing_rules,
    ufw_rules_for,
    ufw_rules_have,
)


def docker_user_rules_filter(peers, admin_sources=None, public_ports=None, gateway_sources=None):
    """The DOCKER-USER section for ufw's after.rules; a bad source or port fails naming it."""
    try:
        return docker_user_rules(
            peers,
            admin_sources or [],
            public_ports or [],
            ["any"] if gateway_sources is None else gateway_sources,
        )
    except FirewallError as exc:
        raise AnsibleFilterError(str(exc)) from None


def ufw_rules_for_filter(sources, ports, comment=""):
    """Rules (module ufw_rules) letting every source reach every port."""
    return ufw_rules_for(sources or [], ports or [], comment or "")


def ufw_rules_differ(rules, user_rules=None, user6_rules=None):
    """True when sophia.lambda_swarm.ufw_rules with these ``rules`` would add a rule to (or fail
    on) a host whose ufw records are ``user_rules`` and ``user6_rules`` (their texts; None: no
    file): the module's own rule."""
    try:
        have_v4, have_v6 = ufw_rules_have(user_rules or ""), ufw_rules_have(user6_rules or "")
        return bool(ufw_missing_rules(rules or [], have_v4, have_v6))
    except (FirewallError, AttributeError, TypeError):
        return True  # the module runs and names the problem


class FilterModule(object):
    def filters(self):
        return {
            "docker_user_rules": docker_user_rules_filter,
            "ufw_rules_for": ufw_rules_for_filter,
            "ufw_rules_differ": ufw_rules_differ,
        }
