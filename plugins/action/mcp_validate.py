# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for mcp_validate: validate a tree on the controller (the usual case), or
hand over to the module on the target with remote_src=true."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate import HAS_YAML
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_spec import ARGUMENT_SPEC, run


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if params["remote_src"]:
            self._requires_connection = True
            result.update(
                self._execute_module(
                    module_name="sophia.lambda_swarm.mcp_validate",
                    module_args=self._task.args,
                    task_vars=task_vars,
                )
            )
            return result
        if not HAS_YAML:
            raise AnsibleActionFail("mcp_validate needs PyYAML on the controller")
        try:
            output, failure = run(params)
        except (ValueError, OSError) as exc:
            raise AnsibleActionFail("mcp_validate: %s" % exc) from None
        result.update(output)
        if failure:
            result["failed"] = True
            result["msg"] = failure
        return result
