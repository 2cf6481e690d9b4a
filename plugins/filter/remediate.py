# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/remediate.yml: a node's diagnosis to the ordered fixes, and the
labels a node lacks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._remediation_plan import (
    labels_missing,
    plan,
)


def remediation_plan(diag, is_manager, availability="active", threshold=85):
    return plan(diag, bool(is_manager), availability, int(threshold))


def remediation_labels_missing(have, want):
    return labels_missing(have, want)


class FilterModule(object):
    def filters(self):
        return {
            "remediation_plan": remediation_plan,
            "remediation_labels_missing": remediation_labels_missing,
        }
