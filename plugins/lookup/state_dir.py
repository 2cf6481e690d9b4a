# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: state_dir
short_description: The controller folder where sophia.lambda_swarm keeps what must last
version_added: 0.2.0
description:
  - Returns the controller's state folder, or paths under it (one per term). It holds the
    registry CA and its private key, the gateway certificates made by the collection,
    rendered stacks, health and validation reports, and backups. Back it up; keep it
    private (the roles create it with mode 0700).
  - The folder is the variable C(lambda_swarm_state_dir) when the inventory sets it (a
    relative path is taken from the current directory); otherwise C(.lambda_swarm) beside
    the first inventory source (inside an inventory directory, or next to an inventory
    file; Ansible skips hidden entries when it reads an inventory directory).
  - Fails when the folder would be inside an installed collection (a path with an
    C(ansible_collections) component), where the next C(ansible-galaxy collection install)
    deletes it.
  - Creates nothing.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
options:
  _terms:
    description: Paths under the state folder (C(ca), C(reports), C(backups)); none for the folder itself.
    required: false
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Where the backups go
  ansible.builtin.debug:
    msg: "{{ lookup('sophia.lambda_swarm.state_dir', 'backups') }}"

# group_vars/all/state.yml: keep the state somewhere of your own
# lambda_swarm_state_dir: /srv/lambda-swarm/prod
"""

RETURN = r"""
_raw:
  description: The state folder (no terms) or one absolute path under it per term.
  type: list
  elements: path
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._state import (
    StateDirError,
    state_path_from_vars,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        template = self._templar.template if self._templar is not None else None
        cwd = os.getcwd()
        try:
            if not terms:
                return [state_path_from_vars(variables, template, cwd)]
            return [state_path_from_vars(variables, template, cwd, term) for term in terms]
        except StateDirError as exc:
            raise AnsibleLookupError(str(exc)) from None
