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
  - Reads an MCP project tree (compose files, Dockerfiles, shell scripts, Makefiles, CI
    workflows, launchers and configs that hold commands, Python sources) and reports each
    reference that does not resolve, where it is (path relative to O(project_dir), 1-based
    line) and, when one is close enough, the name that exists.
  - "B(Build plans.) How each Dockerfile is really built is collected from compose C(build:),
    C(docker build)/C(docker buildx build) in scripts and Makefiles (C(-f), context,
    C(--build-arg)), CI workflows (C(docker/build-push-action) C(context)/C(file), C(run:)
    lines, GitLab C(script:)) and O(servers); each Dockerfile is judged against each of its
    real contexts. A Dockerfile with no known build is judged against the folder from which
    most of its C(COPY) sources exist, and what it lacks there is only C(info)."
  - "B(Start commands.) For every image with a known context the module models what the image
    holds (C(WORKDIR), C(ENV PYTHONPATH), C(COPY)/C(ADD) destinations, C(--from) a known stage,
    C(pip install .)/C(uv sync)/C(poetry install) of a C(pyproject.toml) with its packages and
    console scripts, requirement files) and checks C(CMD), C(ENTRYPOINT), C(HEALTHCHECK), compose
    C(command:)/C(entrypoint:) and each server's O(servers[].module) and O(servers[].command):
    C(python -m X), C(python path.py), C(uvicorn|gunicorn|hypercorn X:app) (module and
    attribute) and console scripts. A name neither in the image nor installed is an error
    only when it is close to something the image or project holds (the hint) or belongs to the
    project; a third-party module the base image may provide is not reported."
  - "B(References.) A compose file counts as referenced only as the argument of a command that
    uses it (C(docker compose -f), C(docker stack deploy -c), C(COMPOSE_FILE), C(open()) in a
    Python launcher, a file-like key of a YAML/JSON/TOML config), never in C(echo)/C(print),
    comments, heredoc bodies, tests (C([ -f x ])) or documents; a file the project's own
    scripts create (redirects, C(tee), heredocs, C(cp)/C(mv) destinations, C(open(..., 'w'))) is
    not missing. Whether a compose file is deployed with C(docker stack deploy) is decided per
    file from the commands that use it (a C(deploy:) key or a stack/swarm name only when no
    command names the file); only those files get the Swarm-only warnings."
  - "B(Python and shell.) Python is compiled, never imported, with the project's version in mind
    (C(requires-python) of the nearest C(pyproject.toml), else the newest C(FROM python:X) of its
    Dockerfiles, else O(python_version)): a file targeting a newer Python than the one running
    the validation that fails to compile is C(python-syntax-unchecked) (info), not an error.
    Shell scripts (C(*.sh), C(*.bash), shell shebangs) are checked with C(bash -n) on a copy
    (read, never run); without bash one C(shell-syntax-unchecked) info says so."
  - "B(Scope.) C(vendor/), C(third_party/), backup, archive and template folders (by name),
    backup/example/template files (C(*.bak), C(*.backup), C(*.example), C(*.j2)...), what the
    root C(.gitignore) ignores and the folders the root C(.dockerignore) leaves out are not
    validated (they exist, so references to them resolve, and they serve as hints);
    C(node_modules), virtualenvs and caches are not read at all. O(scope_exclude) and
    O(scope_include) take paths out or put them back."
  - "B(Findings.) Each has a stable code (also the SARIF rule id): C(compose-syntax),
    C(compose-duplicate-key), C(yaml-alias-limit), C(build-context-missing), C(dockerfile-missing),
    C(compose-file-missing), C(module-unresolved), C(module-attribute-missing),
    C(start-file-missing), C(console-script-missing), C(python-syntax), C(shell-syntax),
    C(copy-source-missing), C(port-conflict), C(secret-undeclared), C(config-undeclared),
    C(secret-file-missing), C(env-file-missing), C(server-path-missing) (errors);
    C(swarm-ignored-key), C(image-untagged), C(path-outside-project), C(symlink-outside-project),
    C(file-unreadable) (warnings); C(secret-external), C(build-context-inferred),
    C(python-syntax-unchecked), C(shell-syntax-unchecked), C(file-skipped) (info). Repeats of one
    cause in one file (the same missing compose file, the C(COPY) sources of one wrong context)
    are one finding with RV(findings[].count) and RV(findings[].lines). A missing file the
    C(.gitignore) covers is a warning whose hint names the template beside it. Hints speak
    of the collection (its roles and variables) only when O(servers) is given."
  - Every YAML file is read with at most 100 aliases and 100,000 nodes once aliases are
    expanded; beyond that it is refused with C(yaml-alias-limit), file and line, in
    milliseconds.
  - Never imports or runs project code and never follows a symlink out of O(project_dir).
  - By default the action plugin validates the tree on the controller; with O(remote_src=true)
    the module validates a tree on the target host.
  - Fails, with the findings still returned, when any finding reaches O(fail_on).
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - sophia.lambda_swarm.attributes
  - sophia.lambda_swarm.attributes.flow
