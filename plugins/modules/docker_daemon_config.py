#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_daemon_config
short_description: Merge the keys you own into Docker's daemon.json, keep the rest, validate before writing
version_added: 0.1.0
description:
  - Reads O(path), applies O(settings) key by key (a null value removes that key), drops
    O(remove), and keeps every other key as it was (keys set by Lambda Stack or an operator).
  - C(live-restore) is never left enabled, since it conflicts with Swarm.
  - The merged file is validated with C(dockerd --validate --config-file) (Docker 23 and
    later) before it is written; an older dockerd only gets the JSON checked. A file that
    already holds the merged settings is not validated again (nothing is written). A file
    that is not valid JSON is refused, never overwritten.
  - Writes only when the content changes, so a restart handler runs only then.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - sophia.lambda_swarm.attributes
attributes:
  diff_mode:
    support: full
options:
  path:
    description: The daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  settings:
    description: The keys this task owns and their values; null removes a key.
    type: dict
    required: true
  remove:
    description: Keys to remove if present.
    type: list
    elements: str
    default: []
  validate:
    description: Validate the merged file with C(dockerd --validate) where dockerd supports it.
    type: bool
    default: true
  dockerd:
    description: The dockerd binary used to validate; found on the PATH when not given.
    type: path
"""

EXAMPLES = r"""
- name: Merge log rotation and the GPU runtime into daemon.json
  sophia.lambda_swarm.docker_daemon_config:
    settings:
      log-driver: json-file
      log-opts: {max-size: 50m, max-file: "5"}
      node-generic-resources: ["NVIDIA-GPU=GPU-3f2a8c1e-5b7d-4e90-a1c2-7d1e0a4b5c60"]
  notify: Restart docker
"""

RETURN = r"""
config:
  description: The merged configuration.
  returned: always
  type: dict
changed_keys:
  description: Keys whose value changed (added, changed or removed).
  returned: always
  type: list
  elements: str
validated:
  description:
    - C(dockerd) when dockerd validated the file, C(json) when only the JSON was checked,
      C(unchanged) when the file already held the merged settings (nothing to validate or write).
  returned: always
  type: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._docker_daemon_config import (
    ConfigError,
    changed_keys,
    merge,
    parse,
    render,
)


def _validate(module, content):
    dockerd = module.params["dockerd"] or module.get_bin_path("dockerd")
    if not module.params["validate"] or not dockerd:
        return "json"
    env = {"LANG": "C", "LC_ALL": "C"}
    _rc, help_out, help_err = module.run_command([dockerd, "--help"], environ_update=env)
    if "--validate" not in help_out + help_err:
        return "json"
    fd, tmp = tempfile.mkstemp(prefix="daemon-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        rc, out, err = module.run_command([dockerd, "--validate", "--config-file", tmp], environ_update=env)
    finally:
        os.unlink(tmp)
    if rc != 0:
        module.fail_json(
            msg="dockerd rejects the merged %s: %s" % (module.params["path"], (err or out).strip()),
            config_candidate=content,
        )
    return "dockerd"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/docker/daemon.json"),
            settings=dict(type="dict", required=True),
            remove=dict(type="list", elements="str", default=[]),
            validate=dict(type="bool", default=True),
            dockerd=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    before_text = None
    if os.path.exists(path):
        with open(path) as handle:
            before_text = handle.read()
    try:
        before = parse(before_text, path)
    except ConfigError as exc:
        module.fail_json(msg=str(exc))
    after = merge(before, module.params["settings"], module.params["remove"])
    content = render(after)
    changed = before_text is None or before != after
    # a file that already holds these settings is not written: no dockerd to spawn for it
    validated = _validate(module, content) if changed else "unchanged"
    result = dict(
        changed=changed, config=after, changed_keys=changed_keys(before, after), validated=validated
    )
    if module._diff:
        result["diff"] = {
            "before": render(before) if before_text is not None else "",
            "after": content,
            "before_header": path,
            "after_header": path,
        }
    if changed and not module.check_mode:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".daemon.json.")
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
