#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kernel_preflight
short_description: Check that the kernel has what Docker Swarm needs, and say what breaks without it
version_added: 0.1.0
description:
  - Loads the kernel modules Swarm needs that are not loaded yet (where C(modprobe) and the
    modules exist), then checks each feature and returns the result as facts.
  - "Features: C(ipvs) (routing mesh and service VIPs), C(vxlan) (overlay networks), C(esp)
    (encrypted overlays: an ESP state with C(rfc4106(gcm(aes))) is added and deleted in the
    host's network namespace), C(br_netfilter) (filtering of bridged traffic), C(overlay)
    (the overlay2 storage driver); and the cgroup version."
  - With O(profile=production) a missing feature fails the task with the feature, what breaks
    without it, and the fix. With O(profile=lab) the missing features are recorded, with the
    adaptations later roles apply (C(dnsrr) endpoints, host-mode ports, unencrypted overlays).
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
  - sophia.lambda_swarm.attributes
  - sophia.lambda_swarm.attributes.facts
attributes:
  check_mode:
    details: In check mode no module is loaded; the modules that would be loaded are listed.
options:
  profile:
    description: C(production) fails on a missing feature; C(lab) records it.
    type: str
    choices: [production, lab]
    default: production
  load_modules:
    description: Load the kernel modules of missing features with C(modprobe) first.
    type: bool
    default: true
  functional_probes:
    description:
      - Prove VXLAN and ESP by creating (and deleting) a VXLAN link and an ESP state.
      - When false, only C(/sys/module) is looked at, which misses built-in modules.
    type: bool
    default: true
  encrypted_overlay:
    description: Whether overlay networks should be encrypted; when false, a missing C(esp) is not a failure.
    type: bool
    default: true
notes:
  - Needs root (C(CAP_NET_ADMIN) for the probes, C(CAP_SYS_MODULE) to load modules).
  - C(changed) is true only when a kernel module was loaded.
"""

EXAMPLES = r"""
- name: Check the kernel (fails on a production host that lacks a feature)
  sophia.lambda_swarm.kernel_preflight:
    profile: "{{ swarm_profile | default('production') }}"

- name: Show what later roles adapt to
  ansible.builtin.debug:
    var: ansible_facts.kernel_preflight.adaptations
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: always
  type: dict
  contains:
    kernel_preflight:
      description: What the kernel has.
      type: dict
      contains:
        kernel:
          description: Kernel release.
          type: str
        profile:
          description: The profile evaluated against.
          type: str
        cgroup_version:
          description: 1 or 2.
          type: int
        features:
          description: Per feature, C(present), C(evidence), modules C(loaded) now and C(load_attempted).
          type: dict
          sample: {"ipvs": {"present": false, "evidence": "no /proc/net/ip_vs nor /proc/sys/net/ipv4/vs",
                            "loaded": [], "load_attempted": []}}
        missing:
          description: Features not present.
          type: list
          elements: str
          sample: [ipvs, esp]
        adaptations:
          description: >-
            How later roles adapt (C(endpoint_mode), C(publish_mode), C(overlay_encrypted),
            C(reasons)).
          type: dict
          sample: {"endpoint_mode": "dnsrr", "publish_mode": "host", "overlay_encrypted": false,
                   "reasons": ["no IPVS: services use endpoint_mode dnsrr and host-mode published ports"]}
loaded_modules:
  description: Kernel modules this run loaded.
  returned: always
  type: list
  elements: str
"""

import os
import platform

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._kernel_preflight import (
    Host,
    cgroup_version,
    evaluate,
    inspect,
)


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type="str", choices=["production", "lab"], default="production"),
            load_modules=dict(type="bool", default=True),
            functional_probes=dict(type="bool", default=True),
            encrypted_overlay=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    env = {"LANG": "C", "LC_ALL": "C"}

    def run(argv):
        path = module.get_bin_path(argv[0])
        if path is None:
            return 127, "", "%s not found" % argv[0]
        return module.run_command([path, *argv[1:]], environ_update=env)

    host = Host(_read, os.path.exists, run)
    params = module.params
    features, loaded = inspect(host, params["load_modules"], params["functional_probes"], module.check_mode)
    missing, failures, adaptations = evaluate(features, params["profile"], params["encrypted_overlay"])
    facts = {
        "kernel": platform.release(),
        "profile": params["profile"],
        "cgroup_version": cgroup_version(host),
        "features": features,
        "missing": missing,
        "adaptations": adaptations,
    }
    result = dict(changed=bool(loaded), loaded_modules=loaded, ansible_facts={"kernel_preflight": facts})
    if failures:
        module.fail_json(
            msg="The kernel lacks what Docker Swarm needs (profile production):\n" + "\n".join(failures),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
