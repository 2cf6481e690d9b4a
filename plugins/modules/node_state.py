#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: node_state
short_description: Read a host's packages, services, files and kernel parameters in one call
version_added: 0.1.0
description:
  - "Reads, in one module run and without changing anything: which packages dpkg has installed,
    whether systemd units are active and enabled, files (mode, owner, group, sha256, and their
    text when asked), the networks of network interfaces, and kernel parameters, live and
    in a sysctl.d file."
  - "For each file it also returns C(ok): whether the file already is what a write task would
    make it, by the rules of M(ansible.builtin.copy) (C(content)), M(ansible.builtin.lineinfile)
    (C(line) and C(regexp)) or M(ansible.builtin.blockinfile) (C(block) and C(marker)), with
    C(mode), C(owner) and C(group). A role runs the write task only where C(ok) is false, so a
    re-run costs one module run on the host instead of one a task."
  - "Every verdict errs towards \"differs\": a write task that runs needlessly changes nothing,
    one skipped wrongly would leave drift. Package names with a version, a glob or a path are
    always reported missing; a symbolic mode is never ok."
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - sophia.lambda_swarm.attributes
options:
  packages:
    description: Debian packages to look up (C(dpkg-query)).
    type: list
    elements: str
    default: []
  services:
    description: systemd units to look up (C(systemctl show)).
    type: list
    elements: str
    default: []
  files:
    description: Files to look at, each with what a write task would make of it.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file (an absolute path; the results are keyed by it as given).
        type: str
        required: true
      content:
        description: The whole content a copy task writes.
        type: str
      checksum:
        description: >-
          The sha256 of the whole content a copy or template task writes (instead of
          C(content): for large files, and for content that must not travel in the arguments).
        type: str
      line:
        description: The line a lineinfile task ensures.
        type: str
      regexp:
        description: The lineinfile task's regexp (its last match must be C(line)).
        type: str
      block:
        description: The block a blockinfile task ensures.
        type: str
      marker:
        description: The blockinfile task's marker, with C({mark}).
        type: str
        default: "# {mark} ANSIBLE MANAGED BLOCK"
      mode:
        description: The octal mode the write task sets.
        type: raw
      owner:
        description: The owner the write task sets (name or id).
        type: str
      group:
        description: The group the write task sets (name or id).
        type: str
      directory:
        description: >-
          The path is a directory a file task makes (C(state=directory)); C(ok) checks its
          attributes.
        type: bool
        default: false
      read:
        description: Return the file's text as C(content) (files up to 1 MiB, UTF-8).
        type: bool
        default: false
  interfaces:
    description: >-
      Network interfaces whose networks to read (C(ip -j addr show dev NAME)), for example
      C(docker_gwbridge), the network of the containers' traffic to their host.
    type: list
    elements: str
    default: []
  sysctls:
    description: Kernel parameters and the values wanted (C(/proc/sys) and C(sysctl_file)).
    type: dict
    default: {}
  sysctl_file:
    description: The sysctl.d file that must set C(sysctls) too.
    type: path
    default: /etc/sysctl.conf
  docker_info:
    description:
      - Also read the Docker engine's system information (the Engine API's C(GET /info), what
        C(docker info) shows, the swarm's state on this node among it) over O(docker_socket),
        with the Python standard library only. The module fails, naming the socket, when the
        engine does not answer.
    type: bool
    default: false
    version_added: 0.2.0
  docker_socket:
    description: The Docker engine's Unix socket, for O(docker_info).
    type: path
    default: /var/run/docker.sock
    version_added: 0.2.0
"""

EXAMPLES = r"""
- name: Read the host's state once
  sophia.lambda_swarm.node_state:
    packages: [chrony, ufw]
    services: [chrony]
    files:
      - path: /etc/modules-load.d/swarm.conf
        content: "overlay\nbr_netfilter\n"
        mode: "0644"
        owner: root
        group: root
      - path: /etc/ufw/ufw.conf
        read: true
    sysctls:
      net.ipv4.ip_forward: 1
    sysctl_file: /etc/sysctl.d/90-swarm.conf
  register: state

- name: Install what is missing
  ansible.builtin.apt:
    name: "{{ state.packages_missing }}"
  when: state.packages_missing | length > 0

- name: Write the modules file only where it differs
  ansible.builtin.copy:
    dest: /etc/modules-load.d/swarm.conf
    content: "overlay\nbr_netfilter\n"
    mode: "0644"
  when: "'/etc/modules-load.d/swarm.conf' in state.files_differ"
"""

RETURN = r"""
packages:
  description: The installed version of each package asked about, null when not installed.
  returned: always
  type: dict
  sample: {chrony: "4.3-2+deb12u1", ufw: null}
packages_missing:
  description: The packages apt would still have to look at (not installed, or not a plain name).
  returned: always
  type: list
  elements: str
services:
  description: Per unit C(exists) (loaded), C(active) and C(enabled) (enabled, static or alias).
  returned: always
  type: dict
  sample: {chrony: {exists: true, active: true, enabled: true}}
files:
  description:
    - Per path C(exists), C(isdir), C(mode), C(owner), C(group), C(sha256) (regular files up to 1 MiB),
      C(content) (when C(read)) and C(ok) (the file is what its write task would make it).
  returned: always
  type: dict
files_differ:
  description:
    - The paths of O(files) (as given, in their order) whose C(ok) is false, where the write task has
      something to do; loops select on it (C(reject('in', state.files_differ)) keeps the ones that are right).
  returned: always
  type: list
  elements: str
  sample: [/etc/modules-load.d/swarm.conf]
