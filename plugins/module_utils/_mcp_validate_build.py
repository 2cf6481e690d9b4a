# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: build plans, how each Dockerfile is really built.

A plan is one (Dockerfile, context, build arguments, where it was seen): from a compose
``build:``, a ``docker build`` in a script or Makefile, a CI step (``docker/build-push-action``
or a ``run:`` line) or the collection's server registry. Each Dockerfile is judged against
each of its plans; one with none gets an inferred context. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from typing import Any, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_image import Image
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_index import Project
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_report import finding
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_scripts import CommandScan
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_yaml import LineDict, LineList

STANDARD = "standard"


class Plan:
    """One way a Dockerfile is built. ``dockerfile`` is a project path, or ``standard`` for
    the collection's own Dockerfile (the whole context at /app, run from /app)."""

    def __init__(
        self,
        dockerfile: str,
        context: str,
        origin: str,
        line: Optional[int],
        kind: str,
        args: Optional[Mapping[str, Any]] = None,
        tags: Iterable[str] = (),
        service: Optional[Tuple[Any, LineDict]] = None,
    ) -> None:
        self.dockerfile, self.context, self.origin, self.line = dockerfile, context, origin, line
        self.kind, self.args, self.tags, self.service = kind, dict(args or {}), list(tags), service

    def where(self) -> str:
        return "%s%s" % (self.origin, ":%d" % self.line if self.line else "")

    def as_dict(self) -> dict:
        return {
            "dockerfile": self.dockerfile,
            "context": self.context or ".",
            "origin": self.origin,
            "line": self.line,
            "kind": self.kind,
            "tags": self.tags,
        }


def standard_image(project: Project, context: str) -> Image:
    image = Image(project, "standard")
    image.workdir = "/app"
    image.context = context
    image.mounts.append(("/app", context, True))
    return image


def plans_from_scan(project: Project, scan: CommandScan, findings: List[dict]) -> List[Plan]:
    """Plans of the ``docker build`` commands one file runs; a Dockerfile they name that
    does not exist is a finding (relative names resolve from any of the scan's bases)."""
    plans = []
    for build in scan.builds:
        resolved = None
        for base in scan.bases:
            context = project.rel(os.path.join(base, build.context))
            if context is None or not project.is_dir(context):
                continue
            if build.dockerfile is None:
                dockerfile = project.rel(os.path.join(context, "Dockerfile"))
            else:
                dockerfile = project.rel(os.path.join(base, build.dockerfile))
            if dockerfile in project.file_set:
                resolved = (dockerfile, context)
                break
            resolved = resolved or (None, context)
        if resolved and resolved[0]:
            plans.append(
                Plan(resolved[0], resolved[1], scan.rel, build.line, "script", build.args, build.tags)
            )
            continue
        named = build.dockerfile or os.path.join(build.context, "Dockerfile")
        if resolved is None and build.dockerfile is None:
            findings.append(
                finding(
                    "build-context-missing",
                    scan.rel,
                    build.line,
                    "docker build of %s: no such folder from %s" % (build.context, scan.rel),
                    project.missing_hint(
                        project.rel(os.path.join(scan.bases[0], build.context)) or build.context,
                        sorted(project.dirs),
                    ),
                )
            )
            continue
        wanted = project.rel(os.path.join(scan.bases[-1], named)) or named
        dockerfiles = [f for f in project.files if "ockerfile" in os.path.basename(f)]
        findings.append(
            finding(
                "dockerfile-missing",
                scan.rel,
                build.line,
                "docker build -f %s: the Dockerfile does not exist" % named,
                project.missing_hint(wanted, dockerfiles),
            )
        )
    return plans


