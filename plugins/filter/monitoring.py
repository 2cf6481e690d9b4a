# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the monitoring role: its Docker config names by content and the summary of
Prometheus's targets (logic in module_utils/_monitoring.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._monitoring import (
    config_names,
    target_summary,
)


def monitoring_config_names(files, contents):
    """key -> {file, name: KEY_<sha256 of the content, 10 hex digits>}."""
    try:
        return config_names(files, list(contents))
    except ValueError as exc:
        raise AnsibleFilterError("monitoring_config_names: %s" % exc) from None


def monitoring_target_summary(active_targets):
    """'JOB N, JOB N' of Prometheus's active targets, sorted by job."""
    return target_summary(active_targets)


class FilterModule(object):
    def filters(self):
        return {
            "monitoring_config_names": monitoring_config_names,
            "monitoring_target_summary": monitoring_target_summary,
        }