interfaces:
  description:
    - Per interface of O(interfaces) C(exists) (null when C(ip) could not tell, for example
      without iproute2) and C(networks), the networks of its IPv4 addresses and of its global
      IPv6 ones (not link-local) in CIDR form.
  returned: always
  type: dict
  sample: {docker_gwbridge: {exists: true, networks: [172.18.0.0/16]}}
sysctls:
  description: >-
    The live value of each parameter asked about (whitespace collapsed), null where the kernel
    has none.
  returned: always
  type: dict
sysctls_to_set:
  description: The parameters whose live value or whose setting in C(sysctl_file) differs.
  returned: always
  type: list
  elements: str
docker_info:
  description:
    - The engine's C(GET /info) as the Engine API returns it (the same object as
      C(host_info) of M(community.docker.docker_host_info)); C(Swarm) holds
      C(LocalNodeState), C(NodeID), C(ControlAvailable), C(Cluster.ID) and C(RemoteManagers).
  returned: when O(docker_info) is true
  type: dict
  sample: {Swarm: {LocalNodeState: active, NodeID: 4v6k3zj0fy2y5hh2b4kkuzs5c, ControlAvailable: true}}
  version_added: 0.2.0
"""

import re

try:
    from http.client import HTTPException
except ImportError:  # Python 2 (never a target of this collection's modules)
    from httplib import HTTPException

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _node_state as ns
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._docker_api import (
    DockerAPI,
    DockerAPIError,
)


def read_live(key):
    try:
        with open(ns.proc_sys_path(key)) as f:
            return ns.normalize_sysctl(f.read())
    except (IOError, OSError):
        return None


def read_text(path):
    """A file's text, empty when it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return ""


def read_docker_info(module, socket_path):
    """The engine's GET /info; fails the module, naming the socket, when the engine does not answer."""
    try:
        return DockerAPI(socket_path).get("/info")
    except (DockerAPIError, OSError, HTTPException) as exc:
        module.fail_json(
            msg="node_state: the Docker engine does not answer at %s (%s): start it (the docker "
            "role installs and starts it) and run again" % (socket_path, exc)
        )


def main():
    file_spec = dict(
        path=dict(type="str", required=True),
        content=dict(type="str"),
        checksum=dict(type="str"),
        line=dict(type="str"),
        regexp=dict(type="str"),
        block=dict(type="str"),
        marker=dict(type="str", default="# {mark} ANSIBLE MANAGED BLOCK"),
        mode=dict(type="raw"),
        owner=dict(type="str"),
        group=dict(type="str"),
        directory=dict(type="bool", default=False),
        read=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=[]),
            services=dict(type="list", elements="str", default=[]),
            files=dict(type="list", elements="dict", default=[], options=file_spec),
            interfaces=dict(type="list", elements="str", default=[]),
            sysctls=dict(type="dict", default={}),
            sysctl_file=dict(type="path", default="/etc/sysctl.conf"),
            docker_info=dict(type="bool", default=False),
            docker_socket=dict(type="path", default="/var/run/docker.sock"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    env = {"LANG": "C", "LC_ALL": "C"}

    installed = {}
    if params["packages"]:
        dpkg = module.get_bin_path("dpkg-query")
        if dpkg:
            # rc 1 when a package is unknown to dpkg: the others are still listed
            fmt = "${Package}\t${Status}\t${Version}\n"
            argv = [dpkg, "-W", "-f", fmt] + params["packages"]
            _rc, out, _err = module.run_command(argv, environ_update=env)
            installed = ns.parse_dpkg(out)

    services = {}
    if params["services"]:
        systemctl = module.get_bin_path("systemctl")
        out = ""
        if systemctl:
            props = "Id,LoadState,ActiveState,UnitFileState"
            argv = [systemctl, "show", "-p", props, "--"] + params["services"]
            _rc, out, _err = module.run_command(argv, environ_update=env)
        services = ns.parse_systemctl_show(out, params["services"])

    files = {}
    for spec in params["files"]:
        try:
            files[spec["path"]] = ns.file_state(spec)
        except (IOError, OSError) as exc:
            files[spec["path"]] = {"exists": True, "ok": False, "error": str(exc)}
        except re.error as exc:
            module.fail_json(msg="files: %s: regexp %r: %s" % (spec["path"], spec["regexp"], exc))

    interfaces = {}
    if params["interfaces"]:
        ip = module.get_bin_path("ip")
        for name in params["interfaces"]:
            if ip:
                argv = [ip, "-j", "addr", "show", "dev", name]
                rc, out, err = module.run_command(argv, environ_update=env)
                interfaces[name] = ns.interface_state(rc, out, err)
            else:
                interfaces[name] = {"exists": None, "networks": []}

    live = {key: read_live(key) for key in params["sysctls"]}
    sysctl_text = read_text(params["sysctl_file"]) if params["sysctls"] else ""

    result = dict(
        changed=False,
        packages={p: installed.get(p) for p in params["packages"]},
        packages_missing=ns.packages_missing(params["packages"], installed),
        services=services,
        files=files,
        files_differ=ns.files_differ([spec["path"] for spec in params["files"]], files),
        interfaces=interfaces,
        sysctls=live,
        sysctls_to_set=ns.sysctls_to_set(params["sysctls"], live, sysctl_text),
    )
    if params["docker_info"]:
        result["docker_info"] = read_docker_info(module, params["docker_socket"])

    module.exit_json(**result)


if __name__ == "__main__":
    main()
