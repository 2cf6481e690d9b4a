#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: node_files
short_description: Write several small text files on a host in one call
version_added: 0.2.0
description:
  - "Writes, in one module run, each file of O(files) whose content differs or that does not
    exist yet, and sets the mode, owner and group asked for. It replaces a loop of
    M(ansible.builtin.copy) with C(content), which costs several remote operations a file."
  - "Every entry is checked before anything is written (an absolute path, an octal mode, a
    user and group the host knows, an existing parent directory, no directory at the path);
    one bad entry fails the task and no file is written. In check mode a missing parent
    directory is no error: the file counts as one to create (the task that would make the
    directory did not run either)."
  - "A file is written atomically: a temporary file in the same directory is written, fsynced,
    given its mode, owner and group, and renamed over the path, so a reader sees the old file or
    the new one, never a part, and the new content is never readable with looser permissions
    than asked. A file whose content is already right but whose mode, owner or group differ has
    only those fixed; it counts as changed."
  - "A rewritten file keeps the mode, owner and group it had where the entry names none; a new
    file gets mode 0666 less the umask, and this user and its group, as
    M(ansible.builtin.copy) gives them."
  - "A path that is a symbolic link is written through: the file the link names is replaced and
    the link kept (M(ansible.builtin.copy) with C(follow=true)). A link to nothing fails."
  - "Content is written as UTF-8, exactly as given: no newline is added."
  - "M(sophia.lambda_swarm.node_state) is the read side: its C(files_differ) lists the paths
    this module would write."
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - sophia.lambda_swarm.attributes
attributes:
  diff_mode:
    support: full
    details:
      - One diff a file whose content changes (before and after text, or only its name with
        O(diff_content=false)), and one a file whose mode, owner or group change.
      - Files over 104448 bytes (the default C(max_file_size_for_diff)) or not UTF-8 get no text.
options:
  files:
    description:
      - The files to write, in order.
      - "The content travels in the module's arguments, which Ansible shows with C(-vvv) and AWX
        or ARA record: a task whose content is secret sets C(no_log: true) (which hides its
        whole result) and, where its result stays visible, O(diff_content=false)."
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - The file, an absolute path. Its directory must exist (create it first with
            M(ansible.builtin.file)); a directory at the path is an error.
          - Results name the file by this path, as given.
        type: str
        required: true
      content:
        description: The whole content of the file, written as UTF-8 exactly as given.
        type: str
        required: true
      mode:
        description:
          - The permission bits, an octal string such as C("0644"); an integer is taken as the
            number it is (YAML reads C(0644) unquoted as octal, C(644) as decimal, so quote modes).
          - Symbolic modes (C(u=rw,go=r)) are not supported.
          - Left out, an existing file keeps its mode.
        type: raw
      owner:
        description: The owner, a user name or uid. Left out, an existing file keeps its owner.
        type: str
      group:
        description: The group, a group name or gid. Left out, an existing file keeps its group.
        type: str
  diff_content:
    description:
      - In diff mode, show the content before and after. False names each changed file and
        shows no content (for secret content; see O(files)).
    type: bool
    default: true
seealso:
  - module: sophia.lambda_swarm.node_state
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Write the modules and sysctl files in one run
  sophia.lambda_swarm.node_files:
    files:
      - path: /etc/modules-load.d/swarm.conf
        content: "overlay\nbr_netfilter\n"
        mode: "0644"
        owner: root
        group: root
      - path: /etc/sysctl.d/90-swarm.conf
        content: "net.ipv4.ip_forward = 1\n"
        mode: "0644"
  register: written

- name: Reload kernel parameters when the sysctl file changed
  ansible.builtin.command: sysctl --system
  when: "'/etc/sysctl.d/90-swarm.conf' in written.changed_paths"
  changed_when: true

# no_log keeps the token out of the arguments and the result; diff_content=false keeps it
# out of --diff output should no_log be lifted to debug the task
- name: Write a credential
  sophia.lambda_swarm.node_files:
    files:
      - path: /etc/swarm/registry.token
        content: "{{ registry_token }}"
        mode: "0600"
        owner: root
    diff_content: false
  no_log: true
"""

RETURN = r"""
changed_paths:
  description:
    - The paths of O(files) (as given, in their order) that were written or whose mode, owner or
      group were set; in check mode, those that would be.
  returned: always
  type: list
  elements: str
  sample: [/etc/sysctl.d/90-swarm.conf]
files:
  description: One entry a file of O(files), in their order. Content is never returned.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The path as given.
      type: str
      sample: /etc/sysctl.d/90-swarm.conf
    changed:
      description: The file was (in check mode, would be) written or its attributes set.
      type: bool
    created:
      description: The file did not exist before.
      type: bool
  sample:
    - {path: /etc/modules-load.d/swarm.conf, changed: false, created: false}
    - {path: /etc/sysctl.d/90-swarm.conf, changed: true, created: true}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _node_files as nf


def _selinux_context(module, item):
    """The SELinux context a written file must keep (None without SELinux)."""
    if not module.selinux_enabled():
        return None
    if item["created"]:
        return module.selinux_default_context(item["target"])
    return module.selinux_context(item["target"])


def _apply(module, item):
    """Write one planned file, or set its attributes."""
    if item["write"]:
        context = _selinux_context(module, item)
        nf.write_atomic(
            item["target"],
            item["data"],
            item["mode"],
            uid=item["uid"],
            gid=item["gid"],
            keep_uid=item["keep_uid"],
            keep_gid=item["keep_gid"],
        )
        if context is not None:
            module.set_context_if_different(item["target"], context, False)
        return
    file_args = dict(
        path=item["target"],
        mode=item["attrs"]["mode"][1] if "mode" in item["attrs"] else None,
        owner=str(item["uid"]) if "owner" in item["attrs"] else None,
        group=str(item["gid"]) if "group" in item["attrs"] else None,
        secontext=None,
        attributes=None,
    )
    module.set_fs_attributes_if_different(file_args, False, expand=False)


def main():
    file_spec = dict(
        path=dict(type="str", required=True),
        content=dict(type="str", required=True),
        mode=dict(type="raw"),
        owner=dict(type="str"),
        group=dict(type="str"),
    )
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=file_spec),
            diff_content=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    show_content = module._diff and module.params["diff_content"]
    try:
        plans = nf.plan(module.params["files"], read_before=show_content, check_mode=module.check_mode)
    except nf.NodeFilesError as exc:
        module.fail_json(msg=str(exc), changed=False)

    done = []
    if not module.check_mode:
        for item in plans:
            if not item["changed"]:
                continue
            try:
                _apply(module, item)
            except OSError as exc:
                module.fail_json(
                    msg="files[%d] (%s): cannot write %s (%s); written before it: %s"
                    % (
                        item["index"],
                        item["path"],
                        item["target"],
                        exc.strerror or exc,
                        ", ".join(done) or "none",
                    ),
                    changed=bool(done),
                    changed_paths=done,
                )
            done.append(item["path"])

    result = nf.results(plans)
    if module._diff:
        result["diff"] = nf.diffs(plans, content=module.params["diff_content"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
