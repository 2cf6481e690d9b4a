#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: swarm_secrets
short_description: Content-versioned Docker secrets, with old versions removed once unused
version_added: 0.1.0
description:
  - Creates each secret under C(<name>_<version>), where the version is an HMAC-SHA256 of the
    value under O(version_key). The same value always gives the same name (no change);
    a new value gives a new name, which the stack's compose file then references.
  - Unlike C(community.docker.docker_secret), no bare hash of the value is stored in a
    label, so someone who can inspect secrets cannot test guesses of a value.
  - With O(prune), removes versions beyond the O(keep) newest of each secret, and never one
    a service's current or previous spec references.
  - Values go to the Docker Engine API over its Unix socket, never on a command line, and
    are never returned.
  - Run it on a swarm manager.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - sophia.lambda_swarm.attributes
options:
  secrets:
    description: The secrets to have.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The secret's name; the Docker secret is named C(<name>_<version>).
        type: str
        required: true
      value:
        description: The value (text, UTF-8).
        type: str
        required: true
      labels:
        description: Extra labels on the Docker secret.
        type: dict
        default: {}
  version_key:
    description:
      - The key of the keyed hash that names versions. Keep it in Ansible Vault; changing it
        renames (and so rotates) every secret.
    type: str
    required: true
  keep:
    description: Versions of each secret to keep, the current one included (older ones serve rollbacks).
    type: int
    default: 2
  prune:
    description: Remove the versions beyond O(keep) that no service references.
    type: bool
    default: true
  retire:
    description:
      - Secret names whose older versions stop serving now. With O(prune) they are removed
        whatever O(keep) says (unless a service's current spec still mounts one), and
        RV(previous) never names one.
      - For a gateway token (C(stack_gateway_clients) with C(secret)), this ends the time in
        which the gateway accepts the token it replaced.
    type: list
    elements: str
    default: []
  docker_socket:
    description: The Docker Engine's Unix socket.
    type: path
    default: /var/run/docker.sock
"""

EXAMPLES = r"""
- name: Load the project's secrets
  sophia.lambda_swarm.swarm_secrets:
    secrets:
      - name: signer_key
        value: "{{ vault_signer_key }}"
    version_key: "{{ vault_secrets_version_key }}"
  register: loaded
  no_log: true

- name: Compose files reference the current versions
  ansible.builtin.debug:
    msg: "{{ loaded.versions.signer_key }}"
"""

RETURN = r"""
versions:
  description: The current versioned name of each secret.
  returned: always
  type: dict
  sample: {"signer_key": "signer_key_3f9a1c0b7d2e"}
previous:
  description:
    - The newest older version of each secret that stays (after this run's removals), by
      name; a secret with none, or named in O(retire), is absent.
  returned: always
  type: dict
  sample: {"signer_key": "signer_key_0c1d2e3f4a5b"}
created:
  description: Versioned names created by this run.
  returned: always
  type: list
  elements: str
  sample: ["signer_key_3f9a1c0b7d2e"]
removed:
  description: Old versioned names removed by this run.
  returned: always
  type: list
  elements: str
  sample: ["signer_key_0c1d2e3f4a5b"]
"""

import base64

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._docker_api import (
    DockerAPI,
    DockerAPIError,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._secrets import (
    LABEL_NAME,
    LABEL_VERSION,
    plan,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            secrets=dict(
                type="list",
                elements="dict",
                required=True,
                no_log=False,  # names only; each value is no_log below
                options=dict(
                    name=dict(type="str", required=True),
                    value=dict(type="str", required=True, no_log=True),
                    labels=dict(type="dict", default={}),
                ),
            ),
            version_key=dict(type="str", required=True, no_log=True),
            keep=dict(type="int", default=2),
            prune=dict(type="bool", default=True),
            retire=dict(type="list", elements="str", default=[]),
            docker_socket=dict(type="path", default="/var/run/docker.sock"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    api = DockerAPI(p["docker_socket"])
    try:
        existing = api.get("/secrets", filters=api.filters(label=LABEL_NAME))
        services = api.get("/services")
        todo = plan(
            p["secrets"], existing, p["version_key"], keep=p["keep"], services=services, retire=p["retire"]
        )
    except ValueError as exc:
        module.fail_json(msg="swarm_secrets: %s" % exc)
    except (DockerAPIError, OSError) as exc:
        module.fail_json(
            msg="swarm_secrets: cannot read the swarm's secrets (%s); run this on a swarm manager" % exc
        )
    removed = todo["remove"] if p["prune"] else []
    if not module.check_mode:
        by_full = dict((todo["versions"][s["name"]], s) for s in p["secrets"])
        for full in todo["create"]:
            item = by_full[full]
            labels = dict(item["labels"] or {})
            labels.update({LABEL_NAME: item["name"], LABEL_VERSION: full[len(item["name"]) + 1 :]})
            body = {
                "Name": full,
                "Labels": labels,
                "Data": base64.b64encode(to_bytes(item["value"], errors="surrogate_or_strict")).decode(
                    "ascii"
                ),
            }
            try:
                api.call("POST", "/secrets/create", body=body)
            except DockerAPIError as exc:
                module.fail_json(
                    msg="swarm_secrets: creating %s failed: HTTP %s %s" % (full, exc.status, exc.message)
                )
        for full in removed:
            try:
                api.call("DELETE", "/secrets/%s" % api.quote(full))
            except DockerAPIError as exc:
                module.fail_json(
                    msg="swarm_secrets: removing %s failed: HTTP %s %s" % (full, exc.status, exc.message)
                )
    module.exit_json(
        changed=bool(todo["create"] or removed),
        versions=todo["versions"],
        previous=todo["previous"],
        created=todo["create"],
        removed=removed,
    )


if __name__ == "__main__":
    main()
