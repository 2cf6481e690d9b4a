#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: controller_files
short_description: Write several small text files on the controller in one step, without a module run
version_added: 0.2.0
description:
  - "Writes on the B(controller), whatever host the task runs for, each file of O(files) whose
    content differs or that does not exist yet, and sets the mode asked for. It replaces
    M(ansible.builtin.copy) or M(ansible.builtin.template) with C(delegate_to: localhost) for
    the artifacts a run keeps on the controller (rendered configurations, reports): those cost
    a module run or two a file, this costs none, as it works inside the controller's own process
    (an action plugin)."
  - "The same rules as M(sophia.lambda_swarm.node_files), which writes on a managed host: every
    entry is checked before anything is written (an absolute path, an octal mode, an existing
    parent directory, no directory at the path) and one bad entry fails the task with nothing
    written; each file is written atomically (a temporary file in the same directory, fsynced,
    given its mode, renamed over the path); a path that is a link is written through; content is
    written as UTF-8, exactly as given."
  - "Files belong to the user running Ansible (C(become) does not apply); a new file gets mode
    0666 less the umask where the entry names none, a rewritten one keeps its mode."
  - Use it with C(run_once) in a play over several hosts, or each host writes the same files.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - sophia.lambda_swarm.attributes
  - sophia.lambda_swarm.attributes.flow
attributes:
  diff_mode:
    support: full
    details:
      - One diff a directory made or whose mode changes, one a file whose content changes
        (before and after text, or only its name with O(diff_content=false)), and one a file
        whose mode changes.
      - Files over 104448 bytes or not UTF-8 get no text.
  platform:
    details: The controller.
options:
  directories:
    description:
      - Directories to make first, in order (with their parents, as C(mkdir -p) makes them),
        or whose mode to set.
      - A path where something other than a directory is fails the task before anything is
        made or written.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description:
          - The directory on the controller; C(~) and relative paths as for O(files[].path).
        type: str
        required: true
      mode:
        description:
          - Its permission bits, an octal string such as C("0700"). Left out, a new directory
            gets 0777 less the umask and an existing one keeps its mode.
          - Parents made on the way always get 0777 less the umask.
        type: raw
  files:
    description:
      - The files to write, in order, after O(directories).
      - "A task whose content is secret sets C(no_log: true) (which hides its whole result)
        and O(diff_content=false)."
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description:
          - "The file on the controller. C(~) is expanded and a relative path is taken from
            the controller's working directory, as M(ansible.builtin.copy) with
            C(delegate_to: localhost) takes it."
          - Its directory must exist or be one of O(directories); a directory at the path is an
            error. In check mode a missing directory is no error (an earlier task may make it),
            as for M(sophia.lambda_swarm.node_files).
          - Results name the file by its absolute path.
        type: str
        required: true
      content:
        description: The whole content of the file, written as UTF-8 exactly as given.
        type: str
        required: true
      mode:
        description:
          - The permission bits, an octal string such as C("0644"); an integer is taken as the
            number it is (quote modes in YAML).
          - Symbolic modes are not supported.
          - Left out, an existing file keeps its mode.
        type: raw
  diff_content:
    description:
      - In diff mode, show the content before and after. False names each changed file and
        shows no content (for secret content).
    type: bool
    default: true
seealso:
  - module: sophia.lambda_swarm.node_files
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Keep the rendered configurations on the controller (one step, no module run)
  sophia.lambda_swarm.controller_files:
    directories:
      - path: "{{ artifacts_dir }}"
        mode: "0755"
    files:
      - path: "{{ artifacts_dir }}/prometheus.yml"
        content: "{{ lookup('ansible.builtin.template', 'prometheus.yml.j2') }}"
        mode: "0644"
      - path: "{{ artifacts_dir }}/rules.yml"
        content: "{{ lookup('ansible.builtin.file', 'rules.yml', rstrip=false) }}"
        mode: "0644"
  run_once: true

- name: A private file (the result and any diff hidden)
  sophia.lambda_swarm.controller_files:
    files:
      - path: "{{ artifacts_dir }}/alertmanager.yml"
        content: "{{ lookup('ansible.builtin.template', 'alertmanager.yml.j2') }}"
        mode: "0600"
    diff_content: false
  run_once: true
  no_log: true
"""

RETURN = r"""
changed_paths:
  description:
    - The absolute paths of O(directories) made or whose mode was set, then of O(files) written
      or whose mode was set (each in their order); in check mode, those that would be.
  returned: always
  type: list
  elements: str
  sample: [/home/ops/state/artifacts/prometheus.yml]
files:
  description: One entry a file of O(files), in their order. Content is never returned.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The absolute path.
      type: str
    changed:
      description: The file was (in check mode, would be) written or its mode set.
      type: bool
    created:
      description: The file did not exist before.
      type: bool
  sample:
    - {path: /home/ops/state/artifacts/prometheus.yml, changed: true, created: false}
directories:
  description: One entry a directory of O(directories), in their order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The absolute path.
      type: str
    changed:
      description: The directory was (in check mode, would be) made or its mode set.
      type: bool
    created:
      description: The directory did not exist before.
      type: bool
  sample:
    - {path: /home/ops/state, changed: false, created: false}
"""

from ansible.module_utils.basic import AnsibleModule

# the action plugin validates its arguments with this same spec
ARGUMENT_SPEC = {
    "directories": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {"path": {"type": "str", "required": True}, "mode": {"type": "raw"}},
    },
    "files": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "path": {"type": "str", "required": True},
            "content": {"type": "str", "required": True},
            "mode": {"type": "raw"},
        },
    },
    "diff_content": {"type": "bool", "default": True},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(
        msg="controller_files runs on the controller only (its action plugin); it has no remote part"
    )


if __name__ == "__main__":
    main()
