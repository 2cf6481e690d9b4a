# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for preflight_check: template, on the controller, each value the run
will need (one at a time, so a missing variable is named), and report every problem at
once. The checks themselves are in module_utils/_preflight_check.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._preflight_check import (
    check_hosts,
    check_secret_sources,
    check_version_key,
    describe_undefined,
)

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "context_host": {"type": "str"},
    "files": {"type": "list", "elements": "str", "default": []},
    "required": {"type": "list", "elements": "str", "default": []},
    "secrets": {"type": "bool", "default": True},
    "min_key_length": {"type": "int", "default": 16},
}
VAULT_HINT = (
    "set it in the inventory (for a secret, in a vault-encrypted %s: "
    "ansible-vault create --vault-id NAME@prompt %s) or pass it with -e"
)


class _Unresolved(Exception):
    pass


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        hostvars = task_vars["hostvars"]
        problems = []
        context = args["context_host"] or (args["hosts"][0] if args["hosts"] else None)
        inventory_dir = hostvars.raw_get(context).get("inventory_dir") if context else None
        vault_file = os.path.join(str(inventory_dir or "inventory/NAME"), "group_vars", "all", "vault.yml")
        hint = VAULT_HINT % (vault_file, vault_file)

        def templar_of(host):
            return self._templar.copy_with_new_env(available_variables=hostvars.raw_get(host))

        def resolve(templar, value, where):
            try:
                return templar.template(value)
            except AnsibleError as exc:
                problems.append(describe_undefined(where, to_text(exc.message), hint))
                raise _Unresolved() from None

        hosts = []
        for host in args["hosts"]:
            raw = hostvars.raw_get(host)
            address = None
            if "ansible_host" in raw:
                try:
                    address = resolve(templar_of(host), raw["ansible_host"], "host %s: ansible_host" % host)
                except _Unresolved:
                    continue
            hosts.append({"name": host, "address": address})
        problems.extend(check_hosts(hosts))

        if context is not None:
            raw = hostvars.raw_get(context)
            templar = templar_of(context)
            if args["secrets"]:
                problems.extend(self._secrets(raw, templar, resolve, args["min_key_length"]))
            for name in args["required"]:
                if name not in raw:
                    problems.append("%s is not defined; %s" % (name, hint))
                    continue
                with contextlib.suppress(_Unresolved):
                    resolve(templar, raw[name], name)
            for name in args["files"]:
                try:
                    value = resolve(templar, raw.get(name, ""), name)
                except _Unresolved:
                    continue
                if value and not os.path.isfile(str(value)):
                    problems.append(
                        "%s names %s, which is not a file on the controller; create it or fix the "
                        "path in the inventory" % (name, value)
                    )
        result.update(changed=False, problems=problems, checked_hosts=len(args["hosts"]))
        if problems:
            result["failed"] = True
            result["msg"] = "preflight: %d problem(s) before any host changes:\n- %s" % (
                len(problems),
                "\n- ".join(problems),
            )
        return result

    @staticmethod
    def _secrets(raw, templar, resolve, min_key_length):
        problems = []

        def collect(value, where):
            try:
                return resolve(templar, value, where)
            except _Unresolved:
                return None

        entries = raw.get("secrets_list", [])
        if isinstance(entries, str):
            entries = collect(entries, "secrets_list") or []
        checked = []
        for index, entry in enumerate(entries or []):
            if not isinstance(entry, dict):
                problems.append("secrets_list[%d] is not a mapping; give name, source and its key" % index)
                continue
            name = entry.get("name", "no name")
            done = {"name": name}
            for key, value in entry.items():
                try:
                    done[key] = resolve(templar, value, "secrets_list[%d] (%s) %s" % (index, name, key))
                except _Unresolved:
                    continue  # resolve() has named the missing variable
            source = done.get("source") or "value"
            if source == "file" and "path" in done:
                done["path_exists"] = os.path.isfile(str(done["path"]))
            elif source == "env" and "env" in done:
                done["env_set"] = bool(os.environ.get(str(done["env"])))
            else:
                done.update(path_exists=True, env_set=True)
            checked.append(done)
        problems.extend(check_secret_sources(checked))
        if checked:
            key = collect(raw.get("secrets_version_key", ""), "secrets_version_key")
            if key is not None:
                problems.extend(check_version_key(to_text(key), True, min_key_length))
        return problems
