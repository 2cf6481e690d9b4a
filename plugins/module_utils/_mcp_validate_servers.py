# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the MCP server registry (``mcp_servers``) against the
project: each entry's path, module and command, resolved in the image the collection
builds for it (its own Dockerfile or the standard one, from the entry's context); an entry
with ``image:`` and no path has no source here and is only listed. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from typing import Any, Dict

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_build import (
    STANDARD,
    registry_plan,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_image import check_claims
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_shell import (
    split_words,
    start_claims,
)


class RegistryChecks:
    """Mixed into the Validator: needs project, modules, declared_servers, servers, plans,
    findings, add(), image_for() and check_project_module()."""

    def server_dirs(self) -> dict:
        """Declared server paths and discovered ones (<...>/mcp_servers/<name>)."""
        dirs = {}
        for server in self.declared_servers:
            if server.get("path"):
                rel = self.project.rel(server["path"])
                if rel is not None:
                    dirs[rel] = server.get("name")
        for rel in sorted(self.project.dirs):
            parent = os.path.basename(os.path.dirname(rel))
            if (
                parent in ("mcp_servers", "mcp-servers")
                and not os.path.basename(rel).startswith((".", "_"))
                and self.project.in_scope(rel + os.sep + "x")
            ):
                dirs.setdefault(rel, os.path.basename(rel))
        return dirs

    def check_servers(self) -> None:
        ports = {}
        declared_names = set()
        for i, server in enumerate(self.declared_servers):
            name = server.get("name") or "servers[%d]" % i
            declared_names.add(name)
            where = "servers[%d] (%s)" % (i, name)
            entry = {
                "name": name,
                "source": "declared",
                "path": server.get("path"),
                "exists": None,
                "module": server.get("module"),
                "module_file": None,
                "command": server.get("command"),
                "port": server.get("port"),
                "dockerfile": None,
                "secrets": server.get("secrets") or [],
                "image": server.get("image"),
            }
            port = server.get("port")
            if port is not None:
                if port in ports:
                    self.add(
                        "port-conflict",
                        where,
                        None,
                        "%s: port %s is also used by %s" % (where, port, ports[port]),
                        "give each server its own port",
                    )
                ports.setdefault(port, name)
            self.servers.append(entry)
            if server.get("image") and not server.get("path"):
                continue  # a prebuilt image: no source here to check
            self._check_server_source(server, entry, where)
        for rel, name in sorted(self.server_dirs().items()):
            if name in declared_names or any(
                s.get("path") and self.project.rel(s["path"]) == rel for s in self.declared_servers
            ):
                continue
            files = (os.path.join(rel, n) for n in ("server.py", "main.py", "__main__.py", "app.py"))
            self.servers.append(
                {
                    "name": name,
                    "source": "discovered",
                    "path": rel,
                    "exists": True,
                    "module": None,
                    "module_file": next((f for f in files if f in self.project.file_set), None),
                    "command": None,
                    "port": None,
                    "dockerfile": self._own_dockerfile(rel),
                    "secrets": [],
                    "image": None,
                }
            )

    def _check_server_source(self, server: Dict[str, Any], entry: Dict[str, Any], where: str) -> None:
        project = self.project
        rel = project.rel(server["path"]) if server.get("path") else None
        if server.get("path"):
            entry["exists"] = rel is not None and project.is_dir(rel)
            if not entry["exists"]:
                self.add(
                    "server-path-missing",
                    where,
                    None,
                    "%s: path %s does not exist" % (where, server["path"]),
                    project.missing_hint(rel or server["path"], sorted(project.dirs)),
                )
        if server.get("dockerfile") and project.rel(str(server["dockerfile"])) is None:
            self.add(
                "path-outside-project",
                where,
                None,
                "%s: dockerfile %s leaves the project" % (where, server["dockerfile"]),
                "give the Dockerfile's path relative to the project root, inside it",
            )
        roots = [rel] if entry["exists"] else []
        if entry["exists"]:
            entry["dockerfile"] = self._own_dockerfile(rel)
        plan = registry_plan(project, server, where) if entry["exists"] else None
        image = self.image_for(plan) if plan else None
        if plan is not None:
            self.plans.append(plan)
            if plan.dockerfile == STANDARD and os.path.join(rel, "requirements.txt") not in project.file_set:
                self.add(
                    "copy-source-missing",
                    where,
                    None,
                    "%s has no Dockerfile; the collection's standard Dockerfile copies %s, "
                    "which does not exist" % (where, os.path.join(rel, "requirements.txt")),
                    "add %s (one requirement a line), or give the server its own Dockerfile"
                    % os.path.join(rel, "requirements.txt"),
                )
        if server.get("module"):
            if image is not None:
                found = image.find_module(server["module"])
                entry["module_file"] = found[1] if found else None
                self.findings.extend(
                    check_claims(image, [("module", server["module"])], where, None, "module", self.modules)
                )
            else:
                entry["module_file"] = self.modules.resolve(server["module"], roots)
                if entry["module_file"] is None:
                    close = self.modules.closest(server["module"])
                    self.add(
                        "module-unresolved",
                        where,
                        None,
                        "%s: module %s does not resolve in the project" % (where, server["module"]),
                        "did you mean %s?" % close if close else None,
                    )
        command = server.get("command")
        if command:
            argv = [str(c) for c in command] if isinstance(command, list) else split_words(str(command))
            if image is not None:
                self.findings.extend(
                    check_claims(image, start_claims(argv), where, None, "command", self.modules)
                )
            else:
                for claim in start_claims(argv):
                    if claim[0] in ("module", "app"):
                        self.check_project_module(
                            where, None, claim[1], claim[2] if claim[0] == "app" else None, "command", roots
                        )

    def _own_dockerfile(self, rel: str) -> str:
        own = [f for f in self.project.by_dir.get(rel, []) if os.path.basename(f).startswith("Dockerfile")]
        return own[0] if own else STANDARD
