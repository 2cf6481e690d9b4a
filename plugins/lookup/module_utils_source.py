# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: module_utils_source
short_description: The source of one of this collection's module_utils, to run on a host without Ansible
version_added: 0.2.0
description:
  - Returns the text, byte for byte, of a file of C(plugins/module_utils) of the installed
    sophia.lambda_swarm, wherever Ansible loads the collection from (an installed tarball, a
    checkout linked into a collections path). Roles copy it to hosts with
    C(ansible.builtin.copy content=...) where a program runs the collection's logic outside a
    module (the MCP checker in a throwaway container, the textfile collectors).
  - Only this collection's module_utils that are standard library Python (the C(_)-prefixed
    private files) can be named; the name is found through Python's import system, never
    as a path, so a term cannot reach another file.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
options:
  _terms:
    description: File names, with or without C(.py) (C(_mcp_health), C(_metrics.py)).
    required: true
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: The MCP checker on the build host
  ansible.builtin.copy:
    content: "{{ lookup('sophia.lambda_swarm.module_utils_source', '_mcp_health.py') }}"
    dest: /var/lib/sophia-lambda-swarm/mcp_health.py
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: The text of each file, in the order of the terms.
  type: list
  elements: str
"""

import importlib.util
import re

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

PACKAGE = "ansible_collections.sophia.lambda_swarm.plugins.module_utils"
NAME_RE = re.compile(r"_[a-z][a-z0-9_]*")


def module_name(term):
    """The module's name for a term (``_mcp_health.py`` -> ``_mcp_health``); None when the term
    is not the name of a private module_utils file."""
    name = term[:-3] if isinstance(term, str) and term.endswith(".py") else term
    return name if isinstance(name, str) and NAME_RE.fullmatch(name) else None


def source(term):
    name = module_name(term)
    if name is None:
        raise AnsibleLookupError(
            "module_utils_source: %r is not a module_utils file of sophia.lambda_swarm; name one such as "
            "_mcp_health.py" % (term,)
        )
    try:
        spec = importlib.util.find_spec("%s.%s" % (PACKAGE, name))
    except ImportError as exc:
        raise AnsibleLookupError("module_utils_source: cannot find %s: %s" % (name, exc)) from None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise AnsibleLookupError(
            "module_utils_source: sophia.lambda_swarm has no plugins/module_utils/%s.py" % name
        )
    try:
        with open(spec.origin, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise AnsibleLookupError("module_utils_source: cannot read %s: %s" % (spec.origin, exc)) from None


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [source(term) for term in terms]
