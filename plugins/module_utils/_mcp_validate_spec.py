# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the argument spec of mcp_validate, shared by the module
(validation on the target) and its action plugin (validation on the controller), and the
code both run once the arguments are valid."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from typing import Any, Dict, Mapping, Optional, Tuple

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate import (
    DEFAULT_COMPOSE_GLOBS,
    DEFAULT_DOCKERFILE_GLOBS,
    DEFAULT_SCRIPT_GLOBS,
    format_table,
    reaches,
    to_sarif,
    validate,
)

ARGUMENT_SPEC = dict(
    project_dir=dict(type="path", required=True),
    compose_globs=dict(type="list", elements="str", default=list(DEFAULT_COMPOSE_GLOBS)),
    dockerfile_globs=dict(type="list", elements="str", default=list(DEFAULT_DOCKERFILE_GLOBS)),
    script_globs=dict(type="list", elements="str", default=list(DEFAULT_SCRIPT_GLOBS)),
    servers=dict(
        type="list",
        elements="dict",
        options=dict(
            name=dict(type="str", required=True),
            path=dict(type="str"),
            module=dict(type="str"),
            command=dict(type="raw"),
            port=dict(type="int"),
            secrets=dict(type="list", elements="str", no_log=False),
            dockerfile=dict(type="str"),
            context=dict(type="str"),
            # the rest of an mcp_servers entry, accepted so the registry passes as it is
            replicas=dict(type="int"),
            gpus=dict(type="int"),
            env=dict(type="dict"),
            volumes=dict(type="list", elements="str"),
            placement=dict(type="list", elements="str"),
            cpus=dict(type="raw"),
            memory=dict(type="raw"),
            health=dict(type="dict"),
            image=dict(type="str"),
        ),
    ),
    scope_exclude=dict(type="list", elements="str", default=[]),
    scope_include=dict(type="list", elements="str", default=[]),
    python_version=dict(type="str"),
    shell_check=dict(type="bool", default=True),
    fail_on=dict(type="str", choices=["error", "warning"], default="error"),
    sarif_path=dict(type="path"),
    report_path=dict(type="path"),
    remote_src=dict(type="bool", default=False),
)


def run(params: Mapping[str, Any]) -> Tuple[Dict[str, Any], Optional[str]]:
    """Validate and write the reports. Returns (output, failure message or None)."""
    servers = [dict((k, v) for k, v in s.items() if v is not None) for s in params.get("servers") or []]
    result = validate(
        params["project_dir"],
        compose_globs=params.get("compose_globs"),
        dockerfile_globs=params.get("dockerfile_globs"),
        script_globs=params.get("script_globs"),
        servers=servers,
        include=params.get("scope_include"),
        exclude=params.get("scope_exclude"),
        python_version=params.get("python_version"),
        shell_check=params.get("shell_check", True),
    )
    for path, document in ((params.get("report_path"), result), (params.get("sarif_path"), to_sarif(result))):
        if path:
            directory = os.path.dirname(path)
            if directory and not os.path.isdir(directory):
                os.makedirs(directory)
            with open(path, "w") as handle:
                json.dump(document, handle, indent=2, sort_keys=True)
                handle.write("\n")
    failing = reaches(result["findings"], params["fail_on"])
    output = dict(changed=False, table=format_table(result["findings"]), failing=len(failing), **result)
    if not failing:
        return output, None
    lines = [
        "%s%s: %s %s" % (f["path"], ":%d" % f["line"] if f["line"] else "", f["code"], f["message"])
        for f in failing[:20]
    ]
    more = "" if len(failing) <= 20 else "\n... and %d more" % (len(failing) - 20)
    message = "%d finding(s) at or above '%s' in %s:\n%s%s" % (
        len(failing),
        params["fail_on"],
        params["project_dir"],
        "\n".join(lines),
        more,
    )
    return output, message
