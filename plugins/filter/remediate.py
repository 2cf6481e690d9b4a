# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter of playbooks/remediate.yml: a node's diagnosis to the ordered fixes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._remediation_plan import plan


def remediation_plan(diag, is_manager, availability="active", threshold=85, just_started=False):
    return plan(diag, bool(is_manager), availability, int(threshold), bool(just_started))


class FilterModule(object):
    def filters(self):
        return {
            "remediation_plan": remediation_plan,
        }
