# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: compose files.

Parse (bounded YAML with lines), then per file: build contexts and Dockerfiles (each one a
build plan), secrets, configs, env files, includes and extends, published ports (per file,
per override pair and per group deployed together) and, only for files deployed with
``docker stack deploy``, the keys Swarm ignores. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from typing import Any, Callable, List, Optional

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_build import Plan
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_index import Project
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_yaml import (
    LineDict,
    LineList,
    YamlLimitError,
    load_yaml_with_lines,
    yaml,
    yaml_error_finding_parts,
)

SWARM_IGNORED_KEYS = {
    "container_name": "Swarm names tasks itself; remove container_name",
    "devices": "not supported by docker stack deploy; use generic resources (deploy.resources.reservations)",
    "privileged": "not supported by docker stack deploy; grant capabilities with cap_add",
    "links": "ignored by docker stack deploy; services reach each other by name on a shared network",
    "external_links": "ignored by docker stack deploy",
    "network_mode": "ignored by docker stack deploy; attach the service to networks",
    "restart": "ignored by docker stack deploy; use deploy.restart_policy",
    "security_opt": "ignored by docker stack deploy",
    "userns_mode": "ignored by docker stack deploy",
    "cgroup_parent": "ignored by docker stack deploy",
}


def parse_port(entry: Any) -> List[tuple]:
    """(published, protocol) pairs of one `ports` entry (short or long syntax)."""
    if isinstance(entry, dict):
        published = entry.get("published")
        if published is None:
            return []
        return [(str(published), str(entry.get("protocol") or "tcp"))]
    spec = str(entry)
    protocol = "tcp"
    if "/" in spec:
        spec, protocol = spec.rsplit("/", 1)
    parts = spec.rsplit(":", 2) if not spec.startswith("[") else [spec]
    if len(parts) < 2:
        return []  # only a container port: nothing published
    published = parts[-2]
    if "-" in published:
        lo, _sep, hi = published.partition("-")
        if lo.isdigit() and hi.isdigit() and int(hi) - int(lo) < 1024:
            return [(str(p), protocol) for p in range(int(lo), int(hi) + 1)]
    return [(published, protocol)]


def image_untagged(image: Any) -> bool:
    if not isinstance(image, str) or "${" in image or "@" in image:
        return False
    return ":" not in image.rsplit("/", 1)[-1]


def load_yaml_file(
    project: Project, rel: str, add: Callable, code: str = "compose-syntax"
) -> Optional[LineDict]:
    """The parsed mapping of a YAML file of the project, or None after a finding."""
    text = project.text(rel)
    if text is None:
        return None
    try:
        data, duplicates = load_yaml_with_lines(text)
    except YamlLimitError as exc:
        line, message = yaml_error_finding_parts(exc)
        add("yaml-alias-limit", rel, line, message, "write the values out, or use fewer anchors")
        return None
    except yaml.YAMLError as exc:
        line, message = yaml_error_finding_parts(exc)
        add(code, rel, line, message, "fix the YAML at this line (indentation, a missing colon or quote)")
        return None
    for key, first, second in duplicates:
        add(
            "compose-duplicate-key",
            rel,
            second,
            "%r is defined twice (lines %d and %d); YAML keeps only the last" % (key, first, second),
            "merge the two definitions or rename one",
        )
    return data if isinstance(data, LineDict) else None