attributes:
  check_mode:
    details: Only reads the project. O(report_path) and O(sarif_path) are written in check mode too.
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
      image:
        description:
          - "A prebuilt image the server runs. An entry with an image and no O(servers[].path) has
            no source in the project: it is listed in RV(servers) and takes part in the port
            check, nothing else."
        type: str
  scope_exclude:
    description:
      - Glob patterns of paths (relative to O(project_dir), a folder covers what is under it)
        that are not validated, on top of the defaults (vendored, backup and template folders,
        ignored files).
    type: list
    elements: str
    default: []
  scope_include:
    description:
      - Glob patterns of paths validated even when the defaults or O(scope_exclude) leave them
        out (for example V(templates/compose) when those templates are deployed as they are).
    type: list
    elements: str
    default: []
  python_version:
    description:
      - The Python the project's sources are written for (V(3.12)), instead of what
        C(requires-python) and C(FROM python:X) say.
    type: str
  shell_check:
    description:
      - Check the syntax of shell scripts with C(bash -n) (read only; skipped with an info when
        there is no bash).
    type: bool
    default: true
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
    servers: "{{ mcp_servers | sophia.lambda_swarm.mcp_validate_servers }}"
    sarif_path: "{{ lookup('sophia.lambda_swarm.state_dir', 'reports') }}/mcp-validate.sarif"
    report_path: "{{ lookup('sophia.lambda_swarm.state_dir', 'reports') }}/mcp-validate.json"
  delegate_to: localhost
  run_once: true

- name: Validate a checkout that lives on the host, warnings included
  sophia.lambda_swarm.mcp_validate:
    project_dir: /srv/mcp-project
    remote_src: true
    fail_on: warning

- name: Validate someone else's project, its generated stacks and a Python pin included
  sophia.lambda_swarm.mcp_validate:
    project_dir: "{{ playbook_dir }}/../../their-mcp-servers"
    scope_exclude: ["experiments", "docs/examples"]
    scope_include: ["templates/compose"]
    python_version: "3.12"
  delegate_to: localhost
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
    count:
      description: How many findings of this one cause in this file were folded into it.
      type: int
      sample: 1
    lines:
      description: Every line of the folded findings (empty where there is no line).
      type: list
      elements: int
      sample: [3]
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
    image:
      description: The prebuilt image of a declared server, null for one built from the project.
      type: str
builds:
  description: The build plans found, one per way a Dockerfile is built.
  returned: always
  type: list
  elements: dict
  contains:
    dockerfile:
      description: The Dockerfile (relative to O(project_dir)), or C(standard) for the collection's own.
      type: str
    context:
      description: The build context (C(.) is the project root).
      type: str
    origin:
      description: Where the build was seen (a compose file, script, workflow or C(servers[N] (name))).
      type: str
    line:
      description: Its line there, null where there is none.
      type: int
    kind:
      description:
        - C(compose), C(script), C(workflow), C(registry), C(folder) (a folder some build uses
          as its context) or C(inferred).
      type: str
    tags:
      description: Image names the build gives (C(-t), compose C(image:)).
      type: list
      elements: str
failing:
  description: How many findings reach O(fail_on).
  returned: always
  type: int
  sample: 0
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