def scan_workflow(
    project: Project, rel: str, data: Optional[LineDict], findings: List[dict]
) -> Tuple[CommandScan, List[Plan]]:
    """(CommandScan of the ``run:``/``script:`` lines, plans of docker/build-push-action
    steps) of a GitHub or GitLab CI file parsed with lines."""
    scan = CommandScan(rel, [""])
    plans = []
    if not isinstance(data, LineDict):
        return scan, plans
    jobs = data.get("jobs")
    if isinstance(jobs, LineDict):  # GitHub Actions
        for job in jobs.values():
            if not isinstance(job, LineDict) or not isinstance(job.get("steps"), LineList):
                continue
            defaults = job.get("defaults") if isinstance(job.get("defaults"), LineDict) else {}
            job_dir = ((defaults.get("run") or {}) if isinstance(defaults, dict) else {}).get(
                "working-directory"
            )
            for step in job["steps"]:
                if not isinstance(step, LineDict):
                    continue
                if isinstance(step.get("run"), str):
                    run = step["run"]
                    first = step.lines["run"] + (1 if "\n" in run.strip("\n") or run.endswith("\n") else 0)
                    directory = step.get("working-directory") or job_dir
                    sub = CommandScan(rel, [project.rel(str(directory)) or ""] if directory else [""])
                    sub.shell(run, first)
                    scan.refs += sub.refs
                    scan.created += sub.created
                    scan.claims += sub.claims
                    scan.builds += sub.builds
                uses = str(step.get("uses") or "")
                if uses.startswith("docker/build-push-action"):
                    plans.extend(_build_push(project, rel, step, findings))
    for name, job in data.items():  # GitLab CI
        if not isinstance(job, LineDict) or name in ("jobs", "on", "variables", "workflow", "default"):
            continue
        for key in ("before_script", "script", "after_script"):
            lines = job.get(key)
            if isinstance(lines, LineList):
                for i, command in enumerate(lines):
                    if isinstance(command, str):
                        scan.shell(command, lines.lines[i])
    return scan, plans


def _build_push(project: Project, rel: str, step: LineDict, findings: List[dict]) -> List[Plan]:
    with_ = step.get("with") if isinstance(step.get("with"), LineDict) else LineDict()
    line = (with_.lines or {}).get("file") or (with_.lines or {}).get("context") or step.line
    context_value = str(with_.get("context") or ".")
    if "${{" in context_value or "://" in context_value:
        return []
    context = project.rel(context_value)
    if context is None or not project.is_dir(context):
        findings.append(
            finding(
                "build-context-missing",
                rel,
                (with_.lines or {}).get("context", line),
                "build-push-action context %s does not exist" % context_value,
                project.missing_hint(context or context_value, sorted(project.dirs)),
            )
        )
        return []
    file_value = with_.get("file")
    if file_value is not None and "${{" in str(file_value):
        return []
    dockerfile = (
        project.rel(str(file_value)) if file_value else project.rel(os.path.join(context, "Dockerfile"))
    )
    if dockerfile is None or dockerfile not in project.file_set:
        dockerfiles = [f for f in project.files if "ockerfile" in os.path.basename(f)]
        findings.append(
            finding(
                "dockerfile-missing",
                rel,
                line,
                "build-push-action file %s does not exist" % (file_value or dockerfile),
                project.missing_hint(dockerfile or str(file_value), dockerfiles),
            )
        )
        return []
    args = {}
    for item in str(with_.get("build-args") or "").splitlines():
        key, eq, value = item.strip().partition("=")
        if eq:
            args[key] = value
    return [Plan(dockerfile, context, rel, line, "workflow", args)]


def registry_plan(project: Project, server: dict, where: str) -> Optional[Plan]:
    """The plan of a registry entry built by the collection: its ``dockerfile`` (default
    ``<path>/Dockerfile`` when that exists, else the standard one) from its ``context``."""
    if server.get("image") or not server.get("path") or server.get("context") is None:
        return None
    context = project.rel(str(server["context"]))
    path = project.rel(str(server["path"]))
    if context is None or path is None or not project.is_dir(context):
        return None
    if server.get("dockerfile"):
        dockerfile = project.rel(str(server["dockerfile"]))
        if dockerfile is None:  # outside the project: reported by the servers check
            return None
    else:
        own = os.path.join(path, "Dockerfile") if path else "Dockerfile"
        dockerfile = own if own in project.file_set else STANDARD
    return Plan(
        dockerfile,
        context,
        where,
        None,
        "registry",
        {"SERVER_PATH": path, "SERVER_MODULE": server.get("module") or ""},
    )
