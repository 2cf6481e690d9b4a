# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: gateway_token
short_description: The bearer token the collection's own checks send to the gateway
version_added: 0.2.0
description:
  - The gateway answers only callers with a bearer token it knows (C(stack_gateway_auth=bearer),
    the default). The collection's own checks (the stack role's health check, C(health.yml),
    C(upgrade.yml), C(remediate.yml), C(recover_quorum.yml), C(smoke.yml), the monitoring
    collector) are the gateway client C(lambda_swarm), with this token.
  - Returns C(stack_gateway_check_token) when the inventory sets it (from a vault, for a
    controller without a lasting state folder, such as a CI runner or AWX); otherwise the
    token kept in C(gateway/check-token) under the state folder (see
    R(sophia.lambda_swarm.state_dir,ansible_collections.sophia.lambda_swarm.state_dir_lookup)),
    made there at first use (64 hex characters from the system's random source; the folder
    0700, the file 0600). Several forks asking at once get the same token.
  - Removing the file and running C(site.yml) again rotates it.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
notes:
  - The token file is made on first use in check mode too (a file on the controller,
    nothing on a host).
"""

EXAMPLES = r"""
- name: Check every server through this host's gateway
  sophia.lambda_swarm.mcp_health:
    targets: >-
      {{ mcp_servers | sophia.lambda_swarm.mcp_gateway_targets(ansible_host, 443, 10,
           lookup('sophia.lambda_swarm.gateway_token')) }}
"""

RETURN = r"""
_raw:
  description: One element, the token.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._state import (
    StateDirError,
    read_or_make_token,
    state_path_from_vars,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        template = self._templar.template if self._templar is not None else None
        given = variables.get("stack_gateway_check_token")
        if given is not None and template is not None:
            given = template(given)
        if given:
            return [str(given)]
        try:
            path = state_path_from_vars(variables, template, os.getcwd(), "gateway", "check-token")
            return [read_or_make_token(path)]
        except (StateDirError, OSError) as exc:
            raise AnsibleLookupError("gateway_token: %s" % exc) from None
