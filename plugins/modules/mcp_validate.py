#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mcp_validate
short_description: Find every broken path in an MCP project before anything is deployed
version_added: 0.1.0
description:
  - Reads an MCP project tree (compose files, Dockerfiles, scripts, Makefiles, dotfiles that
    hold commands, Python sources) and reports each reference that does not resolve, where it
    is (path relative to O(project_dir), 1-based line) and the closest thing that exists.
  - "Checks, each with a stable code: C(compose-syntax) (and C(compose-duplicate-key));
    C(build-context-missing), C(dockerfile-missing); C(compose-file-missing) (scripts,
    Makefiles, C(-f)/C(-c) flags, C(extends), C(include), C(COMPOSE_FILE), CI files);
    C(module-unresolved) and C(module-attribute-missing) (C(\"module\": \"a.b\"), C(python -m a.b),
    C(uvicorn a.b:app)); C(python-syntax); C(copy-source-missing) (Dockerfile C(COPY)/C(ADD));
    C(port-conflict); C(secret-undeclared), C(config-undeclared), C(secret-file-missing),
    C(env-file-missing), C(secret-external); C(swarm-ignored-key), C(image-untagged) for files
    deployed with C(docker stack deploy); C(server-path-missing) for the declared servers;
    C(path-outside-project), C(symlink-outside-project), C(file-unreadable), C(file-skipped)."
  - Never imports or runs project code (Python is parsed only) and never follows a symlink
    out of O(project_dir).
  - By default the action plugin validates the tree on the controller; with O(remote_src=true)
    the module validates a tree on the target host.
  - Fails, with the findings still returned, when any finding reaches O(fail_on).
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details: Only reads the project. O(report_path) and O(sarif_path) are written in check mode too.
  diff_mode:
    support: none
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
options:
  project_dir:
    description: The root of the MCP project.
    type: path
    required: true
  compose_globs:
    description: File name patterns of compose files.
    type: list
    elements: str
    default: ["docker-compose*.yml", "docker-compose*.yaml", "compose*.yml", "compose*.yaml"]
  dockerfile_globs:
    description: File name patterns of Dockerfiles.
    type: list
    elements: str
    default: ["Dockerfile*", "*.Dockerfile", "*.dockerfile"]
  script_globs:
    description:
      - File name patterns of files scanned for commands (compose file names, C(python -m),
        C(uvicorn), C(module) keys). C(.github/workflows/*), C(.gitlab-ci.yml),
        C(.pre-commit-config.yaml) and C(.devcontainer/*.json) are always scanned.
    type: list
    elements: str
    default:
      - "*.sh"
      - "*.bash"
      - "*.py"
      - Makefile
      - "*.mk"
      - Justfile
      - Procfile
      - "*.toml"
      - .env
      - .env.*
      - .envrc
      - "*.json"
      - "*.yml"
      - "*.yaml"
  servers:
    description: The MCP server registry the stack role deploys; each entry is checked and resolved.
    type: list
    elements: dict
    suboptions:
      name:
        description: Server name (the swarm service name).
        type: str
        required: true
      path:
        description: Directory of the server's code, relative to O(project_dir).
        type: str
      module:
        description: Python module that starts the server (resolved from the project and O(servers[].path)).
        type: str
      command:
        description: Command that starts the server (string or list); module references in it are checked.
        type: raw
      port:
        description: Port the server listens on; two servers may not share one.
        type: int
      secrets:
        description: Names of the secrets the server reads.
        type: list
        elements: str
      dockerfile:
        description: The server's Dockerfile, relative to the project (default C(<path>/Dockerfile)).
        type: str
      context:
        description:
          - The build context of the server's Dockerfile, relative to the project (the stack
            role builds from the project root, C(.)). Its COPY sources are checked against it.
        type: str
      replicas:
        description: Accepted (and not checked here) so an C(mcp_servers) entry passes as it is.
        type: int
      gpus:
        description: Accepted (and not checked here) so an C(mcp_servers) entry passes as it is.
        type: int
      env:
        description: Accepted (and not checked here) so an C(mcp_servers) entry passes as it is.
        type: dict
      volumes:
        description: Accepted (and not checked here) so an C(mcp_servers) entry passes as it is.
        type: list
        elements: str
      placement:
        description: Accepted (and not checked here) so an C(mcp_servers) entry passes as it is.
        type: list
        elements: str
      cpus:
        description: Accepted (and not checked here) so an C(mcp_servers) entry passes as it is.
        type: raw
      memory:
        description: Accepted (and not checked here) so an C(mcp_servers) entry passes as it is.
        type: raw
      health:
        description: Accepted (and not checked here) so an C(mcp_servers) entry passes as it is.
        type: dict
  fail_on:
    description: Fail when a finding of this severity or a more severe one exists.
    type: str
    choices: [error, warning]
    default: error
  sarif_path:
    description: Write the findings as SARIF 2.1.0 here (for code-scanning annotations).
    type: path
  report_path:
    description: Write the JSON report (findings, summary, servers) here.
    type: path
  remote_src:
    description:
      - V(false) validates O(project_dir) on the controller (the action plugin); V(true) on the target.
      - The reports are written where the validation runs.
    type: bool
    default: false
requirements:
  - PyYAML (python3-yaml) where the validation runs.
"""

EXAMPLES = r"""
- name: Validate the project on the controller before any host changes
  sophia.lambda_swarm.mcp_validate:
    project_dir: "{{ playbook_dir }}/../examples/mcp-project"
    servers: "{{ mcp_servers }}"
    sarif_path: "{{ playbook_dir }}/../artifacts/mcp-validate.sarif"
    report_path: "{{ playbook_dir }}/../artifacts/mcp-validate.json"
  delegate_to: localhost
  run_once: true

- name: Validate a checkout that lives on the host, warnings included
  sophia.lambda_swarm.mcp_validate:
    project_dir: /srv/mcp-project
    remote_src: true
    fail_on: warning
"""

RETURN = r"""
findings:
  description: Everything found, errors first.
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: Stable identifier of the check (also the SARIF rule id).
      type: str
      sample: build-context-missing
    severity:
      description: C(error), C(warning) or C(info).
      type: str
    path:
      description: File relative to O(project_dir) (or C(servers[N] (name)) for a declared server).
      type: str
      sample: docker-compose.yml
    line:
      description: 1-based line, null where there is none.
      type: int
      sample: 3
    message:
      description: What is wrong.
      type: str
      sample: service ai_memory builds ./mcp-servers/ai-memory, which does not exist
    hint:
      description: The fix, often the closest existing path or module; may be null.
      type: str
      sample: did you mean backend/mcp_servers/ai_memory?
summary:
  description: Counts by severity and by code, and the number of files scanned.
  returned: always
  type: dict
  sample: {"total": 2, "by_severity": {"error": 1, "warning": 1, "info": 0},
           "by_code": {"build-context-missing": 1, "image-untagged": 1}, "files_scanned": 42}
servers:
  description: What each declared or discovered (C(*/mcp_servers/<name>)) MCP server resolved to.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Server name.
      type: str
    source:
      description: C(declared) (from O(servers)) or C(discovered).
      type: str
    path:
      description: Its directory.
      type: str
    exists:
      description: Whether the directory exists.
      type: bool
    module:
      description: The declared module, if any.
      type: str
    module_file:
      description: The file the module resolved to (or the entry file found), null when unresolved.
      type: str
    dockerfile:
      description: The server's own Dockerfile, or C(standard) when it has none.
      type: str
    port:
      description: The declared port.
      type: int
table:
  description: The findings as readable lines (severity, code, path:line, message, hint).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate import HAS_YAML
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_spec import ARGUMENT_SPEC, run


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML (python3-yaml)"))
    try:
        output, failure = run(module.params)
    except (ValueError, OSError) as exc:
        module.fail_json(msg="mcp_validate: %s" % exc)
    if failure:
        module.fail_json(msg=failure, **output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
