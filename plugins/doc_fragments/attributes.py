# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attribute values most of the collection's modules share. The descriptions come from
ansible.builtin.action_common_attributes, listed before this fragment; a module states only
where it differs (a diff, a check-mode detail)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # check mode full, no diff, POSIX targets
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

    # a module that returns ansible_facts (with ansible.builtin.action_common_attributes.facts)
    FACTS = r"""
attributes:
  facts:
    support: full
"""

    # a module with an action plugin that runs on the controller
    # (with ansible.builtin.action_common_attributes.flow)
    FLOW = r"""
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
"""
