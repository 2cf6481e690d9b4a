#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ufw_rules
short_description: Add a set of inbound ufw allow rules in one call, only the ones ufw lacks
version_added: 0.1.0
description:
  - "Reads ufw's own record of its rules (C(/etc/ufw/user.rules), and C(user6.rules) for IPv6
    sources) once, and runs C(ufw allow proto P from SRC to any port N) only for the rules it
    lacks. One module call for the whole set, where M(community.general.ufw) costs one call (and
    one ufw run) per rule even when nothing changes."
  - "Only adds rules; it never removes or reorders one, and leaves ufw's policies and its on/off
    state to the caller (M(community.general.ufw) with O(community.general.ufw#module:state))."
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - sophia.lambda_swarm.attributes
attributes:
  diff_mode:
    support: full
    details: The diff lists the rules added, one line each.
options:
  rules:
    description: The inbound allow rules wanted.
    type: list
    elements: dict
    required: true
    suboptions:
      port:
        description: The destination port.
        type: int
        required: true
      proto:
        description: The protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      src:
        description: The source, an address, a CIDR or C(any).
        type: str
        default: any
      comment:
        description: The comment ufw keeps with the rule.
        type: str
  rules_dir:
    description: Where ufw keeps C(user.rules) and C(user6.rules).
    type: path
    default: /etc/ufw
seealso:
  - module: community.general.ufw
"""

EXAMPLES = r"""
- name: Open the swarm ports to the cluster peers only
  sophia.lambda_swarm.ufw_rules:
    rules:
      - {port: 2377, proto: tcp, src: 10.0.0.12, comment: swarm management}
      - {port: 7946, proto: udp, src: 10.0.0.12, comment: swarm gossip}
      - {port: 443, src: any, comment: public}
"""

RETURN = r"""
added:
  description: The rules added (or that would be, in check mode), as C(proto port src).
  returned: success
  type: list
  elements: str
  sample: [tcp 2377 10.0.0.12]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._firewall import (
    FirewallError,
    ufw_allow_argv,
    ufw_missing_rules,
    ufw_rules_have,
)


def _read(path):
    if not os.path.exists(path):
        return ""
    with open(path) as handle:
        return handle.read()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    port=dict(type="int", required=True),
                    proto=dict(type="str", choices=["tcp", "udp"], default="tcp"),
                    src=dict(type="str", default="any"),
                    comment=dict(type="str"),
                ),
            ),
            rules_dir=dict(type="path", default="/etc/ufw"),
        ),
        supports_check_mode=True,
    )
    rules_dir = module.params["rules_dir"]
    have_v4 = ufw_rules_have(_read(os.path.join(rules_dir, "user.rules")))
    have_v6 = ufw_rules_have(_read(os.path.join(rules_dir, "user6.rules")))
    try:
        missing = ufw_missing_rules(module.params["rules"], have_v4, have_v6)
    except FirewallError as exc:
        module.fail_json(msg=str(exc))
    added = ["%s %s %s" % rule[:3] for rule in missing]
    result = dict(changed=bool(missing), added=added)
    if module._diff:
        result["diff"] = dict(before="", after="".join("allow %s\n" % line for line in added))
    if missing and not module.check_mode:
        ufw = module.get_bin_path("ufw", required=True)
        for rule in missing:
            rc, out, err = module.run_command(ufw_allow_argv(ufw, *rule), environ_update={"LANG": "C"})
            if rc != 0:
                module.fail_json(
                    msg="ufw could not add the rule %s %s from %s: %s"
                    % (rule[0], rule[1], rule[2], (err or out).strip()),
                    added=added[: missing.index(rule)],
                )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
