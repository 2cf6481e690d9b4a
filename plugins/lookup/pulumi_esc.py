# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: pulumi_esc
short_description: Read values from a Pulumi ESC environment
version_added: 0.1.0
description:
  - Opens a Pulumi ESC environment (C(org/project/env)) with the C(esc) CLI
    (C(esc env open <ref> --format json)) and returns its values, or the value at one
    property path in them.
  - The access token comes from C(PULUMI_ACCESS_TOKEN) on the controller. A missing token,
    an unknown environment and a missing path fail with a message saying which.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
options:
  _terms:
    description: Environment references, C(org/project/env) (an optional C(@version) is passed on).
    required: true
    type: list
    elements: str
  path:
    description: A property path in the values (C(db.password), C(hosts[0]), C(a["dotted.key"])).
    type: str
  esc:
    description: The esc binary; found on the PATH when not given.
    type: str
    default: esc
  lifetime:
    description: How long the opened environment's dynamic credentials live.
    type: str
    default: 15m
notes:
  - Values stay out of logs only where the task that uses them has C(no_log).
"""

EXAMPLES = r"""
- name: A database password from ESC (never logged)
  ansible.builtin.set_fact:
    db_password: "{{ lookup('sophia.lambda_swarm.pulumi_esc', 'acme/mcp/prod', path='db.password') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: The environment's values (a dict), or the value at O(path), per term.
  type: list
  elements: raw
"""

import json
import os
import shutil
import subprocess

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._secrets import value_at


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not os.environ.get("PULUMI_ACCESS_TOKEN"):
            raise AnsibleLookupError(
                "pulumi_esc: PULUMI_ACCESS_TOKEN is not set on the controller; export a Pulumi access"
                " token (https://app.pulumi.com/account/tokens) before running the play"
            )
        esc = shutil.which(self.get_option("esc"))
        if esc is None:
            raise AnsibleLookupError(
                "pulumi_esc: the esc CLI (%s) is not on the PATH; install it from Pulumi's releases"
                % self.get_option("esc")
            )
        return [self._open(esc, term) for term in terms]

    def _open(self, esc, ref):
        if ref.count("/") < 1 or ref.count("/") > 2:
            raise AnsibleLookupError("pulumi_esc: %r is not an environment reference (org/project/env)" % ref)
        argv = [esc, "env", "open", ref, "--format", "json", "--lifetime", self.get_option("lifetime")]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        except subprocess.TimeoutExpired:
            raise AnsibleLookupError(
                "pulumi_esc: esc env open %s did not answer within 120 s" % ref
            ) from None
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip()
            hint = ""
            if "not found" in detail.lower():
                hint = "; check the organization, project and environment names (esc env ls)"
            elif "unauthorized" in detail.lower() or "401" in detail or "credentials" in detail.lower():
                hint = "; PULUMI_ACCESS_TOKEN was refused: check the token and its organization"
            raise AnsibleLookupError("pulumi_esc: esc env open %s failed: %s%s" % (ref, detail, hint))
        try:
            values = json.loads(proc.stdout or "null")
        except ValueError:
            raise AnsibleLookupError("pulumi_esc: esc env open %s did not print JSON" % ref) from None
        path = self.get_option("path")
        try:
            return value_at(values, path)
        except KeyError as exc:
            raise AnsibleLookupError("pulumi_esc: %s: %s" % (ref, exc.args[0])) from None