class ComposeChecker:
    """Checks of parsed compose files. ``add`` records a finding; ``plans`` collects the
    build plans of the services; ``collection`` says whether hints may name the collection."""

    def __init__(
        self, project: Project, add: Callable, compose_candidates: List[str], collection: bool
    ) -> None:
        self.project, self.add = project, add
        self.compose_candidates = compose_candidates
        self.collection = collection
        self.plans: List[Plan] = []
        self.contexts = set()  # folders some service builds, whatever Dockerfile it names

    def ref_path(self, base_dir: str, value: Any, rel: str, line: Optional[int], what: str) -> Optional[str]:
        """Project path of ``value`` relative to ``base_dir``, or None (after a finding when it
        leaves the project, silently when it cannot be checked)."""
        if not isinstance(value, str) or "${" in value or "://" in value or value.startswith("git@"):
            return None
        target = self.project.rel(os.path.join(base_dir, value))
        if target is None:
            self.add(
                "path-outside-project",
                rel,
                line,
                "%s %s points outside the project" % (what, value),
                "keep everything the deploy needs inside the project",
            )
        return target

    def compose_missing(self, rel: str, line: Optional[int], value: str, target: str) -> None:
        self.add(
            "compose-file-missing",
            rel,
            line,
            "%s references %s, which does not exist" % (rel, value),
            self.project.missing_hint(target, self.compose_candidates),
            cause="compose:%s" % target,
        )

    def check(self, rel: str, data: LineDict, is_stack: bool) -> None:
        base = os.path.dirname(rel)
        services = data.get("services")
        services = services if isinstance(services, LineDict) else LineDict()
        includes = data.get("include")
        if isinstance(includes, LineList):
            for i, entry in enumerate(includes):
                path = entry.get("path") if isinstance(entry, dict) else entry
                for p in path if isinstance(path, list) else [path]:
                    self._compose_ref(rel, includes.lines[i], base, p)
        for what, code in (("secrets", "secret-undeclared"), ("configs", "config-undeclared")):
            declared = data.get(what) if isinstance(data.get(what), LineDict) else LineDict()
            self._declared_files(rel, base, what, declared)
            for name, service in services.items():
                if not isinstance(service, LineDict):
                    continue
                for i, entry in enumerate(service.get(what) or []):
                    source = entry.get("source") if isinstance(entry, dict) else entry
                    if source not in declared:
                        line = service[what].lines[i] if isinstance(service.get(what), LineList) else None
                        self.add(
                            code,
                            rel,
                            line,
                            "service %s uses %s %r, which the file does not declare"
                            % (name, what[:-1], source),
                            "declare it under top-level '%s:' (file:, external: true or environment:)" % what,
                        )
        for name, service in services.items():
            if isinstance(service, LineDict):
                self._service(rel, base, name, service, is_stack)

    def _declared_files(self, rel: str, base: str, what: str, declared: LineDict) -> None:
        for name, spec in declared.items():
            if not isinstance(spec, LineDict):
                continue
            if spec.get("external") in (True, "true"):
                if what == "secrets":
                    self.add(
                        "secret-external",
                        rel,
                        declared.lines[name],
                        "external secret %r must exist in the swarm before deploy"
                        % (spec.get("name") or name),
                        "create it first (docker secret create; the collection's secrets role does it)",
                    )
                continue
            if "file" in spec:
                target = self.ref_path(base, spec["file"], rel, spec.lines["file"], "%s file" % what[:-1])
                if target is not None and not self.project.exists(target):
                    self.add(
                        "secret-file-missing",
                        rel,
                        spec.lines["file"],
                        "%s %r reads %s, which does not exist" % (what[:-1], name, target),
                        self.project.missing_hint(target) or "create it, or make the %s external" % what[:-1],
                        severity="warning" if self.project.gitignored(target) else None,
                    )

    def _service(self, rel: str, base: str, name: Any, service: LineDict, is_stack: bool) -> None:
        build = service.get("build")
        if build is not None:
            self._build(rel, base, name, service, build)
            if is_stack and "image" not in service:
                self.add(
                    "swarm-ignored-key",
                    rel,
                    service.lines["build"],
                    "service %s has build but no image; docker stack deploy ignores build" % name,
                    "build and push the image first and name it in image:",
                )
        image = service.get("image")
        if is_stack and image_untagged(image):
            self.add(
                "image-untagged",
                rel,
                service.lines["image"],
                "service %s uses %s without a tag" % (name, image),
                "pin a tag or digest (%s:1.2.3) so every node runs the same image" % image,
            )
        env_files = service.get("env_file")
        if env_files is not None:
            items = env_files if isinstance(env_files, list) else [env_files]
            for i, entry in enumerate(items):
                path = entry.get("path") if isinstance(entry, dict) else entry
                required = not (isinstance(entry, dict) and entry.get("required") is False)
                line_no = env_files.lines[i] if isinstance(env_files, LineList) else service.lines["env_file"]
                target = self.ref_path(base, path, rel, line_no, "env_file")
                if required and target is not None and not self.project.exists(target):
                    self.add(
                        "env-file-missing",
                        rel,
                        line_no,
                        "service %s reads env_file %s, which does not exist" % (name, path),
                        self.project.missing_hint(target) or "create it or mark it required: false",
                        severity="warning" if self.project.gitignored(target) else None,
                    )
        extends = service.get("extends")
        if isinstance(extends, LineDict) and extends.get("file"):
            self._compose_ref(rel, extends.lines["file"], base, extends["file"])
        if is_stack:
            for key, why in SWARM_IGNORED_KEYS.items():
                if key in service:
                    self.add(
                        "swarm-ignored-key",
                        rel,
                        service.lines[key],
                        "service %s sets %s: %s" % (name, key, why),
                    )
            depends = service.get("depends_on")
            if isinstance(depends, LineDict) and any(
                isinstance(v, dict) and "condition" in v for v in depends.values()
            ):
                self.add(
                    "swarm-ignored-key",
                    rel,
                    service.lines["depends_on"],
                    "service %s uses depends_on conditions, which docker stack deploy ignores" % name,
                    "make the service retry until its dependency answers; add a healthcheck",
                )

    def _build(self, rel: str, base: str, name: Any, service: LineDict, build: Any) -> None:
        context_value = build.get("context", ".") if isinstance(build, dict) else build
        line = (
            build.lines.get("context", build.line) if isinstance(build, LineDict) else service.lines["build"]
        )
        context = self.ref_path(base, context_value, rel, line, "build context")
        if context is None:
            return
        if not self.project.is_dir(context):
            self.add(
                "build-context-missing",
                rel,
                line,
                "service %s builds %s, which does not exist" % (name, context_value),
                self.project.missing_hint(context, sorted(self.project.dirs)),
            )
            return
        self.contexts.add(context)
        if isinstance(build, LineDict) and "dockerfile_inline" in build:
            return
        dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, LineDict) else "Dockerfile"
        df_line = build.lines.get("dockerfile", line) if isinstance(build, LineDict) else line
        df = self.ref_path(context, dockerfile, rel, df_line, "dockerfile")
        if df is None:
            return
        if df not in self.project.file_set:
            siblings = [f for f in self.project.by_dir.get(context, []) if "ockerfile" in f]
            if siblings:
                hint = "Dockerfiles in %s: %s" % (
                    context or ".",
                    ", ".join(os.path.basename(s) for s in siblings),
                )
            elif self.collection:
                hint = (
                    "write it, or drop dockerfile: and let the stack role use the collection's "
                    "standard Dockerfile"
                )
            else:
                hint = "write it, or point dockerfile: at an existing one"
            self.add(
                "dockerfile-missing",
                rel,
                df_line,
                "service %s builds with %s, which does not exist in %s" % (name, dockerfile, context or "."),
                hint,
            )
            return
        args = build.get("args") if isinstance(build, LineDict) else None
        if isinstance(args, list):
            args = dict(str(a).partition("=")[::2] for a in args)
        tags = [service["image"]] if isinstance(service.get("image"), str) else []
        self.plans.append(
            Plan(
                df,
                context,
                rel,
                df_line,
                "compose",
                args if isinstance(args, dict) else {},
                tags,
                service=(name, service),
            )
        )

    def _compose_ref(self, rel: str, line: Optional[int], base: str, value: Any) -> None:
        target = self.ref_path(base, value, rel, line, "compose file")
        if target is not None and target not in self.project.file_set:
            self.compose_missing(rel, line, value, target)

    def check_ports(self, parsed: dict, groups_deployed: List[List[str]]) -> None:
        groups = [[rel] for rel in parsed]
        for rel in parsed:  # the standard override pair is deployed together
            name = os.path.basename(rel)
            if name.endswith((".override.yml", ".override.yaml")):
                partner = os.path.join(os.path.dirname(rel), name.replace(".override", ""))
                if partner in parsed:
                    groups.append([partner, rel])
        groups.extend(g for g in groups_deployed if len(g) > 1)
        reported = set()
        for group in groups:
            seen = {}
            for rel in group:
                data = parsed.get(rel)
                services = data.get("services") if isinstance(data, LineDict) else None
                if not isinstance(services, LineDict):
                    continue
                for name, service in services.items():
                    if not isinstance(service, LineDict) or not isinstance(service.get("ports"), LineList):
                        continue
                    for i, entry in enumerate(service["ports"]):
                        for port in parse_port(entry):
                            line = service["ports"].lines[i]
                            owner = seen.setdefault(port, (name, rel, line))
                            key = (port, rel, line)
                            if owner[0] != name and key not in reported:
                                reported.add(key)
                                self.add(
                                    "port-conflict",
                                    rel,
                                    line,
                                    "service %s publishes %s/%s, already published by service %s (%s:%s)"
                                    % (name, port[0], port[1], owner[0], owner[1], owner[2]),
                                    "publish another port, or put the services behind the gateway",
                                )
