#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: preflight_check
short_description: Prove on the controller that the inventory and the values a run needs resolve
version_added: 0.2.0
description:
  - Runs on the controller only (an action plugin), before any host is touched, and reports
    every problem at once, each naming the host or variable and the fix.
  - "Hosts: every name in O(hosts) is a valid host name; C(ansible_host) is set, unique, and
    an IP address or a name the controller resolves."
  - "Values, in the variables of O(context_host): each field of each C(secrets_list) entry
    resolves (a missing vault variable is named, with where to set it); file sources exist
    and environment sources are set on the controller; C(secrets_version_key) resolves and
    is at least O(min_key_length) characters when there are secrets; each variable in
    O(required) is defined and resolves; each variable in O(files) is empty or names a file
    on the controller."
  - Values are templated one at a time and never returned or printed.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - sophia.lambda_swarm.attributes
  - sophia.lambda_swarm.attributes.flow
attributes:
  check_mode:
    details: Only reads the inventory and the controller's files.
options:
  hosts:
    description: The inventory hosts of the cluster.
    type: list
    elements: str
    required: true
  context_host:
    description:
      - The host whose variables hold C(secrets_list) and the other values.
      - The first of O(hosts) when not given.
    type: str
  secrets:
    description: Check C(secrets_list) and C(secrets_version_key).
    type: bool
    default: true
  required:
    description: Variables that must be defined and resolve (for example the registry's credentials).
    type: list
    elements: str
    default: []
  files:
    description: Variables that are empty or name a file on the controller (certificates, keys).
    type: list
    elements: str
    default: []
  min_key_length:
    description: The shortest C(secrets_version_key) accepted.
    type: int
    default: 16
"""

EXAMPLES = r"""
- name: Prove the inventory before any host changes
  sophia.lambda_swarm.preflight_check:
    hosts: "{{ groups['managers'] + groups['workers'] }}"
    files: [stack_gateway_tls_cert, stack_gateway_tls_key]
"""

RETURN = r"""
problems:
  description: One line per problem (host or variable, what is wrong, the fix); empty when all is well.
  returned: always
  type: list
  elements: str
  sample:
    - "secrets_list[2] (warehouse_password) value needs vault_warehouse_password, which is not defined; ..."
checked_hosts:
  description: How many hosts were checked.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={
            "hosts": {"type": "list", "elements": "str", "required": True},
            "context_host": {"type": "str"},
            "files": {"type": "list", "elements": "str", "default": []},
            "required": {"type": "list", "elements": "str", "default": []},
            "secrets": {"type": "bool", "default": True},
            "min_key_length": {"type": "int", "default": 16, "no_log": False},
        },
        supports_check_mode=True,
    )
    module.fail_json(
        msg="preflight_check runs on the controller only (its action plugin); it has no remote part"
    )


if __name__ == "__main__":
    main()
