#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nvidia_runtime_config
short_description: Make the NVIDIA container runtime give a Swarm task only the GPUs Swarm assigned
version_added: 0.1.0
description:
  - "Swarm hands a task the generic resources it reserved only as the environment variable
    C(DOCKER_RESOURCE_<KIND>) (the kind upper-cased, values comma-separated). The NVIDIA runtime
    reads it only when the top-level C(swarm-resource) key of its C(config.toml) names it;
    without that, every GPU task sees every GPU of its node."
  - "Sets C(swarm-resource) to include the variable of O(resource_kind) (names already there are
    kept) and checks that C([nvidia-container-runtime] mode) honours it on the installed toolkit:
    C(legacy) always; C(auto) before 1.18.0 (it means C(legacy) there) and from 1.19.0; C(jit-cdi)
    from 1.19.0 (1.18 ignored Swarm in that mode, NVIDIA's toolkit issue 1599); C(cdi) and C(csv)
    never. With O(mode) unset, a mode that does not honour it becomes C(legacy); a O(mode) that
    cannot work fails with the toolkit version in the message, and nothing is written."
  - "Keys are written one by one with the toolkit's own C(nvidia-ctk config --in-place --set)
    where C(nvidia-ctk) exists; on older toolkits the two lines are edited in place and every
    other line is kept. Nothing is written when the file is already right."
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
    description: The runtime's configuration file.
    type: path
    default: /etc/nvidia-container-runtime/config.toml
  resource_kind:
    description:
      - The generic resource kind the node announces its GPUs as (dockerd's C(node-generic-resources)).
    type: str
    default: NVIDIA-GPU
  mode:
    description:
      - The runtime mode wanted. Unset, the file's mode is kept when it honours C(swarm-resource),
        otherwise C(legacy) is set.
    type: str
    choices: [auto, legacy, jit-cdi, cdi, csv]
  nvidia_ctk:
    description: The nvidia-ctk binary; found on the PATH when not given.
    type: path
"""

EXAMPLES = r"""
- name: Let a Swarm task see only the GPUs it reserved
  sophia.lambda_swarm.nvidia_runtime_config:
    resource_kind: NVIDIA-GPU
  notify: Restart docker
"""

RETURN = r"""
toolkit_version:
  description: The NVIDIA container toolkit's version.
  returned: success
  type: str
  sample: 1.18.1
swarm_resource:
  description: The C(swarm-resource) value after the run.
  returned: success
  type: str
  sample: DOCKER_RESOURCE_NVIDIA-GPU
mode:
  description: The runtime mode set in the file after the run (C(auto) when the file sets none).
  returned: success
  type: str
  sample: legacy
changed_keys:
  description: The keys written (or that would be, in check mode).
  returned: success
  type: list
  elements: str
"""

import os
import tempfile

try:
    import tomllib  # Python 3.11 and later; older targets skip the parse check
except ImportError:
    tomllib = None

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._nvidia_runtime_config import (
    CTK_CONFIG_SET,
    DEFAULT_PATH,
    MODE_KEY,
    SWARM_KEY,
    RuntimeConfigError,
    edit_text,
    parse_version,
    plan,
    read_settings,
    show_version,
)


def _read(path):
    if not os.path.exists(path):
        return ""
    with open(path) as handle:
        return handle.read()


def _toolkit_version(module, ctk):
    env = {"LANG": "C", "LC_ALL": "C"}
    for binary in (ctk, module.get_bin_path("nvidia-container-runtime")):
        if binary:
            _rc, out, err = module.run_command([binary, "--version"], environ_update=env)
            version = parse_version(out + err)
            if version:
                return version
    return None


def _describe(settings):
    shown = dict(
        (key, "(not set)" if settings[key] is None else settings[key]) for key in (SWARM_KEY, MODE_KEY)
    )
    return "".join("%s = %s\n" % (key, shown[key]) for key in (SWARM_KEY, MODE_KEY))


def _write(module, ctk, path, text, wanted):
    """With nvidia-ctk where it has ``config --set`` (1.14 and later), else the lines edited."""
    if ctk:
        command = [ctk, "config", "--in-place"]
        if path != DEFAULT_PATH:
            command += ["--config-file", path]
        for key, value in wanted.items():
            command += ["--set", "%s=%s" % (key, value)]
        rc, out, err = module.run_command(command, environ_update={"LANG": "C", "LC_ALL": "C"})
        if rc != 0:
            module.fail_json(msg="%s failed (rc %d): %s" % (" ".join(command), rc, (err or out).strip()))
        return
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    edited = edit_text(text, wanted)
    if tomllib is not None:  # never leave a file the runtime cannot load
        try:
            tomllib.loads(edited)
        except ValueError as exc:
            module.fail_json(
                msg="%s: the edited file would not be valid TOML (%s); nothing written" % (path, exc)
            )
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".config.toml.")
    with os.fdopen(fd, "w") as handle:
        handle.write(edited)
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default=DEFAULT_PATH),
            resource_kind=dict(type="str", default="NVIDIA-GPU"),
            mode=dict(type="str", choices=["auto", "legacy", "jit-cdi", "cdi", "csv"]),
            nvidia_ctk=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    ctk = module.params["nvidia_ctk"] or module.get_bin_path("nvidia-ctk")
    version = _toolkit_version(module, ctk)
    text = _read(path)
    before = read_settings(text)
    if version is None and module.check_mode:
        # check mode on a host whose toolkit is still to be installed (the host role installs it)
        module.warn(
            "no NVIDIA container toolkit yet (the host role installs it): %s is checked once it is there"
            % path
        )
        module.exit_json(changed=True, toolkit_version="unknown", swarm_resource=before[SWARM_KEY],
                         mode=before[MODE_KEY] or "auto", changed_keys=[SWARM_KEY])  # fmt: skip
    try:
        wanted = plan(version, before, module.params["resource_kind"], module.params["mode"])
    except RuntimeConfigError as exc:
        module.fail_json(msg="%s: %s" % (path, exc), toolkit_version=show_version(version))
    after = dict(before, **wanted)
    if wanted and not module.check_mode:
        _write(module, ctk if version >= CTK_CONFIG_SET else None, path, text, wanted)
        written = read_settings(_read(path))
        if any(written[key] != value for key, value in wanted.items()):
            module.fail_json(
                msg="%s: after writing, the file says %s; expected %s"
                % (path, _describe(written).strip(), _describe(after).strip())
            )
        after = written
    result = dict(
        changed=bool(wanted),
        toolkit_version=show_version(version),
        swarm_resource=after[SWARM_KEY],
        mode=after[MODE_KEY] or "auto",
        changed_keys=sorted(wanted),
    )
    if module._diff:
        result["diff"] = {"before": _describe(before), "after": _describe(after),
                          "before_header": path, "after_header": path}  # fmt: skip
    module.exit_json(**result)


if __name__ == "__main__":
    main()
