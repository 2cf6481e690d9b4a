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
  - "Runs C(nvidia-smi
    --query-gpu=index,uuid,name,memory.total,driver_version,mig.mode.current,mig.mode.pending
    --format=csv,noheader,nounits), C(nvidia-smi -L) and C(nvidia-smi), and returns the GPUs as
    the C(gpu) fact (count, model, per GPU index, UUID, name, memory, driver version, MIG mode
    now and after the next GPU reset, and MIG devices; CUDA version)."
  - "C(resources) is what the host can hand to containers, one entry per device: on a GPU with
    MIG enabled each of its MIG devices (by its C(MIG-...) UUID from C(nvidia-smi -L)), every
    other GPU whole. Announce C(resource_uuids) as the Swarm generic resources, so that a task
    that reserves one gets one MIG device or one GPU. A GPU with MIG enabled but no MIG device
    offers nothing (C(mig_gpus_without_devices))."
  - "A host without C(nvidia-smi), or whose driver does not answer, gets C(count=0): that is
    not a failure (C(error) says why)."
  - "With O(container_cli), a host that has GPUs also runs C(nvidia-container-cli info), the
    NVIDIA container toolkit's own check that it sees the driver and the GPUs, and reports it
    as C(container_cli) in the same run; a failing check is reported there, not a failure."
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
  - sophia.lambda_swarm.attributes
  - sophia.lambda_swarm.attributes.facts
options:
  nvidia_smi:
    description: The nvidia-smi binary; found on the PATH when not given.
    type: path
  container_cli:
    description:
      - Also run C(nvidia-container-cli info) (found on the PATH) where GPUs were found, and
        return its verdict as C(gpu.container_cli).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Gather GPU facts
  sophia.lambda_swarm.gpu_facts:

- name: Gather GPU facts, and whether the container toolkit sees the GPUs
  sophia.lambda_swarm.gpu_facts:
    container_cli: true

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
          description:
            - Per GPU C(index), C(uuid), C(name) (the model), C(memory_mib), C(driver_version),
              C(mig_mode) and C(mig_mode_pending) (C(enabled), C(disabled), or null where the
              board has no MIG; they differ until the GPU is reset), C(mig_devices).
            - C(mig_devices) lists the MIG devices C(nvidia-smi -L) shows under the GPU, each with
              C(profile) (such as C(1g.10gb)), C(index), C(uuid) (C(MIG-<uuid>), or
              C(MIG-GPU-<uuid>/<gi>/<ci>) from drivers before 470) and C(memory_gb) (as the
              profile's name gives it).
          type: list
          elements: dict
        uuids:
          description: The physical GPUs' UUIDs, in index order (MIG or not).
          type: list
          elements: str
        resources:
          description:
            - The devices the host offers to containers, in GPU index order. Each has C(uuid),
              C(type) (C(gpu) or C(mig)), C(gpu_index), C(gpu_uuid), C(name), C(profile) (MIG
              only), C(memory_mib) (whole GPUs only) and C(profile_memory_gb) (MIG only).
            - A GPU with MIG enabled appears as its MIG devices, not itself.
          type: list
          elements: dict
          sample:
            - {uuid: MIG-0929581a-2be6-5dec-bf34-0954c6c529a6, type: mig, gpu_index: 0,
               gpu_uuid: GPU-932bfb2c-849a-2a22-1e84-9eff6bc02b39,
               name: NVIDIA A100 80GB PCIe MIG 3g.40gb,
               profile: 3g.40gb, memory_mib: null, profile_memory_gb: 40}
        resource_uuids:
          description: >-
            The UUIDs of C(resources), the values to announce as Swarm generic resources
            (C(node-generic-resources)); equal to C(uuids) on a host without MIG.
          type: list
          elements: str
        mig_gpus_without_devices:
          description: Indexes of GPUs with MIG enabled and no MIG device yet (they offer nothing).
          type: list
          elements: int
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
        container_cli:
          description:
            - The NVIDIA container toolkit's check, with O(container_cli) on a host with GPUs;
              null otherwise.
          type: dict
          contains:
            path:
              description: Path of nvidia-container-cli, null when it is not installed.
              type: str
            ok:
              description: Whether C(nvidia-container-cli info) exited 0.
              type: bool
            error:
              description: Its exit code and output when it failed, or why it did not run.
              type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._gpu_facts import (
    QUERY_ARGS,
    build_facts,
    container_cli_verdict,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(nvidia_smi=dict(type="path"), container_cli=dict(type="bool", default=False)),
        supports_check_mode=True,
    )
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
    facts["container_cli"] = None
    if module.params["container_cli"] and facts["count"] > 0:
        cli = module.get_bin_path("nvidia-container-cli")
        ran = module.run_command([cli, "info"], environ_update=env) if cli else ()
        facts["container_cli"] = container_cli_verdict(cli, *ran)
    module.exit_json(changed=False, ansible_facts={"gpu": facts})


if __name__ == "__main__":
    main()
