#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gpu_facts
short_description: NVIDIA GPU facts from nvidia-smi
version_added: 0.1.0
description:
  - "Runs C(nvidia-smi --query-gpu=index,uuid,name,memory.total,driver_version,mig.mode.current
    --format=csv,noheader,nounits), C(nvidia-smi -L) and C(nvidia-smi), and returns the GPUs as
    the C(gpu) fact (count, model, per GPU index, UUID, name, memory, driver version, MIG mode
    and MIG devices; CUDA version)."
  - "A host without C(nvidia-smi), or whose driver does not answer, gets C(count=0): that is
    not a failure (C(error) says why)."
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
options:
  nvidia_smi:
    description: The nvidia-smi binary; found on the PATH when not given.
    type: path
"""

EXAMPLES = r"""
- name: Gather GPU facts
  sophia.lambda_swarm.gpu_facts:

- name: Label the node with its GPU model
  ansible.builtin.debug:
    msg: "{{ ansible_facts.gpu.count }} x {{ ansible_facts.gpu.model }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: always
  type: dict
  contains:
    gpu:
      description: The host's NVIDIA GPUs.
      type: dict
      contains:
        count:
          description: Number of GPUs (0 without nvidia-smi or a working driver).
          type: int
        model:
          description: Name of the first GPU.
          type: str
          sample: NVIDIA H100 80GB HBM3
        gpus:
          description: >-
            Per GPU C(index), C(uuid), C(name), C(memory_mib), C(driver_version), C(mig_mode),
            C(mig_devices).
          type: list
          elements: dict
        uuids:
          description: The GPU UUIDs, in index order.
          type: list
          elements: str
        driver_version:
          description: NVIDIA driver version.
          type: str
        cuda_version:
          description: The CUDA version the driver supports.
          type: str
        mig_enabled:
          description: Whether any GPU has MIG mode enabled.
          type: bool
        driver_loaded:
          description: Whether nvidia-smi could talk to the driver.
          type: bool
        nvidia_smi:
          description: Path of nvidia-smi, null when absent.
          type: str
        error:
          description: Why there are no GPU facts, when nvidia-smi failed.
          type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._gpu import QUERY_ARGS, build_facts


def main():
    module = AnsibleModule(argument_spec=dict(nvidia_smi=dict(type="path")), supports_check_mode=True)
    binary = module.params["nvidia_smi"] or module.get_bin_path("nvidia-smi")
    env = {"LANG": "C", "LC_ALL": "C"}
    outputs, error = {}, None
    if binary:
        for key, args in (("query", QUERY_ARGS), ("listing", ["-L"]), ("header", [])):
            rc, out, err = module.run_command([binary, *args], environ_update=env)
            if rc != 0:
                error = "nvidia-smi %s exited %d: %s" % (" ".join(args), rc, (out or err).strip())
                break
            outputs[key] = out
    try:
        facts = build_facts(binary=binary, error=error, **outputs)
    except ValueError as exc:
        module.fail_json(msg="cannot parse nvidia-smi output: %s" % exc)
    module.exit_json(changed=False, ansible_facts={"gpu": facts})


if __name__ == "__main__":
    main()
