# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the secrets role: the secrets_list entries without their values (for the
checks, which a loop prints at -v) and the references the stack role mounts (logic in
module_utils/_secrets.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError, AnsibleUndefinedVariable
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._secrets import (
    SecretsListError,
    stack_refs,
    without_values,
)
from jinja2 import Undefined
from jinja2.exceptions import UndefinedError


def _resolves(entry):
    """Whether the entry has a value that resolves: a value from an undefined variable (a vault
    variable not set) is no value. The value is templated to tell, never returned."""
    if "value" not in entry:
        return False
    try:
        return not isinstance(entry["value"], Undefined)
    except (UndefinedError, AnsibleUndefinedVariable):
        return False


def secrets_without_values(entries):
    """Each secrets_list entry without its value, with has_value (a value that resolves)."""
    return without_values(entries, _resolves)


def secrets_refs(entries, versions, previous=None):
    """Per secret: name, versioned, previous, target, uid, gid, mode, services."""
    try:
        return stack_refs(entries, versions, previous)
    except SecretsListError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule(object):
    def filters(self):
        return {
            "secrets_without_values": secrets_without_values,
            "secrets_refs": secrets_refs,
        }
